"""Sign-in throttling: failed passwords counted per account and per client, in the cache.

Every way in (the site's login page, the admin's, ``POST /api/v1/auth/token/``) goes
through ``django.contrib.auth.authenticate`` and so through ``ThrottledModelBackend``
(``media_index.auth_backends``), which asks ``sign_in_wait`` first and reports the outcome
here. Two budgets, because they stop different attacks: the per-account one stops a
password guesser spread over many addresses, the per-client one a single address trying
one password on many accounts. The client is DRF's ``get_ident``, which trusts
``X-Forwarded-For`` only from ``TRUSTED_PROXY_COUNT`` proxies (none by default).
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle


def _client(request: HttpRequest | None) -> str:
    if request is None:
        return "no-request"
    return BaseThrottle().get_ident(request) or "unknown"


def _keys(request: HttpRequest | None, username: str | None) -> list[tuple[str, int]]:
    # User names are hashed: cache keys must be short and free of odd characters, and a
    # cache dump should not list who was attacked.
    account = hashlib.sha256((username or "").strip().casefold().encode()).hexdigest()[:32]
    client = hashlib.sha256(_client(request).encode()).hexdigest()[:32]
    return [
        (f"sign-in:account:{account}", settings.SIGN_IN_ACCOUNT_FAILURES),
        (f"sign-in:client:{client}", settings.SIGN_IN_CLIENT_FAILURES),
    ]


def sign_in_wait(request: HttpRequest | None, username: str | None) -> int:
    """Seconds before this client may try this account again (0: go ahead)."""
    now = time.time()
    waits = [0]
    for key, limit in _keys(request, username):
        count, until = cache.get(key, (0, 0.0))
        if count >= limit and until > now:
            waits.append(int(until - now) + 1)
    return max(waits)


def sign_in_failed(request: HttpRequest | None, username: str | None) -> None:
    """Count a wrong password against the account and the client.

    A fixed window: the first failure starts it, and it lasts ``SIGN_IN_LOCKOUT_SECONDS``
    (so a locked-out account is free again that long after its first failure, not after
    the attacker's last try, which would let an attacker keep the owner out forever).
    """
    now = time.time()
    window = settings.SIGN_IN_LOCKOUT_SECONDS
    for key, _limit in _keys(request, username):
        count, until = cache.get(key, (0, 0.0))
        if until <= now:
            count, until = 0, now + window
        cache.set(key, (count + 1, until), timeout=max(1, int(until - now) + 1))


def sign_in_succeeded(request: HttpRequest | None, username: str | None) -> None:
    """The right password clears the account's count (not the client's: one valid
    account must not reset a spray over many others)."""
    account_key, _ = _keys(request, username)[0]
    cache.delete(account_key)
