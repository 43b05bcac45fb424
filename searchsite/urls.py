"""Top-level URLs: the pages, the admin, the versioned REST API, the health check."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from media_index import error_views
from media_index import views as media_views
from media_index.forms import PasswordChangeRevokingTokensForm, SignInForm

urlpatterns = [
    path("healthz", media_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # The login page with the sign-in throttle's message; the rest of Django's auth pages as they are.
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=SignInForm), name="login"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(form_class=PasswordChangeRevokingTokensForm),
        name="password_change",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("media_index.api.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(api_version="v1"), name="api-schema"),
    # The split view serves its start-up script as a file: the page needs no inline script (CSP).
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    # The API never answers with an HTML page: whatever no route above matched is a JSON 404.
    re_path(r"^api/(?P<path>.*)$", error_views.api_not_found),
    path("", include("media_index.urls")),
]

handler400 = error_views.bad_request
handler403 = error_views.permission_denied
handler404 = error_views.page_not_found
handler500 = error_views.server_error
