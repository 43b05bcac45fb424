"""Django's model backend with sign-in throttling (see ``services.sign_in``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from media_index.services.sign_in import sign_in_failed, sign_in_succeeded, sign_in_wait

# Where a refused attempt leaves its wait on the request, for the form or view to say so.
WAIT_ATTRIBUTE = "sign_in_wait_seconds"


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        wait = sign_in_wait(request, username)
        if wait:
            if request is not None:
                setattr(request, WAIT_ATTRIBUTE, wait)
            # PermissionDenied stops Django from asking any other backend.
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            sign_in_failed(request, username)
        else:
            sign_in_succeeded(request, username)
        return user


def sign_in_wait_of(request: HttpRequest | None) -> int:
    """The wait a refused sign-in left on ``request`` (0 when it was not throttled)."""
    return int(getattr(request, WAIT_ATTRIBUTE, 0) or 0)
