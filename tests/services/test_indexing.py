"""Indexing bookkeeping: claims, the stale sweep, retries; in-process embedding with the demo model."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from media_index.models import EmbeddingSpace, Item, Vector
from media_index.services.indexing import items_index
from media_index.services.indexing_queue import items_requeue_stale, items_retry
from media_index.services.uploads import item_create_image, item_create_note
from tests import media

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw")


def test_the_sweep_requeues_orphaned_and_forgotten_items(owner, settings) -> None:
    long_ago = timezone.now() - timedelta(hours=1)
    orphan, _ = item_create_note(owner=owner, text="claimed by a worker that died")
    forgotten, _ = item_create_note(owner=owner, text="saved while the broker was down")
    fresh, _ = item_create_note(owner=owner, text="just uploaded")
    busy, _ = item_create_note(owner=owner, text="being indexed right now")
    Item.objects.filter(pk=orphan.pk).update(status=Item.Status.INDEXING, indexing_started_at=long_ago)
    Item.objects.filter(pk=forgotten.pk).update(updated_at=long_ago)
    Item.objects.filter(pk=busy.pk).update(status=Item.Status.INDEXING, indexing_started_at=timezone.now())

    sent = items_requeue_stale()

    assert sorted(sent) == sorted([orphan.pk, forgotten.pk])
    assert Item.objects.get(pk=orphan.pk).status == Item.Status.PENDING
    assert Item.objects.get(pk=busy.pk).status == Item.Status.INDEXING
    assert items_requeue_stale() == []  # just sent: not again on the next sweep


def test_retry_sends_back_only_failed_items(owner) -> None:
    failed, _ = item_create_note(owner=owner, text="failed once")
    ready, _ = item_create_note(owner=owner, text="fine")
    Item.objects.filter(pk=failed.pk).update(status=Item.Status.FAILED, failure_reason="boom", attempts=3)
    Item.objects.filter(pk=ready.pk).update(status=Item.Status.READY)

    count = items_retry(item_ids=[failed.pk, ready.pk])

    assert count == 1
    failed.refresh_from_db()
    assert (failed.status, failed.failure_reason, failed.attempts) == (Item.Status.PENDING, "", 0)
    assert Item.objects.get(pk=ready.pk).status == Item.Status.READY


def test_indexing_skips_items_that_are_not_pending(owner) -> None:
    item, _ = item_create_note(owner=owner, text="already done")
    Item.objects.filter(pk=item.pk).update(status=Item.Status.READY)

    report = items_index(item_ids=[item.pk, 999_999])

    assert report.skipped == [item.pk, 999_999]
    assert not Vector.objects.exists()


def test_a_missing_model_puts_items_back_with_the_reason(owner, settings) -> None:
    settings.OPEN_CLIP_PRETRAINED = "no/such/checkpoint.pt"
    item, _ = item_create_note(owner=owner, text="waiting for a model")

    with pytest.raises(Exception, match="does not exist"):
        items_index(item_ids=[item.pk])

    item.refresh_from_db()
    assert item.status == Item.Status.PENDING
    assert "does not exist" in item.failure_reason
    assert item.attempts == 1


def test_after_too_many_attempts_an_item_fails_for_good(owner, settings) -> None:
    settings.OPEN_CLIP_PRETRAINED = "no/such/checkpoint.pt"
    settings.INDEXING_MAX_ATTEMPTS = 1
    item, _ = item_create_note(owner=owner, text="never a model")

    with pytest.raises(Exception, match="does not exist"):
        items_index(item_ids=[item.pk])

    item.refresh_from_db()
    assert item.status == Item.Status.FAILED
    assert item.failure_reason.startswith("Gave up after 1 attempts")


@pytest.mark.slow
def test_the_demo_model_embeds_a_batch_in_process(owner) -> None:
    picture, _ = item_create_image(owner=owner, data=media.image_bytes("orange", fmt="JPEG"), filename="o.jpg")
    note, _ = item_create_note(owner=owner, text=media.long_note(), title="Max")
    broken, _ = item_create_image(owner=owner, data=media.truncated_jpeg(), filename="cut.jpg")

    report = items_index(item_ids=[picture.pk, note.pk, broken.pk])
    again = items_index(item_ids=[picture.pk, note.pk])

    assert sorted(report.ready) == sorted([picture.pk, note.pk])
    assert report.failed == [broken.pk]
    assert again.skipped == [picture.pk, note.pk]
    space = EmbeddingSpace.objects.get(is_active=True)
    assert (space.backend, space.model_name, space.pretrained) == ("open_clip", "demo-clip", "demo")
    assert len(space.checkpoint_sha256) == 64
    note_vectors = Vector.objects.filter(item=note).order_by("chunk")
    assert note_vectors.count() >= 2
    assert all(v.span_start is not None and v.span_end > v.span_start for v in note_vectors)
    # Each vector carries its item's owner (per-owner HNSW indexes, services.owner_indexes).
    assert set(Vector.objects.filter(item__in=[picture, note]).values_list("owner_id", flat=True)) == {owner.pk}
    embedding = np.asarray(Vector.objects.get(item=picture).embedding)
    assert embedding.shape == (space.dimension,)
    assert abs(np.linalg.norm(embedding) - 1) < 1e-4


@pytest.mark.parametrize(("fill", "batch_size", "expected_ready"), [
    (True, 32, {"first", "second", "third"}),  # the others' tasks are still queued: taken now
    (True, 2, {"first", "second"}),  # oldest first, up to the batch size
    (False, 32, {"first"}),  # INDEXING_FILL_BATCHES off: only the task's own items
])  # fmt: skip
def test_a_task_fills_its_batch_with_other_pending_uploads(
    owner, settings, fill: bool, batch_size: int, expected_ready: set[str]
) -> None:
    settings.INDEXING_FILL_BATCHES, settings.INDEXING_BATCH_SIZE = fill, batch_size
    items = {name: item_create_note(owner=owner, text=f"the {name} note")[0] for name in ("first", "second", "third")}
    busy, _ = item_create_note(owner=owner, text="held by another worker")
    Item.objects.filter(pk=busy.pk).update(status=Item.Status.INDEXING, indexing_started_at=timezone.now())

    report = items_index(item_ids=[items["first"].pk], fill_batch=True)

    names = {item.pk: name for name, item in items.items()}
    assert {names[item_id] for item_id in report.ready} == expected_ready
    statuses = {name: Item.objects.get(pk=item.pk).status for name, item in items.items()}
    assert {name for name, status in statuses.items() if status == Item.Status.READY} == expected_ready
    assert Item.objects.get(pk=busy.pk).status == Item.Status.INDEXING  # never taken from its worker
    # A later task for an item already embedded finds nothing to do.
    assert items_index(item_ids=[items["first"].pk], fill_batch=True).skipped == [items["first"].pk]


def test_an_item_deleted_while_it_is_indexed_leaves_no_thumbnail(owner, monkeypatch) -> None:
    from django.core.files.storage import default_storage

    from media_index.services import indexing

    picture, _ = item_create_image(owner=owner, data=media.image_bytes("green", fmt="JPEG"), filename="g.jpg")
    real_store = indexing._store
    written: list[str] = []

    def store_after_a_delete(items, *args):  # noqa: ANN001, ANN002, ANN202
        # The owner deletes the item after the worker wrote its thumbnail, before it stores vectors.
        written.extend(item.thumbnail.name for item in items)
        Item.objects.filter(pk=picture.pk).delete()
        return real_store(items, *args)

    monkeypatch.setattr(indexing, "_store", store_after_a_delete)
    report = items_index(item_ids=[picture.pk])

    assert report.skipped == [picture.pk]
    assert written and written[0].startswith("thumbnails/")
    assert not default_storage.exists(written[0])


def test_the_orphan_sweep_deletes_old_unreferenced_files_only(owner, settings, tmp_path) -> None:
    import os
    import time

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from media_index.services.files import files_sweep_orphans

    settings.MEDIA_ROOT = str(tmp_path)  # this test's files only
    picture, _ = item_create_image(owner=owner, data=media.image_bytes("blue"), filename="b.png")
    orphan = default_storage.save("thumbnails/0/ab/orphan.jpg", ContentFile(b"x"))
    young = default_storage.save("thumbnails/0/ab/young.jpg", ContentFile(b"y"))
    hour_ago = time.time() - 7200
    for name in (orphan, picture.original.name):
        os.utime(default_storage.path(name), (hour_ago, hour_ago))

    deleted = files_sweep_orphans(older_than_seconds=3600)

    assert deleted == 1
    assert not default_storage.exists(orphan)
    assert default_storage.exists(young) and default_storage.exists(picture.original.name)
    default_storage.delete(young)


def test_a_filled_batch_also_takes_back_items_a_dead_worker_held(owner) -> None:
    """A worker that died holding a filled batch held items whose own tasks were already
    skipped: the next task's fill takes them back once stale, a live worker's are left alone."""
    from media_index.services.indexing_queue import items_claim

    long_ago = timezone.now() - timedelta(hours=1)
    mine, _ = item_create_note(owner=owner, text="this task's own upload")
    orphan, _ = item_create_note(owner=owner, text="held by a worker that died")
    busy, _ = item_create_note(owner=owner, text="held by a live worker")
    Item.objects.filter(pk=orphan.pk).update(status=Item.Status.INDEXING, indexing_started_at=long_ago, attempts=1)
    Item.objects.filter(pk=busy.pk).update(status=Item.Status.INDEXING, indexing_started_at=timezone.now())

    claimed = items_claim([mine.pk], fill_to=8)

    assert sorted(item.pk for item in claimed) == sorted([mine.pk, orphan.pk])
    assert Item.objects.get(pk=orphan.pk).attempts == 2


def test_pictures_are_prepared_on_a_second_thread_while_the_model_embeds(owner, settings) -> None:
    """Prefetch on and off give the same vectors, sizes and thumbnails; an unreadable picture
    fails alone either way."""
    pictures = [item_create_image(owner=owner, data=media.image_bytes(colour, size=(160 + index, 120)),
                                  filename=f"{colour}.png")[0]
                for index, colour in enumerate(["red", "green", "blue", "white", "black"])]  # fmt: skip
    broken = pictures[2]
    Path(broken.original.path).write_bytes(b"not a picture")  # damaged on disk after the upload
    Item.objects.filter(pk=broken.pk).update(width=None, height=None)
    results = {}
    for prefetch in (True, False):
        settings.INDEXING_PREFETCH, settings.INDEXING_PREFETCH_CHUNK = prefetch, 2
        Vector.objects.all().delete()
        Item.objects.filter(pk__in=[p.pk for p in pictures]).update(status=Item.Status.PENDING, attempts=0)
        report = items_index(item_ids=[p.pk for p in pictures])
        vectors = {row.item_id: np.asarray(row.embedding) for row in Vector.objects.all()}
        results[prefetch] = (sorted(report.ready), sorted(report.failed), vectors)

    assert results[True][0] == results[False][0] == sorted(p.pk for p in pictures if p.pk != broken.pk)
    assert results[True][1] == results[False][1] == [broken.pk]
    for pk, vector in results[False][2].items():
        assert np.abs(results[True][2][pk] - vector).max() < 1e-6
    first = Item.objects.get(pk=pictures[0].pk)
    assert (first.width, first.height) == (160, 120) and first.thumbnail
