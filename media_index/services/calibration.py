"""Keeping each space's relevance calibration (``media_index.search.calibration``) current.

Computed from the space's own model and vectors: on the first search of a space that has
none, and again when the collection has grown or shrunk by a quarter since: indexing asks
the maintenance queue for it (``space_calibration_refresh_later``), bulk loaders do it once
at the end (``space_calibration_refresh``), as after a re-index fills a new space.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from django.conf import settings
from django.core.cache import cache

from media_index import dispatch
from media_index.embedding.registry import config_for_space, get_embedder
from media_index.errors import ApplicationError
from media_index.models import EmbeddingSpace, Item, Vector
from media_index.search.calibration import ITEM_KINDS, ITEM_SAMPLE, Calibration, calibrate

logger = logging.getLogger(__name__)

# Recalibrate when the number of calibrated items changed by this factor either way.
STALE_FACTOR = 1.25


def _sample_vectors(space: EmbeddingSpace, kind: str) -> np.ndarray:
    """Up to ITEM_SAMPLE random vectors of ready items of ``kind`` (every chunk of a note counts)."""
    sample = (Vector.objects.filter(space=space, item__kind=kind, item__status=Item.Status.READY)
              .order_by("?").values_list("embedding", flat=True)[:ITEM_SAMPLE])  # fmt: skip
    rows = [np.asarray(vector, dtype=np.float32) for vector in sample]
    return np.stack(rows) if rows else np.zeros((0, space.dimension), dtype=np.float32)


def _ready_items(space: EmbeddingSpace) -> int:
    """How many ready items the space serves. Counted on the item table alone (no join with
    the vectors): it runs after every indexing batch, and only its growth matters."""
    kinds = [Item.Kind.NOTE] if space.modality == EmbeddingSpace.Modality.TEXT else list(ITEM_KINDS)
    return Item.objects.filter(status=Item.Status.READY, kind__in=kinds).count()


def space_calibrate(*, space: EmbeddingSpace) -> Calibration:
    """Compute and store ``space``'s calibration (a second or two: ~200 probes embedded)."""
    embedder = get_embedder(config_for_space(space))
    kinds = [Item.Kind.NOTE] if space.modality == EmbeddingSpace.Modality.TEXT else list(ITEM_KINDS)
    items = {kind: vectors for kind in kinds if len(vectors := _sample_vectors(space, kind))}
    image_text = space.modality == EmbeddingSpace.Modality.IMAGE_TEXT
    calibration = calibrate(embed_texts=embedder.embed_texts, embed_images=embedder.embed_images if image_text else None,
                            items_by_kind=items)  # fmt: skip
    calibration = Calibration(pairs=calibration.pairs, items=_ready_items(space))
    space.calibration = calibration.to_json()
    EmbeddingSpace.objects.filter(pk=space.pk).update(calibration=space.calibration)
    logger.info("calibrated space %s on %d items: %s", space.pk, calibration.items,
                {name: round(stats.threshold, 2) for name, stats in calibration.pairs.items()})  # fmt: skip
    return calibration


def space_calibration(*, space: EmbeddingSpace) -> Calibration | None:
    """The stored calibration, computed now if the space has none yet. None when it cannot
    be had (no items yet, or the space's model cannot be loaded here): search then ranks
    by raw cosine, as it did before calibration existed."""
    stored = Calibration.from_json(space.calibration)
    if stored is not None and stored.pairs:
        return stored
    try:
        calibration = space_calibrate(space=space)
    except ApplicationError as error:
        logger.warning("Space %s is not calibrated (%s); ranking by raw cosine", space.pk, error.message)
        return None
    return calibration if calibration.pairs else None


def space_calibration_stale(space: EmbeddingSpace) -> bool:
    """Whether the collection changed size by STALE_FACTOR since the last calibration (or
    was never calibrated) and has items to calibrate on: one count on the item table."""
    stored = Calibration.from_json(space.calibration)
    count = _ready_items(space)
    if count == 0:
        return False
    return stored is None or not stored.pairs or not stored.items / STALE_FACTOR <= count <= stored.items * STALE_FACTOR


def space_calibration_refresh(*, space: EmbeddingSpace) -> bool:
    """Recalibrate when stale (``space_calibration_stale``); True when it did."""
    if not space_calibration_stale(space):
        return False
    space_calibrate(space=space)
    return True


def spaces_calibration_refresh(*, space_id: int | None = None) -> bool:
    """Recalibrate one space if stale; without an id (the periodic sweep) every active one.
    True when any was recalibrated."""
    spaces = EmbeddingSpace.objects.filter(pk=space_id) if space_id else EmbeddingSpace.objects.filter(is_active=True)
    return any([space_calibration_refresh(space=space) for space in spaces])


def space_calibration_refresh_later(*, spaces: Sequence[EmbeddingSpace | None]) -> None:
    """Have the stale ones among ``spaces`` recalibrated by the maintenance queue, not in
    the caller's time: a calibration embeds ~200 probes, which at ViT-B-32 size took a
    second upload pipeline's throughput from 12.8 to 6.2 pictures/s when every batch
    recalibrated a growing collection inline (bench ingest). At most one request per space
    per CALIBRATION_REFRESH_DEBOUNCE_SECONDS; with the broker down, done here. A failure
    is logged: search keeps the previous calibration."""
    for space in spaces:
        if space is None:
            continue
        try:
            if not space_calibration_stale(space):
                continue
            debounce = settings.CALIBRATION_REFRESH_DEBOUNCE_SECONDS
            if not cache.add(f"calibration-refresh:{space.pk}", 1, timeout=debounce):
                continue
            try:
                dispatch.send(dispatch.REFRESH_CALIBRATION, space.pk)
            except Exception:  # noqa: BLE001 - no broker: calibrate here rather than not at all
                logger.warning("Could not queue the calibration of space %s; calibrating now", space.pk)
                space_calibration_refresh(space=space)
        except Exception:  # noqa: BLE001
            logger.exception("Could not recalibrate space %s; search uses the previous calibration", space.pk)
