"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, InterfaceError

from media_index.services.calibration import spaces_calibration_refresh
from media_index.services.files import files_sweep_orphans
from media_index.services.indexing import items_index, space_embed_items
from media_index.services.indexing_queue import items_requeue_stale
from media_index.services.owner_indexes import owner_indexes_sync
from media_index.services.query_pictures import query_pictures_expire
from media_index.services.spaces import space_index_build_when_complete, space_reindex_begin

# Database and broker hiccups are worth retrying; anything else is a bug or a
# permanent condition the service has already recorded on the items.
TRANSIENT_ERRORS = (DatabaseError, InterfaceError, ConnectionError, TimeoutError)


# Options of every task that embeds a batch: acknowledged only when done (a killed
# worker's batch is redelivered), transient failures retried with backoff.
BATCH_TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
    # Embedding a batch of 32 takes seconds on a CPU; minutes mean something is stuck.
    "soft_time_limit": 600,
    "time_limit": 660,
}


@shared_task(**BATCH_TASK_OPTIONS)
def index_items(item_ids: list[int]) -> dict[str, list[int]]:
    report = items_index(item_ids=item_ids, fill_batch=True)
    return {"ready": report.ready, "failed": report.failed, "skipped": report.skipped}


@shared_task(acks_late=True)
def requeue_stale_items() -> int:
    return len(items_requeue_stale())


@shared_task(acks_late=True)
def refresh_calibration(space_id: int | None = None) -> bool:
    return spaces_calibration_refresh(space_id=space_id)


@shared_task(acks_late=True)
def sync_owner_indexes() -> dict[str, int]:
    report = owner_indexes_sync()
    return {"built": len(report.built), "dropped": len(report.dropped), "kept": len(report.kept)}


@shared_task(acks_late=True)
def sweep_orphan_files() -> int:
    query_pictures_expire()
    return files_sweep_orphans(older_than_seconds=settings.ORPHAN_FILE_AGE_SECONDS)


@shared_task(**BATCH_TASK_OPTIONS)
def embed_into_space(space_id: int, item_ids: list[int]) -> int:
    """One batch of a re-index: embed ready items into a (building) space."""
    return space_embed_items(space_id=space_id, item_ids=item_ids)


# A space's HNSW build over a million vectors takes minutes (bench search: 518 s at 1M).
INDEX_BUILD_TIME_LIMIT = 6 * 3600
# While a re-index's last batches are still being embedded, look again this much later.
INDEX_BUILD_RETRY_SECONDS = 15


@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=INDEX_BUILD_TIME_LIMIT,
             time_limit=INDEX_BUILD_TIME_LIMIT + 60)  # fmt: skip
def build_space_index(self, space_id: int) -> bool:  # noqa: ANN001 - Celery's bound task
    """Build a re-indexed space's HNSW index once every item is in it."""
    if not space_index_build_when_complete(space_id=space_id):
        raise self.retry(countdown=INDEX_BUILD_RETRY_SECONDS)
    return True


@shared_task(acks_late=True)
def begin_reindex(backend: str, model_name: str, pretrained: str) -> int:
    """The admin's "re-index into another model": load it, create its space, queue every item;
    returns the new space's id."""
    space, _sent = space_reindex_begin(backend=backend, model_name=model_name, pretrained=pretrained)
    return space.pk
