"""API tokens: issue (the key is shown once), authenticate by digest, revoke."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from media_index.models import ApiToken

# last_used_at is a hint for the user ("which of my tokens is still in use?"), not an
# audit log: writing it at most once a minute keeps authentication free of writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
PREFIX_LENGTH = 8


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_lifetime_days(requested: int | None) -> int | None:
    """The lifetime a new token gets: what the client asked for, capped by
    ``API_TOKEN_MAX_DAYS`` (0: no cap); without a request, that cap (None: no expiry)."""
    cap = settings.API_TOKEN_MAX_DAYS or None
    if requested is None:
        return cap
    return min(requested, cap) if cap else requested


def token_create(*, user: AbstractBaseUser, name: str = "", days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user`` valid ``days`` days (None: until revoked); returns the row
    and the key, which is never stored."""
    key = secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=days) if days else None
    token = ApiToken.objects.create(user=user, name=name.strip()[:100], prefix=key[:PREFIX_LENGTH],
                                    key_digest=_digest(key), expires_at=expires_at)  # fmt: skip
    return token, key


def token_authenticate(*, key: str) -> ApiToken | None:
    """The live token with this key (its user active, not expired), or None."""
    token = ApiToken.objects.select_related("user").filter(key_digest=_digest(key)).first()
    if token is None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= timezone.now():
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


def tokens_revoke_all(*, user_id: int) -> int:
    """Delete every token of a user (their password changed: whoever knew the old one may
    have made a token with it); returns how many."""
    deleted, _ = ApiToken.objects.filter(user_id=user_id).delete()
    return deleted
