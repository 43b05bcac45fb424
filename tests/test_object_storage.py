"""Media in an S3-compatible object store (MEDIA_STORAGE=s3): a real S3 server process (moto's
standalone server, from PyPI) holds every file; a real worker writes thumbnails there.

upload → index → search → file → delete leaves no object behind; files are served only
after the permission check, streamed or as a redirect to a presigned URL.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from devstack import start_process, stop_process
from media_index.models import Item
from tests import media
from tests.conftest import REPO, child_env, start_worker
from tests.factories import api_key
from tests.test_tasks import wait_until_settled

pytestmark = pytest.mark.slow
BUCKET = "searchsite-media"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[str]:
    """moto's S3 server in its own process; its endpoint URL, with an empty bucket."""
    import boto3

    port = _free_port()
    with (tmp_path / "s3.log").open("wb") as log:
        server = start_process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               {"PATH": "/usr/bin:/bin"}, cwd=REPO, output=log)  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(endpoint, timeout=1)
            break
        except requests.RequestException:
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "s3.log").read_text()
            time.sleep(0.2)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test").create_bucket(Bucket=BUCKET)  # fmt: skip
    try:
        yield endpoint
    finally:
        stop_process(server, "s3 server")


def _s3_environment(endpoint: str) -> dict[str, str]:
    return {"MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": BUCKET, "MEDIA_S3_ENDPOINT_URL": endpoint,
            "MEDIA_S3_REGION": "us-east-1", "MEDIA_S3_ACCESS_KEY_ID": "test",
            "MEDIA_S3_SECRET_ACCESS_KEY": "test"}  # fmt: skip


@pytest.fixture
def s3_settings(settings, s3_server: str, monkeypatch) -> str:
    """This process's storage on the S3 server (the settings module reads the environment)."""
    from searchsite.settings import base

    for name, value in _s3_environment(s3_server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(base, "MEDIA_STORAGE", "s3")
    settings.MEDIA_STORAGE = "s3"
    settings.STORAGES = {**settings.STORAGES, "default": base.media_storage()}
    return s3_server


def _objects(endpoint: str) -> list[str]:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")  # fmt: skip
    return [entry["Key"] for entry in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_upload_index_search_serve_and_delete_through_an_object_store(
    transactional_db, django_user_model, s3_settings: str, settings, tmp_path: Path
) -> None:
    from searchsite.celery import app

    app.control.purge()
    alice = django_user_model.objects.create_user("alice", password="pw")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(alice)}")
    picture = media.image_bytes("red", size=(320, 240), fmt="JPEG")
    # A worker with the same storage settings, as on another host.
    worker, _ = start_worker(tmp_path / "worker.log", env=child_env(**_s3_environment(s3_settings)))
    try:
        upload = SimpleUploadedFile("red-ball.jpg", picture, "image/jpeg")
        created = client.post("/api/v1/items/", {"file": upload}, format="multipart")
        item_id = created.json()["id"]
        settled = wait_until_settled([item_id])[item_id]
    finally:
        stop_process(worker, "worker")

    assert settled.status == Item.Status.READY, settled.failure_reason
    stored = sorted(_objects(s3_settings))
    assert [name.split("/")[0] for name in stored] == ["originals", "thumbnails"]
    assert default_storage.__class__.__name__ == "S3Storage"
    assert not list(Path(settings.MEDIA_ROOT).rglob(f"*{settled.content_hash}*"))  # nothing on local disk
    found = client.get("/api/v1/search/", {"q": "red-ball", "mode": "lexical"}).json()["results"]
    assert [hit["id"] for hit in found] == [item_id]
    served = client.get(f"/api/v1/items/{item_id}/file/")
    assert served.status_code == 200 and b"".join(served.streaming_content) == picture
    thumbnail = client.get(f"/api/v1/items/{item_id}/thumbnail/")
    assert thumbnail.status_code == 200 and b"".join(thumbnail.streaming_content)[:2] == b"\xff\xd8"
    # Someone else may not see a private item's file, whatever the storage.
    bob = APIClient()
    bob.credentials(HTTP_AUTHORIZATION=f"Token {api_key(django_user_model.objects.create_user('bob'))}")
    assert bob.get(f"/api/v1/items/{item_id}/file/").status_code == 404

    assert client.delete(f"/api/v1/items/{item_id}/").status_code == 204
    assert _objects(s3_settings) == []  # no object left behind


def test_with_redirects_a_file_is_a_short_lived_presigned_link_given_after_the_check(
    db, django_user_model, s3_settings: str, settings
) -> None:
    from media_index.services.uploads import item_create_image

    settings.MEDIA_S3_SERVE = "redirect"
    alice = django_user_model.objects.create_user("alice", password="pw")
    picture = media.image_bytes("blue", fmt="PNG")
    item, _ = item_create_image(owner=alice, data=picture, filename="blue.png")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(alice)}")

    answer = client.get(f"/api/v1/items/{item.pk}/file/")

    assert answer.status_code == 302 and answer["Cache-Control"] == "private, no-store"
    location = answer["Location"]
    assert location.startswith(s3_settings) and "X-Amz-Signature=" in location and "X-Amz-Expires=60" in location
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200 and fetched.content == picture
    assert fetched.headers["Content-Type"] == "image/png"
    anonymous = APIClient().get(f"/api/v1/items/{item.pk}/file/")
    assert anonymous.status_code in (401, 404)


def test_an_onnx_export_made_on_one_host_is_fetched_by_another(s3_settings: str, settings, tmp_path: Path) -> None:
    """A worker exports the model for EMBEDDING_RUNTIME=onnx and shares it; a web host with an
    empty MODEL_DIR fetches it and embeds without PyTorch, with the same vectors."""
    import numpy as np

    from media_index.embedding.onnx_embedder import OnnxOpenClipEmbedder, torch_free_embedder
    from media_index.embedding.open_clip_backend import OpenClipEmbedder
    from media_index.embedding.weights import resolve_open_clip

    settings.MODEL_DIR = tmp_path / "worker-models"
    worker = OpenClipEmbedder(resolve_open_clip("demo-clip", "demo"), runtime="onnx")
    shared = sorted(name.rsplit("/", 1)[-1] for name in _objects(s3_settings))
    assert shared == ["image.onnx", "meta.json", "text.onnx"]
    assert all(name.startswith("model-exports/demo-clip__") for name in _objects(s3_settings))

    settings.MODEL_DIR = tmp_path / "web-models"
    spec = worker.spec
    web = torch_free_embedder(model_name=spec.model_name, pretrained=spec.pretrained,
                              checkpoint_sha256=spec.checkpoint_sha256, runtime="onnx")  # fmt: skip

    assert isinstance(web, OnnxOpenClipEmbedder) and web.spec == spec
    assert sorted(path.name for path in next((tmp_path / "web-models" / "onnx").iterdir()).iterdir()) == shared
    texts = ["a cute puppy", "红色的汽车"]
    assert np.abs(web.embed_texts(texts) - worker.embed_texts(texts)).max() < 1e-5
