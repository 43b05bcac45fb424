"""Every API error has one shape, made here and only here:

    {"error": {"code": "invalid_input", "message": "...", "details": {...}}}
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from media_index.errors import ApplicationError, InvalidInput, ModelUnavailable, NotFound, ServiceUnavailable

CODES: dict[type[ApplicationError], str] = {
    InvalidInput: "invalid_input",
    NotFound: "not_found",
    ModelUnavailable: "model_unavailable",
    ServiceUnavailable: "service_unavailable",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        code = CODES.get(type(exc), "error")
        return Response(error_body(code, exc.message, exc.extra or None), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handler logs it
    headers = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait:
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        headers["WWW-Authenticate"] = 'Token realm="api"'
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", _first_message(exc.detail), exc.detail)
    else:
        body = error_body(exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code, str(exc.detail))
    return Response(body, status=exc.status_code or status.HTTP_400_BAD_REQUEST, headers=headers)


def _first_message(detail: Any) -> str:
    """A readable one-line summary of a serializer's nested errors."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            inner = _first_message(value)
            return inner if field == "non_field_errors" else f"{field}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail) or "Invalid input."
