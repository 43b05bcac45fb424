"""The site's error answers: no debug page, no traceback; JSON under /api/, a page elsewhere."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from media_index import error_views
from searchsite import urls as site_urls


def _explode(request):  # noqa: ANN001, ANN202
    raise RuntimeError("SECRET_DETAIL from deep inside")


# This module is its own URLconf in the tests below: one page and one API path that fail.
urlpatterns = [path("boom/", _explode), path("api/v1/boom/", _explode)]
handler500 = error_views.server_error


def test_the_site_uses_its_own_error_views() -> None:
    assert site_urls.handler400 is error_views.bad_request
    assert site_urls.handler403 is error_views.permission_denied
    assert site_urls.handler404 is error_views.page_not_found
    assert site_urls.handler500 is error_views.server_error


@pytest.mark.urls("tests.test_error_pages")
def test_an_unexpected_error_is_a_plain_500_page_and_is_logged(caplog) -> None:
    client = Client(raise_request_exception=False)

    page = client.get("/boom/")
    api = client.get("/api/v1/boom/")

    assert page.status_code == api.status_code == 500
    body = page.content.decode()
    assert "Something went wrong" in body and 'id="error-page"' in body
    assert "SECRET_DETAIL" not in body and "Traceback" not in body
    assert api.json() == {"error": {"code": "server_error", "message": api.json()["error"]["message"], "details": {}}}
    assert "SECRET_DETAIL" not in api.content.decode()
    # Django logs the exception (django.request) before calling the handler.
    assert any("SECRET_DETAIL" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)
