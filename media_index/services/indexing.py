"""Embedding items: decode, build vector rows for every space they go into, store.

``items_index`` embeds claimed uploads into the active space (and its companions: spaces a
re-index is building, the text-only space); ``space_embed_items`` fills one space during a
re-index. Both build their rows with ``space_rows``. Claims, retries and the sweep are
``services.indexing_queue``. Called by the Celery tasks; nothing here is Celery-specific.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from pgvector import SparseVector
from PIL import Image

from media_index.embedding.base import Embedder, SparseTextEmbedder, Vectors
from media_index.embedding.registry import config_for_space, configured_model, configured_text_model, get_embedder
from media_index.errors import ApplicationError
from media_index.models import EmbeddingSpace, Item, Vector
from media_index.replicas import note_write
from media_index.selectors import active_space, active_text_space
from media_index.services.calibration import space_calibration_refresh_later
from media_index.services.chunking import Chunk, note_chunks
from media_index.services.files import files_delete_unreferenced
from media_index.services.images import decode_image, make_thumbnail, upright_size
from media_index.services.indexing_queue import item_mark_failed, items_claim, items_release
from media_index.services.lexical_index import lexical_index_items
from media_index.services.spaces import space_ensure_active

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class IndexingReport:
    ready: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def _in_batches(rows: Sequence[T], embed: Callable[[Sequence[T]], Vectors], size: int) -> Vectors | None:
    parts = [embed(rows[start : start + size]) for start in range(0, len(rows), size)]
    return np.concatenate(parts) if parts else None


def _prepare_picture(item: Item) -> tuple[Image.Image | None, str | None, bool]:
    """Read and decode one picture, record its upright size and make its thumbnail (files
    only, no database: this runs on the prefetch thread). Returns (picture, why it failed,
    whether the item's size or thumbnail changed)."""
    try:
        with item.original.open("rb") as handle:
            data = handle.read()
        image = decode_image(data)
        size = upright_size(data)
        changed = (item.width, item.height) != size or not item.thumbnail
        if changed:
            # Record the upright size (EXIF rotation applied), as people see it.
            item.width, item.height = size
            if not item.thumbnail:
                item.thumbnail.save(f"{item.owner_id}/{item.content_hash[:2]}/{item.content_hash}.jpg",
                                    ContentFile(make_thumbnail(image)), save=False)  # fmt: skip
        return image, None, changed
    except ApplicationError as exc:
        return None, exc.message, False
    except FileNotFoundError:
        return None, "The uploaded file is missing from storage.", False
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the batch
        logger.exception("Could not prepare item %s", item.pk)
        return None, f"Could not read the item: {type(exc).__name__}: {exc}", False


def _prepare_pictures(items: Sequence[Item]) -> list[tuple[Item, Image.Image | None, str | None, bool]]:
    return [(item, *_prepare_picture(item)) for item in items]


def _record_prepared(prepared: Sequence[tuple[Item, Image.Image | None, str | None, bool]],
                     report: IndexingReport) -> tuple[list[Item], dict[int, Image.Image]]:  # fmt: skip
    """The database side of prepared pictures: failures marked, new sizes and thumbnails
    saved in one query. Returns the pictures still in the batch."""
    kept: list[Item] = []
    pictures: dict[int, Image.Image] = {}
    for item, image, reason, _ in prepared:
        if image is None:
            item_mark_failed(item, reason or "Could not read the item.")
            report.failed.append(item.pk)
        else:
            kept.append(item)
            pictures[item.pk] = image
    # Sizes and thumbnails are recorded before embedding (a retry reuses the thumbnail).
    Item.objects.bulk_update([item for item, image, _, changed in prepared if changed and image is not None],
                             ["width", "height", "thumbnail"])  # fmt: skip
    return kept, pictures


def _decode(items: Sequence[Item], report: IndexingReport) -> tuple[list[Item], dict[int, Image.Image]]:
    """Decode the pictures (recording their upright size and thumbnail); an item that
    cannot be read fails alone, with its reason. Returns the items still in the batch and
    their decoded pictures by item id."""
    kept, pictures = _record_prepared(_prepare_pictures([item for item in items if item.kind == Item.Kind.IMAGE]),
                                      report)  # fmt: skip
    return [item for item in items if item.kind != Item.Kind.IMAGE or item.pk in pictures], pictures


def _decode_and_embed_pictures(
    embedder: Embedder, items: Sequence[Item], report: IndexingReport
) -> tuple[list[Item], dict[int, Image.Image], dict[int, np.ndarray]]:
    """``_decode`` with the model at work meanwhile: the batch's pictures are prepared in
    chunks of INDEXING_PREFETCH_CHUNK on a second thread, each chunk while the model embeds
    the previous one (decoding, resizing and JPEG writing release the GIL, and a small model
    leaves cores idle between its operations). Returns the kept items, their pictures and
    the pictures' vectors."""
    images = [item for item in items if item.kind == Item.Kind.IMAGE]
    size = max(1, settings.INDEXING_PREFETCH_CHUNK)
    chunks = [images[start : start + size] for start in range(0, len(images), size)]
    pictures: dict[int, Image.Image] = {}
    vectors: dict[int, np.ndarray] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as pool:
        pending = pool.submit(_prepare_pictures, chunks[0]) if chunks else None
        for number in range(len(chunks)):
            prepared = pending.result()  # type: ignore[union-attr]
            pending = pool.submit(_prepare_pictures, chunks[number + 1]) if number + 1 < len(chunks) else None
            kept, chunk_pictures = _record_prepared(prepared, report)
            if kept:
                for item, vector in zip(kept, embedder.embed_images([chunk_pictures[item.pk] for item in kept]),
                                        strict=True):  # fmt: skip
                    vectors[item.pk] = vector
            pictures.update(chunk_pictures)
    return [item for item in items if item.kind != Item.Kind.IMAGE or item.pk in pictures], pictures, vectors


def _embedder_for(space: EmbeddingSpace) -> Embedder:
    """The model that embeds into ``space``; refuses weights that changed on disk."""
    embedder = get_embedder(config_for_space(space))
    if embedder.spec.checkpoint_sha256 != space.checkpoint_sha256:
        raise ApplicationError(
            f"The weights for {space} changed on disk (checksum differs); re-index into a new space."
        )
    return embedder


def _companion_spaces() -> list[EmbeddingSpace]:
    """Spaces besides the active image-text one that new items go into as well: every space
    a re-index is building (so it is complete when activated), and the active text-only
    space when TEXT_EMBEDDING_BACKEND names one (created on first use)."""
    spaces = list(EmbeddingSpace.objects.filter(is_building=True, is_active=False).order_by("pk"))
    config = configured_text_model()
    if config is not None:
        text = active_text_space()
        if text is None:
            try:
                text = space_ensure_active(spec=get_embedder(config).spec, modality=EmbeddingSpace.Modality.TEXT)
            except ApplicationError:
                # A text model that cannot load must not stop uploads; it is logged loudly.
                logger.exception("TEXT_EMBEDDING_BACKEND=%s cannot be loaded; notes get no text space", config.backend)
                return spaces
        spaces.append(text)
    return spaces


def space_rows(
    space: EmbeddingSpace, embedder: Embedder, items: Sequence[Item], pictures: dict[int, Image.Image],
    errors: dict[int, str] | None = None, picture_vectors: dict[int, np.ndarray] | None = None,
) -> dict[int, list[Vector]]:
    """Unsaved vector rows of ``items`` in ``space``, the one row builder for every space:
    one per picture (decoded ones given in ``pictures``; a text-only space takes none) and
    one per chunk of each note, chunked by this model's own tokenizer and limit. A model
    with learned lexical weights (BGE-M3) fills ``Vector.sparse`` too. A note that cannot
    be chunked (or is empty) gets no rows, and its reason in ``errors``. ``picture_vectors``:
    the pictures' vectors when they were embedded already (``_decode_and_embed_pictures``)."""
    rows: dict[int, list[Vector]] = {item.pk: [] for item in items}
    errors = {} if errors is None else errors
    size = settings.INDEXING_BATCH_SIZE
    images = [item for item in items if item.kind == Item.Kind.IMAGE and item.pk in pictures]
    if images and space.modality == EmbeddingSpace.Modality.IMAGE_TEXT:
        if picture_vectors is not None:
            vectors = np.stack([picture_vectors[item.pk] for item in images])
        else:
            vectors = _in_batches([pictures[item.pk] for item in images], embedder.embed_images, size)
        assert vectors is not None
        for item, vector in zip(images, vectors, strict=True):
            rows[item.pk].append(Vector(item=item, owner_id=item.owner_id, space=space, chunk=0, embedding=vector))
    chunked: list[tuple[Item, list[Chunk]]] = []
    for item in items:
        if item.kind != Item.Kind.NOTE:
            continue
        try:
            chunks = note_chunks(title=item.title, body=item.note_text, max_tokens=embedder.spec.max_tokens,
                                 count_tokens=embedder.count_tokens)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - one odd note must not stop the batch
            logger.exception("Could not chunk note %s", item.pk)
            errors[item.pk] = f"Could not read the note: {type(exc).__name__}: {exc}"
            continue
        if not chunks:
            errors[item.pk] = "The note is empty."
            continue
        chunked.append((item, chunks))
    texts = [chunk.text for _, chunks in chunked for chunk in chunks]
    if not texts:
        return rows
    sparse: list[dict[int, float]] | None = None
    vocabulary = 0
    if isinstance(embedder, SparseTextEmbedder):
        dense, sparse = embedder.embed_texts_with_sparse(texts)
        vocabulary = embedder.vocab_size
    else:
        dense = _in_batches(texts, embedder.embed_texts, size)
    position = 0
    for item, chunks in chunked:
        for number, chunk in enumerate(chunks):
            weights = None if sparse is None else SparseVector(sparse[position], vocabulary)
            rows[item.pk].append(Vector(item=item, owner_id=item.owner_id, space=space, chunk=number,
                                        span_start=chunk.start, span_end=chunk.end, embedding=dense[position],
                                        sparse=weights))  # fmt: skip
            position += 1
    return rows


def _companion_rows(items: Sequence[Item], pictures: dict[int, Image.Image]) -> dict[int, list[Vector]]:
    """Rows of ``items`` in every companion space. A companion that fails (its model
    missing, say) is logged and skipped, never blocking uploads: ``reindex --resume`` (or
    the admin's "continue building") fills the gap later."""
    rows: dict[int, list[Vector]] = {item.pk: [] for item in items}
    for space in _companion_spaces():
        try:
            for pk, space_vectors in space_rows(space, _embedder_for(space), items, pictures).items():
                rows[pk].extend(space_vectors)
        except Exception:  # noqa: BLE001 - one companion space must not stop indexing
            logger.exception("Could not embed %d item(s) into %s; they are missing there until resumed",
                             len(items), space)  # fmt: skip
    return rows


def _store(items: Sequence[Item], rows: dict[int, list[Vector]]) -> tuple[list[int], list[int]]:
    """Save the batch's vectors (every space's) and mark its items ready, in one
    transaction (a handful of queries per batch, not per item); returns (stored ids, ids
    deleted meanwhile)."""
    ids = [item.pk for item in items]
    with transaction.atomic():
        # Locks the rows; an item deleted meanwhile is simply skipped.
        alive = set(Item.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
        kept = [item for item in items if item.pk in alive]
        spaces = {row.space_id for item_rows in rows.values() for row in item_rows}
        # Replacing is what makes a repeated task harmless.
        Vector.objects.filter(item_id__in=alive, space__in=spaces).delete()
        Vector.objects.bulk_create([row for item in kept for row in rows[item.pk]])
        lexical_index_items(items=kept)
        Item.objects.filter(pk__in=alive).update(
            status=Item.Status.READY, failure_reason="", indexed_at=timezone.now(), indexing_started_at=None
        )
    # The owners find their items ready at once, even where searches read a replica.
    note_write(item.owner_id for item in kept)
    return [item.pk for item in kept], [item_id for item_id in ids if item_id not in alive]


def items_index(*, item_ids: Sequence[int], fill_batch: bool = False) -> IndexingReport:
    """Embed the given items (those still pending) into the active space.

    ``fill_batch`` (the worker's task): fill the batch up to INDEXING_BATCH_SIZE with
    other pending items (see ``indexing_queue.items_claim``), when INDEXING_FILL_BATCHES allows.

    Idempotent: items already ready, failed or held by another worker are
    skipped. A failure that is not one item's fault (model missing, database
    hiccup) puts the claimed items back to pending and re-raises, so the task
    retries with backoff.
    """
    report = IndexingReport()
    fill_to = settings.INDEXING_BATCH_SIZE if fill_batch and settings.INDEXING_FILL_BATCHES else 0
    items = items_claim(item_ids, fill_to=fill_to)
    report.skipped = sorted(set(item_ids) - {item.pk for item in items})
    if not items:
        return report
    try:
        space = active_space() or space_ensure_active(spec=get_embedder(configured_model()).spec)
        embedder = _embedder_for(space)
        picture_vectors = None
        if settings.INDEXING_PREFETCH and space.modality == EmbeddingSpace.Modality.IMAGE_TEXT:
            decoded, pictures, picture_vectors = _decode_and_embed_pictures(embedder, items, report)
        else:
            decoded, pictures = _decode(items, report)
        errors: dict[int, str] = {}
        rows = space_rows(space, embedder, decoded, pictures, errors, picture_vectors)
        for item in decoded:
            if item.pk in errors:
                item_mark_failed(item, errors[item.pk])
                report.failed.append(item.pk)
        embedded = [item for item in decoded if item.pk not in errors]
        for pk, companion in _companion_rows(embedded, pictures).items():
            rows[pk].extend(companion)
        stored, deleted = _store(embedded, rows)
        report.ready.extend(stored)
        report.skipped.extend(deleted)
        # Deleted while we worked: the thumbnail we wrote was not there for the delete to remove.
        files_delete_unreferenced(names=[item.thumbnail.name for item in embedded
                                         if item.pk in set(deleted) and item.thumbnail])  # fmt: skip
    except Exception as exc:
        unfinished = [item for item in items if item.pk not in report.ready and item.pk not in report.failed]
        message = exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"
        try:
            items_release(unfinished, message)
        except Exception:  # noqa: BLE001 - database down too: the sweep will find them
            logger.exception("Could not release %d item(s); the stale sweep will", len(unfinished))
        raise
    if report.ready:
        space_calibration_refresh_later(spaces=[space, active_text_space()])
    return report


def space_embed_items(*, space_id: int, item_ids: Sequence[int]) -> int:
    """Embed ready items into one (usually building) space, replacing their rows there;
    returns how many items got rows. Item statuses are left alone: the items are ready
    in the active space already. Idempotent, so batches can be resent after a crash."""
    space = EmbeddingSpace.objects.filter(pk=space_id).first()
    if space is None:
        return 0  # dropped meanwhile
    kinds = [Item.Kind.NOTE] if space.modality == EmbeddingSpace.Modality.TEXT else list(Item.Kind.values)
    items = list(Item.objects.filter(pk__in=item_ids, status=Item.Status.READY, kind__in=kinds).order_by("pk"))
    pictures: dict[int, Image.Image] = {}
    for item in items:
        if item.kind == Item.Kind.IMAGE:
            try:
                with item.original.open("rb") as handle:
                    pictures[item.pk] = decode_image(handle.read())
            except Exception:  # noqa: BLE001 - it decoded once; if it no longer does, skip it here
                logger.exception("Could not decode item %s for space %s", item.pk, space.pk)
    rows = space_rows(space, _embedder_for(space), items, pictures)
    done = 0
    for item in items:
        if not rows[item.pk]:
            continue
        with transaction.atomic():
            if not Item.objects.select_for_update().filter(pk=item.pk).exists():
                continue
            Vector.objects.filter(item=item, space=space).delete()
            Vector.objects.bulk_create(rows[item.pk])
            done += 1
    return done
