"""Pictures people search with, kept as a vector and a preview under an opaque id.

A results page for a picture is then an ordinary link (``/?iq=<id>``): it can be paged,
refined with words, bookmarked and shared, without a session, until it expires
(``QUERY_PICTURE_DAYS``). The id is 128 random bits: whoever has the link sees the
preview, as with any capability link; the uploaded file itself is never stored.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from media_index.models import EmbeddingSpace, QueryPicture
from media_index.search.query import embed_decoded_query_image
from media_index.services.images import decode_query_image, make_thumbnail

PREVIEW_SIZE = 256


def query_picture_create(*, space: EmbeddingSpace, data: bytes) -> QueryPicture:
    """Embed a search picture into ``space`` and keep it; raises InvalidInput (or Busy)
    for a picture that cannot be searched with."""
    # Decoded once: the model and the preview read the same picture.
    preview = decode_query_image(data)
    vector = embed_decoded_query_image(space=space, image=preview)
    preview.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE))
    return QueryPicture.objects.create(
        id=secrets.token_hex(16), space=space, vector=[round(float(value), 6) for value in vector],
        preview=make_thumbnail(preview), expires_at=timezone.now() + timedelta(days=settings.QUERY_PICTURE_DAYS),
    )  # fmt: skip


def query_picture_get(picture_id: str) -> QueryPicture | None:
    """The kept picture, or None when it does not exist or has expired."""
    return QueryPicture.objects.filter(pk=picture_id, expires_at__gt=timezone.now()).select_related("space").first()


def query_pictures_expire() -> int:
    """Delete the expired ones (the maintenance sweep); returns how many."""
    deleted, _ = QueryPicture.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
