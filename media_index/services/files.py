"""Serving stored files after the caller checked who may see them.

Files never live under a public URL: views look the item up among those the
viewer may see, then call this. Only formats whose bytes we verified are served
inline; the rest download. With PROTECTED_MEDIA_ACCEL_PREFIX set, the proxy
(nginx X-Accel-Redirect) sends the bytes instead of Python.
"""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.http import FileResponse, HttpResponse

from media_index.errors import NotFound
from media_index.models import Item
from media_index.services.images import ACCEPTED_FORMATS

INLINE_TYPES = {mime for mime, _extension in ACCEPTED_FORMATS.values()} - {"image/heif", "image/tiff"}
# Nothing a served file contains may run or load anything.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


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
