"""Settings for the test suite: a real PostgreSQL, fast hashing, no outside services."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import VAR_DIR, env, media_storage

DEBUG = False
SECRET_KEY = "test-only-key-not-used-anywhere-else"  # noqa: S105 - test settings only
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Generous limits so ordinary tests never trip them; rate-limit tests lower them.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"search_anon": "10000/min", "search_user": "10000/min", "upload": "10000/min",
                               "token": "10000/min"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "test" / "media")
STORAGES = {
    "default": media_storage(),  # local unless the environment says s3 (the object storage tests)
    # No collectstatic step before tests.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the app folders without a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
