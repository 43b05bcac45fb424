"""Settings for a deployment behind a TLS-terminating proxy (see docker/).

Required: DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE), DJANGO_ALLOWED_HOSTS, the
database (DATABASE_URL, or DATABASE_HOST with DATABASE_NAME, DATABASE_USER and
DATABASE_PASSWORD or DATABASE_PASSWORD_FILE), CELERY_BROKER_URL. With DATABASE_HOST,
DATABASE_REPLICA_HOSTS (comma-separated host[:port]) names streaming replicas of it.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, env, env_secret

# A key shorter than this, or the example's placeholder, is refused: sessions, password
# reset links and signed values would be forgeable.
MIN_SECRET_KEY_LENGTH = 40

DEBUG = False
SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH or SECRET_KEY.startswith("change-me"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is missing, too short or the example's placeholder. Generate one with "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))' and pass it in DJANGO_SECRET_KEY "
        "or in a file named by DJANGO_SECRET_KEY_FILE (a Docker secret)."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")

# The database from separate settings: a password with @ : / # % needs no URL encoding,
# and it can come from a Docker secret file.
if env.str("DATABASE_HOST", default=""):
    DATABASES["default"] = {
        **DATABASES["default"],
        "ENGINE": "django.db.backends.postgresql",
        "HOST": env.str("DATABASE_HOST"),
        "PORT": env.str("DATABASE_PORT", default="5432"),
        "NAME": env.str("DATABASE_NAME", default="searchsite"),
        "USER": env.str("DATABASE_USER", default="searchsite"),
        "PASSWORD": env_secret("DATABASE_PASSWORD"),
    }
    # Streaming replicas are physical copies of the primary: the same database, roles and
    # passwords, so host[:port] is all they need (no second copy of the password).
    # Numbered after any DATABASE_REPLICA_URLS aliases.
    for _number, _host in enumerate(env.list("DATABASE_REPLICA_HOSTS", default=[]), start=len(DATABASES)):
        _name, _, _port = _host.partition(":")
        DATABASES[f"replica{_number}"] = {
            **DATABASES["default"], "HOST": _name, "PORT": _port or DATABASES["default"]["PORT"],
            "TEST": {"MIRROR": "default"},
        }  # fmt: skip

# The proxy terminates TLS and says so in this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# The health checks are probed over plain HTTP from inside the network (/livez never
# reaches this: media_index.middleware.LivenessMiddleware answers it first).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
