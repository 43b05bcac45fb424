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


@pytest.fixture
def live_worker(transactional_db: None, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process on the test database and the test broker."""
    name = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "searchsite", "worker", "--loglevel", "INFO",
         "--concurrency", "1", "--hostname", name, "--without-gossip", "--without-mingle"],
        cwd=REPO, env=child_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    from searchsite.celery import app

    # Messages left by earlier tests name rows that no longer exist; start clean.
    app.control.purge()
    try:
        wait_for_worker(name, proc, WORKER_START_TIMEOUT_SECONDS)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
