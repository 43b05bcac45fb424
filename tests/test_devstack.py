"""``make run``'s launcher: the whole embedded stack comes up, stops cleanly, keeps its data."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO

STARTUP_TIMEOUT_SECONDS = 180
HEALTHY_TIMEOUT_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Launcher:
    """``python -m devstack run`` in the background, its output collected."""

    def __init__(self, state: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
        env.pop("DJANGO_SETTINGS_MODULE", None)  # the launcher's children use the local settings
        env["MEDIA_ROOT"] = str(state / "media")
        env["HEALTH_TOKEN"] = HEALTH_TOKEN
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run", "--port", str(port), "--state", str(state)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"launcher never printed {text!r}; output:\n{self.output[-5000:]}")
            time.sleep(0.2)

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(60)


HEALTH_TOKEN = "devstack-test-health-token"


def _health(url: str, token: str = HEALTH_TOKEN) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"X-Health-Token": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _wait_healthy(url: str) -> dict:
    deadline = time.monotonic() + HEALTHY_TIMEOUT_SECONDS
    status, body = 0, {}
    while time.monotonic() < deadline:
        status, body = _health(url)
        if status == 200:
            return body
        time.sleep(1)
    raise AssertionError(f"/healthz stayed {status}: {body}")


def _postgres_processes(pgdata: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(pgdata) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def _hostile_requests(base: str) -> dict[str, tuple[int, str]]:
    """What a stranger on the network might send to ``make run``; (status, body) of each."""
    requests = {
        "far dates": urllib.request.Request(f"{base}/?q=dog&date_to=9999-12-31"),
        "bad dates": urllib.request.Request(f"{base}/api/v1/search/?q=dog&date_from=2026-13-45"),
        "unknown page": urllib.request.Request(f"{base}/no/such/page/"),
        "unknown API path": urllib.request.Request(f"{base}/api/v1/nothing/"),
        "static traversal": urllib.request.Request(f"{base}/static/%2e%2e/manage.py"),
        "nested JSON": urllib.request.Request(
            f"{base}/api/v1/auth/token/", method="POST", headers={"Content-Type": "application/json"},
            data=('{"username": ' + "[" * 1000 + "]" * 1000 + ', "password": "x"}').encode()),
        "unknown host": urllib.request.Request(f"{base}/", headers={"Host": "evil.example.org"}),
    }  # fmt: skip
    answers = {}
    for name, request in requests.items():
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answers[name] = (response.status, response.read().decode(errors="replace"))
        except urllib.error.HTTPError as error:
            answers[name] = (error.code, error.read().decode(errors="replace"))
    return answers


@pytest.mark.slow
def test_run_starts_everything_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    state = tmp_path / "state"
    port = _free_port()

    first = Launcher(state, port)
    try:
        first.wait_for("Search page:", STARTUP_TIMEOUT_SECONDS)
        body = _wait_healthy(f"http://127.0.0.1:{port}/healthz")
        anonymous = _health(f"http://127.0.0.1:{port}/healthz", token="")[1]
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        hostile = _hostile_requests(f"http://127.0.0.1:{port}")
        children = first.descendants()
        cmdlines = " | ".join(" ".join(c.cmdline()) for c in children)
    finally:
        code = first.stop()

    assert code == 0, first.output[-3000:]
    assert page.status == 200
    assert body["checks"]["worker"]["count"] == 1
    # Without the token: the status, not the worker names, versions or model path.
    assert anonymous == {"status": "ok", "checks": {name: {"ok": True} for name in body["checks"]}}
    assert "password:" in first.output
    assert f"http://localhost:{port}/" in first.output
    assert "celery" in cmdlines and "gunicorn" in cmdlines and "redis-server" in cmdlines
    assert "runserver" not in cmdlines
    for name, (status, body) in hostile.items():
        assert 400 <= status < 500 or (name == "far dates" and status == 200), (name, status, body[:300])
        # Never a debug page: no traceback, no settings, no environment, no list of routes.
        for leak in ("Traceback", "DATABASE_URL", "SECRET_KEY", "URLconf", "settings.DEBUG", "runserver"):
            assert leak not in body, (name, leak)
    psutil.wait_procs(children, timeout=10)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert not _postgres_processes(state / "pgdata")

    second = Launcher(state, port)
    try:
        second.wait_for("Search page:", STARTUP_TIMEOUT_SECONDS)
    finally:
        assert second.stop() == 0

    # The admin made by the first start is still there: the database kept its data.
    assert "Log in as 'admin' with the password shown on the first start" in second.output
    assert "password:" not in second.output.split("Search page:")[1]
