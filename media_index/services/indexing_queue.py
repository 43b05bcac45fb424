"""The indexing queue: which items wait, who holds them, and getting them back.

Sending ids to the workers (tolerating a broker that is down), claiming items for a batch
(a state machine on ``Item.status``: pending -> indexing -> ready/failed), giving them
back after a failure that was not theirs, the periodic sweep of work a dead worker held
or a down broker never got, and the admin's retry. The embedding itself is
``services.indexing``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from media_index import dispatch
from media_index.models import Item

logger = logging.getLogger(__name__)


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


def items_claim(item_ids: Sequence[int], fill_to: int = 0) -> list[Item]:
    """Mark pending items as indexing; ones another worker holds (not stale) or finished
    are skipped.

    ``fill_to``: also claim the oldest other pending items, up to that many in all. One
    upload sends one task with one id; while the worker is busy, the uploads behind it
    wait as separate one-item tasks. Taking them into the current batch embeds them
    batched (about 2x the one-at-a-time rate on a CPU, manage.py bench ingest) and their own
    tasks, arriving later, find nothing left to do (a skip costs one query). Stale items
    fill too: a worker that died holding a filled batch took items whose own tasks had
    already been skipped, so only a fill (or the sweep) can bring them back.
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
                .filter(claimable)
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


def item_mark_failed(item: Item, reason: str) -> None:
    Item.objects.filter(pk=item.pk).update(
        status=Item.Status.FAILED, failure_reason=reason[:2000], indexing_started_at=None
    )


def items_release(items: Sequence[Item], reason: str) -> None:
    """Put claimed items back in the queue after a failure that was not their fault."""
    for item in items:
        if item.attempts >= settings.INDEXING_MAX_ATTEMPTS:
            item_mark_failed(item, f"Gave up after {item.attempts} attempts: {reason}")
        else:
            Item.objects.filter(pk=item.pk, status=Item.Status.INDEXING).update(
                status=Item.Status.PENDING, failure_reason=reason[:2000], indexing_started_at=None
            )


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
