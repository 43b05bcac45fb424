"""No data lost: a worker killed mid-batch, and the broker stopped while uploads arrive.

Both tests use real processes: Celery workers started as subprocesses (the second one
with the beat scheduler that runs the stale-item sweep), and in the broker test a real
redis-server that is shut down and started again on the same socket and data folder,
and a real web server that takes the uploads over HTTP.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest
from django.test import override_settings

import devstack
from devstack import stop_process
from media_index.models import Item
from media_index.services.uploads import item_create_image
from tests import media
from tests.conftest import REPO, child_env, start_worker
from tests.factories import api_key
from tests.test_tasks import wait_until_settled

# The sweep settings that make a dead worker's items come back in seconds, not minutes.
FAST_SWEEP = {"SWEEP_INTERVAL_SECONDS": "1", "INDEXING_STALE_SECONDS": "3", "PENDING_REQUEUE_SECONDS": "3"}


def _distinct_pictures(count: int) -> list[bytes]:
    # Different pixels, so each is its own item (uploads are de-duplicated by content).
    colours = [f"#{(index * 2654435761) % 0xFFFFFF:06x}" for index in range(count)]
    return [media.image_bytes(colour, size=(640, 480)) for colour in colours]


def _kill_a_worker_mid_batch(owner, tmp_path: Path, **worker_env: str) -> tuple[list[int], list[int]]:  # noqa: ANN001
    """Queue 96 pictures in batches of 8, SIGKILL the worker (and its pool child) while it
    holds a batch; returns (all ids, the ids it was holding)."""
    from searchsite.celery import app

    app.control.purge()
    first, _ = start_worker(tmp_path / "first.log", env=child_env(INDEXING_BATCH_SIZE="8", **worker_env))
    ids: list[int] = []
    try:
        # (the test process enqueues: it splits ids like the worker's settings say)
        with override_settings(INDEXING_BATCH_SIZE=8):
            for data in _distinct_pictures(96):
                item, created = item_create_image(owner=owner, data=data, filename="p.png", visibility="public")
                assert created
                ids.append(item.pk)

        # When the worker is killed with SIGKILL (it and its pool child) while it holds a batch
        deadline = time.monotonic() + 120
        while not Item.objects.filter(pk__in=ids, status=Item.Status.INDEXING).exists():
            assert time.monotonic() < deadline, "the worker never started a batch"
            time.sleep(0.005)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        stop_process(first)
    statuses = dict(Item.objects.filter(pk__in=ids).values_list("pk", "status"))
    interrupted = [pk for pk, status in statuses.items() if status == Item.Status.INDEXING]
    unfinished = [pk for pk, status in statuses.items() if status != Item.Status.READY]
    assert interrupted, "the kill did not land in the middle of a batch"
    assert unfinished
    return ids, interrupted


@pytest.mark.slow
def test_a_worker_killed_mid_batch_loses_nothing(transactional_db, django_user_model, tmp_path: Path) -> None:
    owner = django_user_model.objects.create_user("killed-worker-owner", password="pw")
    # Given a worker killed while it holds a batch
    ids, interrupted = _kill_a_worker_mid_batch(owner, tmp_path)

    # And another worker (with the periodic sweep) comes up
    second, _ = start_worker(tmp_path / "second.log", "--beat", "--schedule", str(tmp_path / "beat-schedule"),
                             env=child_env(**FAST_SWEEP))  # fmt: skip
    try:
        items = wait_until_settled(ids, timeout=180)
    finally:
        stop_process(second)

    # Then every item ends ready, including those the dead worker was holding
    assert {item.status for item in items.values()} == {Item.Status.READY}, {
        pk: (item.status, item.failure_reason) for pk, item in items.items() if item.status != Item.Status.READY
    }
    for pk in interrupted:
        assert items[pk].vectors.count() == 1


@pytest.mark.slow
def test_the_broker_redelivers_a_dead_workers_batch_and_it_is_finished(
    transactional_db, django_user_model, tmp_path: Path
) -> None:
    """Without the periodic sweep: what finishes the dead worker's batch is Redis handing its
    unacknowledged message to another worker after the visibility timeout (5 s here, 40
    minutes as configured) and the task reclaiming its items, stale by then."""
    owner = django_user_model.objects.create_user("redelivery-owner", password="pw")
    redelivery = {"CELERY_VISIBILITY_TIMEOUT": "5", "INDEXING_STALE_SECONDS": "3"}
    _ids, interrupted = _kill_a_worker_mid_batch(owner, tmp_path, **redelivery)

    # No --beat: nothing runs the sweep
    second, _ = start_worker(tmp_path / "second.log", env=child_env(**redelivery))
    try:
        items = wait_until_settled(interrupted, timeout=180)
    finally:
        stop_process(second)

    assert {item.status for item in items.values()} == {Item.Status.READY}, {
        pk: (item.status, item.failure_reason) for pk, item in items.items()
    }
    assert all(item.attempts == 2 for item in items.values())


def _redis_process(state: Path) -> psutil.Process:
    """The redis-server that devstack started with its data in ``state`` (it rewrites its
    command line, but it runs in its --dir)."""
    data_dir = (state / "redis").resolve()
    for process in psutil.process_iter(["name"]):
        try:
            if "redis" in (process.info["name"] or "") and Path(process.cwd()).resolve() == data_dir:
                return process
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    raise AssertionError(f"no redis-server with its data in {data_dir}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _upload(base: str, token: str, data: bytes, name: str) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    tail = f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="visibility"\r\n\r\npublic\r\n--{boundary}--\r\n'
    body = head.encode() + data + tail.encode()
    request = urllib.request.Request(
        f"{base}/api/v1/items/", data=body, method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _wait_for_log(path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        assert proc.poll() is None, f"the process exited: {path.read_text(errors='replace')[-2000:]}"
        assert time.monotonic() < deadline, f"no {text!r} in {path.name} within {timeout}s"
        time.sleep(0.2)


def _wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the web server exited"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


@pytest.mark.slow
def test_uploads_while_the_broker_is_down_are_kept_and_indexed_when_it_is_back(
    transactional_db, django_user_model, tmp_path: Path
) -> None:
    owner = django_user_model.objects.create_user("broker-owner", password="pw")
    token = api_key(owner)
    broker_state = tmp_path / "broker"
    # Given its own embedded Redis (AOF on, like `make run`), a web server and a worker with the sweep
    broker = devstack.embedded_redis(broker_state)
    broker_url = broker.__enter__()
    env = child_env(CELERY_BROKER_URL=broker_url, CELERY_BROKER_CONNECTION_TIMEOUT="1", **FAST_SWEEP)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "web.log").open("wb") as web_log:
        web = devstack.start_process([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                                     env, cwd=REPO, output=web_log)  # fmt: skip
    # (it listens on that broker, which the test process's ping does not reach: wait for its log)
    worker, _ = start_worker(tmp_path / "worker.log", "--beat", "--schedule", str(tmp_path / "beat"), env=env,
                             wait=False)  # fmt: skip
    pictures = _distinct_pictures(8)
    try:
        _wait_for_http(f"{base}/healthz", web)
        _wait_for_log(tmp_path / "worker.log", " ready.", worker)
        before = []
        for index, data in enumerate(pictures[:3]):
            status, body = _upload(base, token, data, f"before-{index}.png")
            assert status == 201, body
            before.append(body["id"])
        assert {item.status for item in wait_until_settled(before).values()} == {Item.Status.READY}

        # When the broker is killed (SIGKILL: no clean shutdown, no final save) while the
        # worker holds a batch, and more uploads arrive while it is down
        mid = []
        for index, data in enumerate(pictures[3:5]):
            status, body = _upload(base, token, data, f"mid-{index}.png")
            assert status == 201, body
            mid.append(body["id"])
        deadline = time.monotonic() + 60
        while not Item.objects.filter(pk__in=mid, status=Item.Status.INDEXING).exists():
            assert time.monotonic() < deadline, "the worker never took the batch"
            time.sleep(0.005)
        _redis_process(broker_state).kill()
        broker.__exit__(None, None, None)
        broker = None
        during = []
        for index, data in enumerate(pictures[5:]):
            status, body = _upload(base, token, data, f"during-{index}.png")
            # Then each is accepted and saved (not lost, not a 500)
            assert status == 201, body
            during.append(body["id"])
        assert set(Item.objects.filter(pk__in=during).values_list("status", flat=True)) == {Item.Status.PENDING}
        assert all(item.original and item.original.storage.exists(item.original.name)
                   for item in Item.objects.filter(pk__in=during))  # fmt: skip

        # And once the broker is back (same socket, same data), every one of them ends ready
        broker = devstack.embedded_redis(broker_state)
        assert broker.__enter__() == broker_url
        items = wait_until_settled(mid + during, timeout=120)
        assert {item.status for item in items.values()} == {Item.Status.READY}, {
            pk: item.failure_reason for pk, item in items.items()
        }
        # And the worker itself survived the outage
        assert worker.poll() is None
    finally:
        stop_process(worker)
        stop_process(web)
        if broker is not None:
            broker.__exit__(None, None, None)
