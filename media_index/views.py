"""Page views: thin, they call selectors and services and render templates."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from media_index.health import system_health


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, report = system_health()
    return JsonResponse(report, status=200 if healthy else 503)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "media_index/home.html")
