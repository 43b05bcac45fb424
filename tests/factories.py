"""Rows made directly, for tests about ranking and access rather than about models."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from django.utils import timezone

from media_index.models import EmbeddingSpace, Item, Vector
from media_index.services.spaces import space_index_ensure

DIM = 8


def unit(*values: float) -> np.ndarray:
    """A unit vector in the hand-made DIM-dimensional test space."""
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def make_space(*, name: str = "hand-made", active: bool = True) -> EmbeddingSpace:
    space = EmbeddingSpace.objects.create(backend="test", model_name=name, pretrained="",
                                          checkpoint_sha256=name.encode().hex()[:64].ljust(64, "0"),
                                          dimension=DIM, max_tokens=77, is_active=active)  # fmt: skip
    space_index_ensure(space=space)
    return space


def make_item(owner, space, vectors, *, kind="image", visibility="public", status="ready", title="", days_ago=0):  # noqa: ANN001, ANN201
    item = Item.objects.create(owner=owner, kind=kind, title=title, note_text="x" * 50 if kind == "note" else "",
                               content_hash=f"{title}-{owner.pk}-{kind}", visibility=visibility, status=status)  # fmt: skip
    if days_ago:
        Item.objects.filter(pk=item.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        item.refresh_from_db()
    for chunk, vector in enumerate(vectors):
        Vector.objects.create(item=item, owner=owner, space=space, chunk=chunk, embedding=vector,
                              span_start=0 if kind == "note" else None, span_end=10 if kind == "note" else None)  # fmt: skip
    return item


def api_key(user) -> str:  # noqa: ANN001
    """A fresh API key for ``user`` (through the same service the API uses)."""
    from media_index.services.tokens import token_create

    return token_create(user=user, name="tests")[1]


def index_definition(name: str) -> str | None:
    """An index's CREATE statement as PostgreSQL stores it (pg_indexes), or None."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else None
