"""Settings for ``make run`` (and ``make dev``) on one machine: the embedded stack.

``make run`` is the product and may be exposed (``HOST=0.0.0.0``), so DEBUG is off unless
asked for: only ``make dev`` sets DJANGO_DEBUG=1 (Django's debug pages list the
environment, every setting and source lines).
"""

from __future__ import annotations

import secrets

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])


def _local_secret_key() -> str:
    """A per-installation key kept in the git-ignored var/ folder.

    No key is committed, and sessions survive restarts of ``make run``.
    """
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _local_secret_key()
# WhiteNoise serves static files from the app folders without a collectstatic step (the
# manifest storage of base.py would need one); re-scanned per request only in development.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
