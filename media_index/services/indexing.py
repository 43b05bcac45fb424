"""Embedding items into the active space: claim, decode, embed in batches, store, and recover.

Called by the Celery tasks in ``media_index.tasks``; nothing here is Celery-specific.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from pgvector import SparseVector
from PIL import Image

from media_index import dispatch
from media_index.embedding.base import Embedder, SparseTextEmbedder, Vectors
from media_index.embedding.registry import configured_model, configured_text_model, get_embedder
from media_index.errors import ApplicationError
from media_index.models import EmbeddingSpace, Item, Vector
from media_index.selectors import active_space, active_text_space
from media_index.services.calibration import space_calibration_refresh
from media_index.services.chunking import Chunk, note_chunks
from media_index.services.files import files_delete_unreferenced
from media_index.services.images import decode_image, make_thumbnail, upright_size
from media_index.services.lexical_index import lexical_index_items
from media_index.services.spaces import space_config, space_ensure_active

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class IndexingReport:
    ready: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


@dataclass
class _Prepared:
    item: Item
    image_index: int | None = None  # row in the batch's image matrix
    chunks: list[Chunk] = field(default_factory=list)
    chunk_rows: list[int] = field(default_factory=list)  # rows in the batch's text matrix


def enqueue_indexing(item_ids: Sequence[int]) -> bool:
    """Send ids to the workers; False (and a log line) when the broker is unreachable.

    Never raises: the rows are saved already, and the periodic sweep enqueues
    pending items again once the broker is back, so an upload is never lost.
    """
    ids = list(item_ids)
    for start in range(0, len(ids), settings.INDEXING_BATCH_SIZE):
        try:
            dispatch.send(dispatch.INDEX_ITEMS, ids[start : start + settings.INDEXING_BATCH_SIZE])
        except Exception:  # noqa: BLE001 - any broker failure; the sweep recovers
            logger.warning("Broker unavailable; %d item(s) stay pending until the sweep re-enqueues them", len(ids))
            return False
    return True


def enqueue_on_commit(item_ids: Sequence[int]) -> None:
    """Enqueue after the surrounding transaction commits, so workers find the rows."""
    ids = list(item_ids)
    if ids:
        transaction.on_commit(lambda: enqueue_indexing(ids))


def _claim(item_ids: Sequence[int], fill_to: int = 0) -> list[Item]:
    """Mark pending items as indexing; ones another worker holds (not stale) or finished
    are skipped.

    ``fill_to``: also claim the oldest other pending items, up to that many in all. One
    upload sends one task with one id; while the worker is busy, the uploads behind it
    wait as separate one-item tasks. Taking them into the current batch embeds them
    batched (about 2x the one-at-a-time rate on a CPU, bench/ingest.py) and their own
    tasks, arriving later, find nothing left to do (a skip costs one query).
    """
    # A task's own items held "indexing" for longer than INDEXING_STALE_SECONDS belong to a
    # worker that died: the broker redelivers its unacknowledged message (after the
    # visibility timeout) and this claim takes them back, as the periodic sweep would.
    stale_cutoff = timezone.now() - timedelta(seconds=settings.INDEXING_STALE_SECONDS)
    claimable = Q(status=Item.Status.PENDING) | Q(status=Item.Status.INDEXING, indexing_started_at__lt=stale_cutoff)
    with transaction.atomic():
        items = list(
            Item.objects.select_for_update(skip_locked=True)
            .filter(claimable, pk__in=item_ids)
            .order_by("pk")
        )
        if len(items) < fill_to:
            items += list(
                Item.objects.select_for_update(skip_locked=True)
                .filter(status=Item.Status.PENDING)
                .exclude(pk__in=[item.pk for item in items])
                .order_by("created_at", "pk")[: fill_to - len(items)]
            )
        now = timezone.now()
        Item.objects.filter(pk__in=[item.pk for item in items]).update(
            status=Item.Status.INDEXING, indexing_started_at=now, attempts=F("attempts") + 1
        )
    for item in items:
        item.status, item.indexing_started_at, item.attempts = Item.Status.INDEXING, now, item.attempts + 1
    return items


def _mark_failed(item: Item, reason: str) -> None:
    Item.objects.filter(pk=item.pk).update(
        status=Item.Status.FAILED, failure_reason=reason[:2000], indexing_started_at=None
    )


def _release(items: Sequence[Item], reason: str) -> None:
    """Put claimed items back in the queue after a failure that was not their fault."""
    for item in items:
        if item.attempts >= settings.INDEXING_MAX_ATTEMPTS:
            _mark_failed(item, f"Gave up after {item.attempts} attempts: {reason}")
        else:
            Item.objects.filter(pk=item.pk, status=Item.Status.INDEXING).update(
                status=Item.Status.PENDING, failure_reason=reason[:2000], indexing_started_at=None
            )


def _in_batches(rows: Sequence[T], embed: Callable[[Sequence[T]], Vectors], size: int) -> Vectors | None:
    parts = [embed(rows[start : start + size]) for start in range(0, len(rows), size)]
    return np.concatenate(parts) if parts else None


def _prepare(
    items: Sequence[Item], embedder: Embedder, report: IndexingReport
) -> tuple[list[_Prepared], list[Image.Image], list[str]]:
    """Decode images and chunk notes; an item that cannot be read fails alone, with its reason."""
    prepared: list[_Prepared] = []
    images: list[Image.Image] = []
    texts: list[str] = []
    changed: list[Item] = []
    for item in items:
        entry = _Prepared(item)
        try:
            if item.kind == Item.Kind.IMAGE:
                with item.original.open("rb") as handle:
                    data = handle.read()
                image = decode_image(data)
                size = upright_size(data)
                if (item.width, item.height) != size or not item.thumbnail:
                    # Record the upright size (EXIF rotation applied), as people see it.
                    item.width, item.height = size
                    if not item.thumbnail:
                        item.thumbnail.save(f"{item.owner_id}/{item.content_hash[:2]}/{item.content_hash}.jpg",
                                            ContentFile(make_thumbnail(image)), save=False)
                    changed.append(item)
                entry.image_index = len(images)
                images.append(image)
            else:
                entry.chunks = note_chunks(title=item.title, body=item.note_text, max_tokens=embedder.spec.max_tokens,
                                           count_tokens=embedder.count_tokens)  # fmt: skip
                if not entry.chunks:
                    raise ApplicationError("The note is empty.")
                entry.chunk_rows = list(range(len(texts), len(texts) + len(entry.chunks)))
                texts.extend(chunk.text for chunk in entry.chunks)
        except ApplicationError as exc:
            _mark_failed(item, exc.message)
            report.failed.append(item.pk)
            continue
        except FileNotFoundError:
            _mark_failed(item, "The uploaded file is missing from storage.")
            report.failed.append(item.pk)
            continue
        except Exception as exc:  # noqa: BLE001 - one odd file must not stop the batch
            logger.exception("Could not prepare item %s", item.pk)
            _mark_failed(item, f"Could not read the item: {type(exc).__name__}: {exc}")
            report.failed.append(item.pk)
            continue
        prepared.append(entry)
    # Sizes and thumbnails are recorded before embedding (a retry reuses the thumbnail),
    # in one query for the batch.
    Item.objects.bulk_update(changed, ["width", "height", "thumbnail"])
    return prepared, images, texts


def _embedder_for(space: EmbeddingSpace) -> Embedder:
    """The model that embeds into ``space``; refuses weights that changed on disk."""
    embedder = get_embedder(space_config(space))
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
    space: EmbeddingSpace, embedder: Embedder, items: Sequence[Item], pictures: dict[int, Image.Image]
) -> dict[int, list[Vector]]:
    """Unsaved vector rows of ``items`` in ``space``: one per picture (decoded ones given in
    ``pictures``; a text-only space takes none) and one per chunk of each note, chunked by
    this model's own tokenizer and limit. A model with learned lexical weights (BGE-M3)
    fills ``Vector.sparse`` too."""
    rows: dict[int, list[Vector]] = {item.pk: [] for item in items}
    size = settings.INDEXING_BATCH_SIZE
    images = [item for item in items if item.kind == Item.Kind.IMAGE and item.pk in pictures]
    if images and space.modality == EmbeddingSpace.Modality.IMAGE_TEXT:
        vectors = _in_batches([pictures[item.pk] for item in images], embedder.embed_images, size)
        assert vectors is not None
        for item, vector in zip(images, vectors, strict=True):
            rows[item.pk].append(Vector(item=item, space=space, chunk=0, embedding=vector))
    notes = [item for item in items if item.kind == Item.Kind.NOTE]
    chunked = [(item, note_chunks(title=item.title, body=item.note_text, max_tokens=embedder.spec.max_tokens,
                                  count_tokens=embedder.count_tokens)) for item in notes]  # fmt: skip
    texts = [chunk.text for _, chunks in chunked for chunk in chunks]
    if not texts:
        return rows
    sparse: list[dict[int, float]] | None = None
    if isinstance(embedder, SparseTextEmbedder):
        dense, sparse = embedder.embed_texts_with_sparse(texts)
    else:
        dense = _in_batches(texts, embedder.embed_texts, size)
    position = 0
    for item, chunks in chunked:
        for number, chunk in enumerate(chunks):
            vocabulary = embedder.vocab_size if isinstance(embedder, SparseTextEmbedder) else 0
            weights = None if sparse is None else SparseVector(sparse[position], vocabulary)
            rows[item.pk].append(Vector(item=item, space=space, chunk=number, span_start=chunk.start,
                                        span_end=chunk.end, embedding=dense[position], sparse=weights))  # fmt: skip
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


def _vector_rows(
    entry: _Prepared, space: EmbeddingSpace, image_vectors: Vectors | None, text_vectors: Vectors | None
) -> list[Vector]:
    item = entry.item
    if entry.image_index is not None:
        assert image_vectors is not None
        return [Vector(item=item, space=space, chunk=0, embedding=image_vectors[entry.image_index])]
    assert text_vectors is not None
    return [
        Vector(item=item, space=space, chunk=number, span_start=chunk.start, span_end=chunk.end,
               embedding=text_vectors[row])
        for number, (chunk, row) in enumerate(zip(entry.chunks, entry.chunk_rows, strict=True))
    ]  # fmt: skip


def _store(
    entries: Sequence[_Prepared],
    space: EmbeddingSpace,
    image_vectors: Vectors | None,
    text_vectors: Vectors | None,
    companions: dict[int, list[Vector]],
) -> tuple[list[int], list[int]]:
    """Save the batch's vectors and mark its items ready, in one transaction (a handful of
    queries per batch, not per item); returns (stored ids, ids deleted meanwhile)."""
    ids = [entry.item.pk for entry in entries]
    with transaction.atomic():
        # Locks the rows; an item deleted meanwhile is simply skipped.
        alive = set(Item.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
        kept = [entry for entry in entries if entry.item.pk in alive]
        spaces = {space.pk} | {row.space_id for rows in companions.values() for row in rows}
        # Replacing is what makes a repeated task harmless.
        Vector.objects.filter(item_id__in=alive, space__in=spaces).delete()
        Vector.objects.bulk_create([
            row for entry in kept
            for row in (*_vector_rows(entry, space, image_vectors, text_vectors), *companions.get(entry.item.pk, []))
        ])  # fmt: skip
        lexical_index_items(items=[entry.item for entry in kept])
        Item.objects.filter(pk__in=alive).update(
            status=Item.Status.READY, failure_reason="", indexed_at=timezone.now(), indexing_started_at=None
        )
    return [entry.item.pk for entry in kept], [item_id for item_id in ids if item_id not in alive]


def items_index(*, item_ids: Sequence[int], fill_batch: bool = False) -> IndexingReport:
    """Embed the given items (those still pending) into the active space.

    ``fill_batch`` (the worker's task): fill the batch up to INDEXING_BATCH_SIZE with
    other pending items (see ``_claim``), when INDEXING_FILL_BATCHES allows.

    Idempotent: items already ready, failed or held by another worker are
    skipped. A failure that is not one item's fault (model missing, database
    hiccup) puts the claimed items back to pending and re-raises, so the task
    retries with backoff.
    """
    report = IndexingReport()
    fill_to = settings.INDEXING_BATCH_SIZE if fill_batch and settings.INDEXING_FILL_BATCHES else 0
    items = _claim(item_ids, fill_to=fill_to)
    report.skipped = sorted(set(item_ids) - {item.pk for item in items})
    if not items:
        return report
    try:
        space = active_space() or space_ensure_active(spec=get_embedder(configured_model()).spec)
        embedder = _embedder_for(space)
        prepared, images, texts = _prepare(items, embedder, report)
        size = settings.INDEXING_BATCH_SIZE
        image_vectors = _in_batches(images, embedder.embed_images, size)
        text_vectors = _in_batches(texts, embedder.embed_texts, size)
        decoded = {entry.item.pk: images[entry.image_index] for entry in prepared if entry.image_index is not None}
        companions = _companion_rows([entry.item for entry in prepared], decoded)
        stored, deleted = _store(prepared, space, image_vectors, text_vectors, companions)
        report.ready.extend(stored)
        report.skipped.extend(deleted)
        # Deleted while we worked: the thumbnail we wrote was not there for the delete to remove.
        files_delete_unreferenced(names=[entry.item.thumbnail.name for entry in prepared
                                         if entry.item.pk in set(deleted) and entry.item.thumbnail])  # fmt: skip
    except Exception as exc:
        unfinished = [item for item in items if item.pk not in report.ready and item.pk not in report.failed]
        message = exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"
        try:
            _release(unfinished, message)
        except Exception:  # noqa: BLE001 - database down too: the sweep will find them
            logger.exception("Could not release %d item(s); the stale sweep will", len(unfinished))
        raise
    if report.ready:
        _refresh_calibrations([space, active_text_space()])
    return report


def _refresh_calibrations(spaces: list[EmbeddingSpace | None]) -> None:
    """Keep the searched spaces' relevance calibration in step with the collection's size.
    A failure here is logged, never the batch's: the items are stored and searchable."""
    for space in spaces:
        if space is None:
            continue
        try:
            space_calibration_refresh(space=space)
        except Exception:  # noqa: BLE001
            logger.exception("Could not recalibrate space %s; search uses the previous calibration", space.pk)


