"""Changing and removing items."""

from __future__ import annotations

from django.db import transaction

from media_index.models import Item
from media_index.services.images import PhotoMetadata, photo_metadata


def item_delete(*, item: Item) -> None:
    """Delete the row (vectors go with it) and, once committed, its files."""
    files = [field for field in (item.original, item.thumbnail) if field]
    names = [(field.storage, field.name) for field in files]
    with transaction.atomic():
        item.delete()
        # Files go only after the row is gone for sure: never a row without its file.
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in names])


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
            item.camera, item.has_location = metadata.camera, metadata.has_location
            changed.append(item)
        Item.objects.bulk_update(changed, ["taken_at", "taken_offset", "camera", "has_location"])
        found += len(changed)
