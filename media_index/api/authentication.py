"""API token authentication: ``Authorization: Token <key>`` or ``Bearer <key>`` (what mobile SDKs send)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from media_index.models import ApiToken
from media_index.services.tokens import token_authenticate


class ApiTokenAuthentication(BaseAuthentication):
    """Looks the key up by its digest (see ``ApiToken``); one class for both keywords."""

    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header: use 'Token <key>' or 'Bearer <key>'."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(_("Invalid token header: the key has non-ASCII characters.")) from error
        token = token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "media_index.api.authentication.ApiTokenAuthentication"
    name = ["tokenAuth", "bearerAuth"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return [
            {"type": "apiKey", "in": "header", "name": "Authorization",
             "description": "'Token <key>', the key from POST /api/v1/auth/token/."},
            {"type": "http", "scheme": "bearer", "description": "The same key as 'Token <key>'."},
        ]  # fmt: skip
