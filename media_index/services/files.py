"""Serving stored files after the caller checked who may see them.

Files never live under a public URL: views look the item up among those the
viewer may see, then call this. Only formats whose bytes we verified are served
inline; the rest download. With PROTECTED_MEDIA_ACCEL_PREFIX set, the proxy
(nginx X-Accel-Redirect) sends the bytes instead of Python; with the files in an object
store (MEDIA_STORAGE=s3) they are streamed from it, or, with MEDIA_S3_SERVE=redirect,
the browser is sent to a short-lived presigned URL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.utils import timezone

from media_index.errors import NotFound
from media_index.models import Item
from media_index.services.images import ACCEPTED_FORMATS

logger = logging.getLogger(__name__)
# Where items' files live (Item.original / Item.thumbnail upload_to).
ORPHAN_SWEEP_FOLDERS = ("originals", "thumbnails")

INLINE_TYPES = {mime for mime, _extension in ACCEPTED_FORMATS.values()} - {"image/heif", "image/tiff"}
# Nothing a served file contains may run or load anything.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _presigned_redirect(name: str, content_type: str, filename: str, *, inline: bool) -> HttpResponse:
    """A redirect to the object store for a file the caller may see: a presigned URL valid
    MEDIA_S3_PRESIGNED_SECONDS that makes the store answer with our content type and
    disposition (it cannot add our Content-Security-Policy: only verified picture types
    and plain text are ever inline)."""
    disposition = "inline" if inline else f"attachment; filename*=UTF-8''{quote(filename)}"
    url = default_storage.url(name, parameters={"ResponseContentType": content_type,
                                                "ResponseContentDisposition": disposition})  # fmt: skip
    response = HttpResponseRedirect(url)
    # The URL expires; neither the browser nor a proxy may keep the redirect longer.
    response["Cache-Control"] = "private, no-store"
    return response


def item_file_response(*, item: Item, which: Literal["thumbnail", "original"]) -> HttpResponse:
    field = item.thumbnail if which == "thumbnail" else item.original
    if not field:
        raise NotFound("This item has no thumbnail yet." if which == "thumbnail" else "This item has no file.")
    if which == "thumbnail":
        content_type, filename = "image/jpeg", f"{item.pk}-thumbnail.jpg"
    elif item.kind == Item.Kind.NOTE:
        content_type, filename = "text/plain; charset=utf-8", item.original_name or f"{item.pk}.txt"
    else:
        content_type, filename = item.mime_type or "application/octet-stream", item.original_name
    inline = which == "thumbnail" or content_type.split(";")[0] in INLINE_TYPES or item.kind == Item.Kind.NOTE
    if settings.MEDIA_STORAGE == "s3" and settings.MEDIA_S3_SERVE == "redirect":
        return _presigned_redirect(field.name, content_type, filename, inline=inline)
    if settings.PROTECTED_MEDIA_ACCEL_PREFIX:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.PROTECTED_MEDIA_ACCEL_PREFIX.rstrip("/") + "/" + field.name
    else:
        try:
            handle = field.open("rb")
        except FileNotFoundError as exc:
            raise NotFound("The file is missing from storage.") from exc
        response = FileResponse(handle, content_type=content_type, as_attachment=not inline, filename=filename)
    if settings.PROTECTED_MEDIA_ACCEL_PREFIX and not inline:
        response["Content-Disposition"] = f'attachment; filename="{item.pk}"'
    response["Content-Security-Policy"] = FILE_CSP
    response["X-Content-Type-Options"] = "nosniff"
    # Private files must not sit in shared caches.
    response["Cache-Control"] = "private, max-age=3600" if item.visibility == Item.Visibility.PRIVATE else "public, max-age=3600"
    return response


def files_delete_unreferenced(*, names: Sequence[str]) -> int:
    """Delete the stored files among ``names`` that no item refers to; returns how many.

    The check makes it safe to call with any name: a file some item still uses stays.
    """
    names = [name for name in names if name]
    if not names:
        return 0
    used = set(Item.objects.filter(original__in=names).values_list("original", flat=True))
    used |= set(Item.objects.filter(thumbnail__in=names).values_list("thumbnail", flat=True))
    deleted = 0
    for name in names:
        if name not in used and default_storage.exists(name):
            default_storage.delete(name)
            deleted += 1
    return deleted


def _stored_names(folder: str) -> Iterator[str]:
    directories, files = default_storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from _stored_names(f"{folder}/{directory}")


def files_sweep_orphans(*, older_than_seconds: float, batch: int = 1000) -> int:
    """Delete stored originals and thumbnails that no item refers to (a write that lost a
    race with a delete, a crash between a file and its row); returns how many.

    Only files older than ``older_than_seconds``: a younger one may belong to an upload or
    a thumbnail whose row is being written right now.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    deleted = 0
    for folder in ORPHAN_SWEEP_FOLDERS:
        if not default_storage.exists(folder):
            continue
        pending: list[str] = []
        for name in _stored_names(folder):
            pending.append(name)
            if len(pending) >= batch:
                deleted += _delete_old_unreferenced(pending, cutoff)
                pending = []
        deleted += _delete_old_unreferenced(pending, cutoff)
    if deleted:
        logger.info("deleted %d orphaned file(s)", deleted)
    return deleted


def _delete_old_unreferenced(names: list[str], cutoff: datetime) -> int:
    old = [name for name in names if default_storage.get_modified_time(name) < cutoff]
    return files_delete_unreferenced(names=old)
