"""Request-wide concerns: an unreachable database answered with a clear 503 instead of
a 500, the ``Server-Timing`` header of the stages a request timed, and the marker that
sends a user's searches to a replica only once it holds their last write.

Connections are re-checked on the next request (CONN_HEALTH_CHECKS), so the
site recovers by itself once the database is back: no restart needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from media_index.api.exceptions import error_body
from media_index.replicas import note_write
from media_index.timing import collecting, header_value

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30


class ServerTimingMiddleware:
    """Answer ``Server-Timing`` with the stages the request timed (searches: embed, dense,
    lexical...) and its total, when it timed any; other responses are left alone.

    Only with ``SERVER_TIMING`` on, or for staff: stage times tell an outsider how large
    the collection is and which code path a query took."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        with collecting() as stages:
            response = self.get_response(request)
        user = getattr(request, "user", None)
        if stages and (settings.SERVER_TIMING or (user is not None and user.is_staff)):
            response["Server-Timing"] = header_value(stages, time.perf_counter() - started)
        return response


class LivenessMiddleware:
    """``GET /livez``: 200 while this web process serves requests, and nothing more.

    First in the chain, so it answers before the host check (a container's health probe
    calls localhost, which ALLOWED_HOSTS rightly refuses), the HTTPS redirect and the
    database: a web container is not restarted because a worker or the database is down.
    Readiness (database, broker, worker, model) is ``/healthz``, for monitoring.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/livez" and request.method in ("GET", "HEAD"):
            return HttpResponse("ok\n", content_type="text/plain")
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Pages may load scripts, styles, images and fonts from this site only: no inline
    scripts or styles, no other origins, no plugins, no framing, forms post here only.
    An injected ``<script>`` or ``onerror=`` does not run even if escaping ever fails.

    A response that already carries a policy keeps it (the stored files' stricter one,
    the 503 page's). ``CONTENT_SECURITY_POLICY`` overrides the value ("" turns it off).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class ReadYourWritesMiddleware:
    """After a successful write request by a signed-in user (an upload, an edit, a
    deletion), record it (``replicas.note_write``): their next searches read a replica only
    once it has replayed this write. A no-op without replicas. After the view, so that an
    API token's user (authenticated by the view) counts too."""

    WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.method in self.WRITES and response.status_code < 400 and user is not None and user.is_authenticated:
            try:
                note_write([user.pk])
            except DatabaseError:  # the write itself succeeded; only the marker is lost
                logger.warning("Could not record the last write of user %s", user.pk, exc_info=True)
        return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("Database unavailable for %s: %s", request.path, exception)
        message = _("The database is not reachable right now. Please try again in a moment.")
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(error_body("service_unavailable", message), status=503)
        else:
            # No template context processors here: they might touch the database too.
            response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
            # Rendered without the database or static files, so its style is inline.
            response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
