"""Keeping each space's relevance calibration (``media_index.search.calibration``) current.

Computed from the space's own model and vectors: on the first search of a space that has
none, and again by the worker when the collection has grown or shrunk by a quarter since
(``space_calibration_refresh``), or after a re-index fills a new space.
"""

from __future__ import annotations

import logging

import numpy as np

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


def space_calibration_refresh(*, space: EmbeddingSpace) -> bool:
    """Recalibrate when the collection changed size by STALE_FACTOR since the last time (or
    was never calibrated); True when it did."""
    stored = Calibration.from_json(space.calibration)
    count = _ready_items(space)
    if stored is not None and stored.pairs and stored.items / STALE_FACTOR <= count <= stored.items * STALE_FACTOR:
        return False
    if count == 0:
        return False
    space_calibrate(space=space)
    return True
