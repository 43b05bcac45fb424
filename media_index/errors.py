"""The application's one error vocabulary.

Services raise these; ``media_index.api.exceptions`` and the page views turn
them into HTTP responses and friendly messages in one place each.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """A failure the user or operator can act on; ``message`` is shown to them."""

    status_code = 400

    def __init__(self, message: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class InvalidInput(ApplicationError):
    status_code = 400


class NotFound(ApplicationError):
    status_code = 404


class Busy(ApplicationError):
    """Too much of one costly thing at once (picture decodes); the client may retry soon."""

    status_code = 429


class ModelUnavailable(ApplicationError):
    """The configured embedding model cannot be loaded (weights missing, bad config)."""

    status_code = 503


class ServiceUnavailable(ApplicationError):
    """A backing service (database, broker) is down; retrying later will help."""

    status_code = 503
