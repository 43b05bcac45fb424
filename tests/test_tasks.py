"""The ingest pipeline end to end: API and admin uploads, a real Celery worker, vectors in pgvector."""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from media_index.models import EmbeddingSpace, Item, Vector
from tests import media
from tests.factories import api_key

READY_TIMEOUT_SECONDS = 120


def wait_until_settled(ids: list[int], timeout: float = READY_TIMEOUT_SECONDS) -> dict[int, Item]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = {item.pk: item for item in Item.objects.filter(pk__in=ids)}
        if all(item.status in (Item.Status.READY, Item.Status.FAILED) for item in items.values()):
            return items
        time.sleep(0.3)
    states = dict(Item.objects.filter(pk__in=ids).values_list("pk", "status"))
    raise AssertionError(f"items did not settle within {timeout}s: {states}")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("staff", password="pw")


@pytest.fixture
def api_client(staff):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(staff)}")
    return client


@pytest.mark.slow
def test_uploads_through_api_and_admin_are_embedded_by_a_real_worker(live_worker, api_client, client, staff) -> None:
    # Given three pictures and two notes (one longer than CLIP's 77 tokens), via the API and the admin
    ids = []
    for color in ("red", "green"):
        response = api_client.post("/api/v1/items/", {"file": SimpleUploadedFile(
            f"{color}.png", media.image_bytes(color), content_type="image/png")}, format="multipart")
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    response = api_client.post("/api/v1/items/", {"text": media.long_note(), "title": "Max"}, format="multipart")
    assert response.status_code == 201, response.content
    long_note_id = response.json()["id"]
    ids.append(long_note_id)
    client.force_login(staff)
    response = client.post("/admin/media_index/item/upload/", {
        "files": [SimpleUploadedFile("rotated.jpg", media.jpeg_with_exif_rotation()),
                  SimpleUploadedFile("short.txt", b"A cute kitten on a chair.")],
        "visibility": "public",
    })  # fmt: skip
    assert response.status_code == 302
    ids += list(Item.objects.exclude(pk__in=ids).values_list("pk", flat=True))
    assert len(ids) == 5

    # When the worker has processed them
    items = wait_until_settled(ids)

    # Then every item is ready with unit vectors of the active space's dimension
    assert {item.status for item in items.values()} == {Item.Status.READY}, {
        pk: item.failure_reason for pk, item in items.items()
    }
    space = EmbeddingSpace.objects.get(is_active=True)
    vectors = list(Vector.objects.filter(item_id__in=ids))
    assert {vector.space_id for vector in vectors} == {space.pk}
    for vector in vectors:
        embedding = np.asarray(vector.embedding)
        assert embedding.shape == (space.dimension,)
        assert abs(np.linalg.norm(embedding) - 1.0) < 1e-4
    assert Vector.objects.filter(item_id=long_note_id).count() >= 2
    rotated = Item.objects.get(original_name="rotated.jpg")
    assert (rotated.width, rotated.height) == (40, 80)  # stored 80x40 with "rotate 90°" in EXIF
    with rotated.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        assert thumb.size == (40, 80)


@pytest.mark.slow
def test_bad_files_fail_alone_and_the_worker_carries_on(live_worker, api_client) -> None:
    # Given files that are refused at once, and a truncated JPEG that only decoding can expose
    refused = {
        "bomb.png": media.png_bomb(),
        "corrupt.png": media.corrupt_image(),
        "program.exe": b"MZ\x90\x00binary",
    }
    for name, data in refused.items():
        response = api_client.post("/api/v1/items/", {"file": SimpleUploadedFile(name, data)}, format="multipart")
        assert response.status_code == 400, (name, response.content)
        assert response.json()["error"]["message"]
    truncated = api_client.post(
        "/api/v1/items/", {"file": SimpleUploadedFile("cut.jpg", media.truncated_jpeg())}, format="multipart"
    ).json()["id"]
    good = api_client.post(
        "/api/v1/items/", {"file": SimpleUploadedFile("fine.png", media.image_bytes("purple"))}, format="multipart"
    ).json()["id"]

    # When the worker has processed what was accepted
    items = wait_until_settled([truncated, good])

    # Then the truncated file failed with a reason, and the next item was still indexed
    assert items[truncated].status == Item.Status.FAILED
    assert "damaged or truncated" in items[truncated].failure_reason
    assert items[good].status == Item.Status.READY
    assert live_worker.poll() is None


@pytest.mark.slow
def test_an_upload_is_indexed_while_a_reindex_waits_on_its_own_queue(transactional_db, tmp_path) -> None:
    """Uploads and re-indexing go to separate queues: with a worker on the upload queue only,
    a new upload is indexed while a whole re-index sits queued; a worker on the reindex
    queue then builds the new space."""
    from django.core.management import call_command

    from devstack import stop_process
    from media_index.models import EmbeddingSpace
    from media_index.services.demo import demo_user
    from media_index.services.indexing import items_index
    from media_index.services.spaces import space_progress
    from media_index.services.uploads import item_create_note
    from searchsite.celery import app
    from tests.conftest import start_worker
    from tests.services.test_spaces import demo_pictures, perturbed_demo_checkpoint

    app.control.purge()
    owner = demo_user()
    items = demo_pictures(owner, 24)
    items_index(item_ids=[item.pk for item in items])
    uploads_worker, _ = start_worker(tmp_path / "uploads.log", "-Q", "uploads,maintenance")
    reindex_worker = None
    try:
        # A re-index into another model: 12 batches of 2 wait on the reindex queue.
        call_command("reindex", "--backend", "open_clip", "--model", "demo-clip",
                     "--pretrained", str(perturbed_demo_checkpoint(tmp_path)), "--batch-size", "2", "--no-wait")  # fmt: skip
        space_b = EmbeddingSpace.objects.get(is_building=True)
        late, _ = item_create_note(owner=owner, text="A note uploaded while the re-index waits.", visibility="public")

        settled = wait_until_settled([late.pk], timeout=60)

        assert settled[late.pk].status == Item.Status.READY
        # Nothing of the re-index ran: it did not stand in the upload's way, nor the upload in its.
        assert space_progress(space_b)[0] == 1  # the late note only (new uploads go into B too)

        reindex_worker, _ = start_worker(tmp_path / "reindex.log", "-Q", "reindex")
        deadline = time.monotonic() + 120
        while space_progress(space_b)[0] < space_progress(space_b)[1]:
            assert time.monotonic() < deadline, space_progress(space_b)
            time.sleep(0.5)
    finally:
        stop_process(uploads_worker)
        if reindex_worker is not None:
            stop_process(reindex_worker)