def items_requeue_stale() -> list[int]:
    """Re-enqueue work that fell through the cracks; returns the ids sent.

    Items "indexing" for longer than INDEXING_STALE_SECONDS belonged to a worker
    that died; items "pending" for longer than PENDING_REQUEUE_SECONDS were
    probably saved while the broker was down.
    """
    now = timezone.now()
    stale_cutoff = now - timedelta(seconds=settings.INDEXING_STALE_SECONDS)
    with transaction.atomic():
        orphaned = Item.objects.select_for_update(skip_locked=True).filter(
            status=Item.Status.INDEXING, indexing_started_at__lt=stale_cutoff
        )
        orphan_ids = set(orphaned.values_list("pk", flat=True))
        Item.objects.filter(pk__in=orphan_ids).update(status=Item.Status.PENDING, indexing_started_at=None)
    pending_cutoff = now - timedelta(seconds=settings.PENDING_REQUEUE_SECONDS)
    forgotten_ids = set(
        Item.objects.filter(status=Item.Status.PENDING, updated_at__lt=pending_cutoff).values_list("pk", flat=True)
    )
    ids = sorted(orphan_ids | forgotten_ids)
    if ids:
        # Touch them so the next sweep does not send them again while they wait in the queue.
        Item.objects.filter(pk__in=ids).update(updated_at=now)
        enqueue_indexing(ids)
    return ids


def items_retry(*, item_ids: Sequence[int]) -> int:
    """Send failed items back to the queue (admin "retry" action); returns how many."""
    with transaction.atomic():
        ids = list(Item.objects.filter(pk__in=item_ids, status=Item.Status.FAILED).values_list("pk", flat=True))
        Item.objects.filter(pk__in=ids).update(status=Item.Status.PENDING, failure_reason="", attempts=0)
        enqueue_on_commit(ids)
    return len(ids)


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
