"""Changing and removing items."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Sequence
from typing import IO

from django.db import transaction

from media_index.errors import InvalidInput
from media_index.models import Item, Vector
from media_index.services.images import PhotoMetadata, photo_metadata


def item_delete(*, item: Item) -> None:
    """Delete the row (vectors go with it) and, once committed, its files."""
    files = [field for field in (item.original, item.thumbnail) if field]
    names = [(field.storage, field.name) for field in files]
    with transaction.atomic():
        item.delete()
        # Files go only after the row is gone for sure: never a row without its file.
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in names])


# Bulk actions act on at most this many items, and a download holds at most this much.
BULK_MAX_ITEMS = 500
ZIP_DOWNLOAD_MAX_BYTES = 1024 * 1024 * 1024


def item_set_owner(*, item: Item, owner_id: int) -> None:
    """Give ``item`` to another person (the admin's form), with its vectors' copy of the
    owner (services.owner_indexes), in one transaction."""
    with transaction.atomic():
        Item.objects.filter(pk=item.pk).update(owner_id=owner_id)
        Vector.objects.filter(item_id=item.pk).update(owner_id=owner_id)
    item.owner_id = owner_id


def _owned(owner_id: int, item_ids: Sequence[int]) -> list[Item]:
    # Only the owner's own items: someone else's ids are ignored, never acted on.
    return list(Item.objects.filter(owner_id=owner_id, pk__in=list(item_ids)[:BULK_MAX_ITEMS]).order_by("pk"))


def items_set_visibility(*, owner_id: int, item_ids: Sequence[int], visibility: str) -> int:
    """Make some of one person's items public or private; returns how many changed."""
    if visibility not in Item.Visibility.values:
        raise InvalidInput(f"visibility must be one of: {', '.join(Item.Visibility.values)}.")
    ids = [item.pk for item in _owned(owner_id, item_ids)]
    return Item.objects.filter(pk__in=ids).exclude(visibility=visibility).update(visibility=visibility)


def items_delete(*, owner_id: int, item_ids: Sequence[int]) -> int:
    """Delete some of one person's items with their files; returns how many."""
    items = _owned(owner_id, item_ids)
    for item in items:
        item_delete(item=item)
    return len(items)


def items_zip(*, owner_id: int, item_ids: Sequence[int]) -> IO[bytes]:
    """A zip of some of one person's items: pictures as uploaded, notes as .txt; a file
    spooled to disk past a few MB (rewound, ready to stream)."""
    items = _owned(owner_id, item_ids)
    if not items:
        raise InvalidInput("Select some of your own items to download.")
    if sum(item.byte_size for item in items) > ZIP_DOWNLOAD_MAX_BYTES:
        raise InvalidInput("That is more than 1 GB: download fewer items at once.")
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    used: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in items:
            base = item.original_name or (f"note-{item.pk}.txt" if item.kind == Item.Kind.NOTE else f"item-{item.pk}")
            name = base if base not in used else f"{item.pk}-{base}"
            used.add(name)
            if item.original:
                try:
                    with item.original.open("rb") as handle:
                        archive.writestr(name, handle.read())
                    continue
                except OSError:
                    pass  # a missing file: notes still have their text below
            if item.kind == Item.Kind.NOTE:
                archive.writestr(name if name.endswith((".txt", ".md")) else name + ".txt", item.indexed_text)
    out.seek(0)
    return out


def items_backfill_photo_metadata(*, batch: int = 200) -> int:
    """Read capture date, camera and location flag from the EXIF of pictures stored before
    these were recorded (``taken_at`` empty); returns how many pictures had some. Each
    picture is read once: one with no EXIF date is marked by an empty camera too, and
    left as it is (nothing to find). Safe to run again and to interrupt."""
    found = 0
    last_pk = 0
    while True:
        pictures = list(Item.objects.filter(kind=Item.Kind.IMAGE, taken_at__isnull=True, pk__gt=last_pk)
                        .exclude(original="").order_by("pk")[:batch])  # fmt: skip
        if not pictures:
            return found
        changed = []
        for item in pictures:
            last_pk = item.pk
            try:
                with item.original.open("rb") as handle:
                    metadata = photo_metadata(handle.read())
            except OSError:
                continue  # the file is missing: the item shows its failure elsewhere
            if metadata == PhotoMetadata():
                continue
            item.taken_at, item.taken_offset = metadata.taken_at, metadata.taken_offset
            # A location removed at upload is not in the file any more: never unlearn it.
            item.camera, item.has_location = metadata.camera, item.has_location or metadata.has_location
            changed.append(item)
        Item.objects.bulk_update(changed, ["taken_at", "taken_offset", "camera", "has_location"])
        found += len(changed)
