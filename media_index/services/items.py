"""Changing and removing items."""

from __future__ import annotations

from django.db import transaction

from media_index.models import Item


def item_delete(*, item: Item) -> None:
    """Delete the row (vectors go with it) and, once committed, its files."""
    files = [field for field in (item.original, item.thumbnail) if field]
    names = [(field.storage, field.name) for field in files]
    with transaction.atomic():
        item.delete()
        # Files go only after the row is gone for sure: never a row without its file.
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in names])
