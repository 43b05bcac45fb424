"""Rate limits for the pages, counted with the same rates and cache as the API's."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.throttling import SimpleRateThrottle


class PageThrottle(SimpleRateThrottle):
    """One budget per person (or per address when anonymous) and scope."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request: HttpRequest, view: Any) -> str:  # noqa: ANN401 - DRF's signature
        ident = request.user.pk if request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": f"page_{self.scope}", "ident": ident}


def rate_limited(*, anonymous: str, authenticated: str, methods: tuple[str, ...] = ("GET", "POST")) -> Callable:
    """Answer 429 with a friendly page once the caller's budget for this view is spent."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:  # noqa: ANN401
            if request.method in methods:
                throttle = PageThrottle(authenticated if request.user.is_authenticated else anonymous)
                if not throttle.allow_request(request, None):
                    response = render(request, "429.html", {
                        "message": _("Too many requests. Please wait a minute and try again."),
                    }, status=429)  # fmt: skip
                    response["Retry-After"] = str(int(throttle.wait() or 60))
                    return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
