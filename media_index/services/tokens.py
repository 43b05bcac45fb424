"""API tokens: issue (the key is shown once), authenticate by digest, revoke."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from media_index.models import ApiToken

# last_used_at is a hint for the user ("which of my tokens is still in use?"), not an
# audit log: writing it at most once a minute keeps authentication free of writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
PREFIX_LENGTH = 8


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(*, user: AbstractBaseUser, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the key, which is never stored."""
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name.strip()[:100], prefix=key[:PREFIX_LENGTH],
                                    key_digest=_digest(key))  # fmt: skip
    return token, key


def token_authenticate(*, key: str) -> ApiToken | None:
    """The live token with this key (its user active), or None."""
    token = ApiToken.objects.select_related("user").filter(key_digest=_digest(key)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, user: AbstractBaseUser, token_id: int) -> bool:
    """Delete one of ``user``'s tokens; False if it is not theirs or does not exist."""
    deleted, _ = ApiToken.objects.filter(pk=token_id, user=user).delete()
    return bool(deleted)
