"""The site's error answers (400, 403, 404, 500): the API's JSON error shape under /api/,
a page in the site's style (English or Chinese) everywhere else.

No debug page is ever shown (DEBUG is off unless ``make dev``); the 500 page renders
without template context processors, which might touch a database that is the cause.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from media_index.api.exceptions import error_body


def _answer(request: HttpRequest, status: int, code: str, title: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(code, message), status=status)
    page = render_to_string("error.html", {"status": status, "title": title, "message": message})
    return HttpResponse(page, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 400, "bad_request", _("Bad request"),
                   _("The request could not be understood. Check the address or the form and try again."))  # fmt: skip


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 403, "permission_denied", _("Not allowed"),
                   _("You do not have permission to see this page."))  # fmt: skip


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _answer(request, 404, "not_found", _("Page not found"),
                   _("There is nothing at this address. It may have been deleted, or the link is wrong."))  # fmt: skip


def server_error(request: HttpRequest) -> HttpResponse:
    # Django has already logged the exception (logger django.request) before calling this.
    return _answer(request, 500, "server_error", _("Something went wrong"),
                   _("An unexpected error happened on our side. It has been logged; please try again later."))  # fmt: skip


def api_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any /api/ address no route matched (unknown paths, non-numeric ids)."""
    return JsonResponse(error_body("not_found", _("No API endpoint at this address.")), status=404)
