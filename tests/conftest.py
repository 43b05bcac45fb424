"""Shared fixtures: real PostgreSQL (from ``make test``'s embedded server), real Celery workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from devstack import start_process, stop_process

REPO = Path(__file__).resolve().parent.parent
WORKER_START_TIMEOUT_SECONDS = 90


def current_database_url() -> str:
    """A URL for the database the tests use right now (pytest-django's test_ database)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = db["HOST"] or ""
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{quote(host, safe='')}/{db['NAME']}"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def child_env(**overrides: str) -> dict[str, str]:
    """Environment for a process that must see the same database as the test."""
    env = dict(os.environ)
    env.update({"DJANGO_SETTINGS_MODULE": "searchsite.settings.test", "DATABASE_URL": current_database_url()})
    env.update(overrides)
    return env


def wait_for_worker(name: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    from searchsite.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited early with code {proc.returncode}")
        replies = app.control.ping(destination=[name], timeout=0.5) or []
        if replies:
            return
    raise RuntimeError(f"worker {name} did not answer within {timeout}s")


def start_worker(
    log_path: Path, *extra_args: str, env: dict[str, str] | None = None, wait: bool = True
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a real Celery worker process (own session, so its pool children can be killed
    with it) on the test database; returns (process, node name) once it answers a ping."""
    name = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"
    with log_path.open("wb") as log:
        proc = start_process(
            [sys.executable, "-m", "celery", "-A", "searchsite", "worker", "--loglevel", "INFO",
             "--concurrency", "1", "--hostname", name, "--without-gossip", "--without-mingle", *extra_args],
            env or child_env(), cwd=REPO, output=log,
        )  # fmt: skip
    if wait:
        try:
            wait_for_worker(name, proc, WORKER_START_TIMEOUT_SECONDS)
        except RuntimeError as error:
            stop_process(proc)
            raise RuntimeError(f"{error}; log:\n{log_path.read_text(errors='replace')[-3000:]}") from error
    return proc, name


@pytest.fixture
def live_worker(transactional_db: None, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process on the test database and the test broker."""
    from searchsite.celery import app

    # Messages left by earlier tests name rows that no longer exist; start clean.
    app.control.purge()
    proc, _ = start_worker(tmp_path / "worker.log")
    try:
        yield proc
    finally:
        stop_process(proc)


@pytest.fixture
def showcase_notes(db: None) -> dict:
    """The hand-written notes of eval/notes, indexed in-process with the shipped demo model."""
    from media_index.models import Item
    from media_index.services.demo import demo_user, showcase_notes_load
    from media_index.services.indexing import items_index

    items = showcase_notes_load(owner=demo_user())
    items_index(item_ids=[item.pk for item in items])
    loaded = {item.original_name: Item.objects.get(pk=item.pk) for item in items}
    assert {item.status for item in loaded.values()} == {Item.Status.READY}
    return loaded
