"""The product's own stack for the HTTP benchmarks: embedded PostgreSQL and Redis in a
folder (or the servers DATABASE_URL / CELERY_BROKER_URL name), gunicorn (the production
server) and, when asked, one Celery worker, with an API token for the admin user.

    with running_stack(state=None, web_workers=2, web_threads=8) as stack:
        requests.get(f"{stack.base}/api/v1/search/", params={"q": "puppy"}, headers=stack.headers)

The API's rate limits are raised (a benchmark is one user sending many requests, which the
product would rightly answer with 429); everything else is the product as configured.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

import devstack
from bench import REPO

STARTUP_TIMEOUT = 120.0


@dataclass
class Stack:
    base: str
    token: str
    env: dict[str, str]
    state: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update(self.headers)
        return session

    def manage(self, *args: str) -> str:
        """Run a management command against this stack; its stdout."""
        return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, check=True,
                              capture_output=True, text=True).stdout  # fmt: skip


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    with (log_dir / f"{name}.log").open("wb") as log:
        return devstack.start_process(args, env, cwd=REPO, output=log)


def start_worker(stack: Stack, name: str = "worker", env: dict[str, str] | None = None,
                 queues: str | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    """One Celery worker process (with beat, which re-sends stale work) for ``stack``;
    ``env``: settings for this worker only; ``queues``: the queues it takes (default all)."""
    process = _start(name, [
        sys.executable, "-m", "celery", "-A", "searchsite", "worker", "--loglevel", "INFO",
        "--concurrency", "1", "--beat", "--schedule", str(stack.state / f"{name}-beat-schedule"),
        *(["-Q", queues] if queues else []),
    ], {**stack.env, **(env or {})}, stack.state)  # fmt: skip
    stack.processes.append(process)
    return process


@contextmanager
def running_stack(
    *,
    state: Path | None = None,
    env: dict[str, str] | None = None,
    web_workers: int = 2,
    web_threads: int = 8,
    worker: bool = True,
    demo: bool = False,
    prepare: Callable[[dict[str, str]], None] | None = None,
) -> Iterator[Stack]:
    """Start the stack; ``prepare(env)`` runs after the migrations, before the web server.

    ``state`` None: a temporary folder, removed afterwards. ``env``: settings for this run
    (e.g. another model), on top of the environment.
    """
    folder = state or Path(tempfile.mkdtemp(prefix="searchsite-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    run_env = dict(os.environ)
    run_env.setdefault("DJANGO_SETTINGS_MODULE", "searchsite.settings.local")
    run_env.update({
        "DJANGO_DEBUG": "0",
        "MEDIA_ROOT": str(folder / "media"),
        "API_SEARCH_RATE_USER": "1000000/min", "API_SEARCH_RATE_ANON": "1000000/min",
        "API_UPLOAD_RATE": "1000000/hour", "API_TOKEN_RATE": "1000/min",
    })  # fmt: skip
    run_env.update(env or {})
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with devstack.services(folder, run_env):
            subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=REPO, env=run_env, check=True,
                           capture_output=True)  # fmt: skip
            admin = json.loads(subprocess.run(
                [sys.executable, "manage.py", "ensure_admin", "--json"], cwd=REPO, env=run_env, check=True,
                capture_output=True, text=True,
            ).stdout)  # fmt: skip
            if "password" not in admin:
                # A --state folder from an earlier run: the admin exists; give it a fresh password.
                admin["password"] = secrets.token_urlsafe(16)
                subprocess.run([sys.executable, "manage.py", "shell", "-c",
                                "import os; from django.contrib.auth import get_user_model; "
                                "user = get_user_model().objects.get(username=os.environ['BENCH_ADMIN']); "
                                "user.set_password(os.environ['BENCH_PASSWORD']); user.save()"],
                               cwd=REPO, check=True, capture_output=True,
                               env={**run_env, "BENCH_ADMIN": admin["username"], "BENCH_PASSWORD": admin["password"]})  # fmt: skip
            if demo:
                print("loading the demo collection (indexed in-process)...", flush=True)
                subprocess.run([sys.executable, "manage.py", "load_demo", "--sync"], cwd=REPO, env=run_env,
                               check=True, capture_output=True)  # fmt: skip
            if prepare is not None:
                prepare(run_env)
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            processes.append(_start("web", [
                sys.executable, "-m", "gunicorn", "searchsite.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--workers", str(web_workers), "--threads", str(web_threads), "--timeout", "120",
            ], run_env, folder))  # fmt: skip
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                try:
                    # Not /healthz: it also wants a worker, which may start only later.
                    if requests.get(f"{base}/api/v1/spaces/", timeout=5).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline or any(proc.poll() is not None for proc in processes):
                    raise RuntimeError(f"the web server did not come up; logs in {folder}")
                time.sleep(0.5)
            token = requests.post(
                f"{base}/api/v1/auth/token/",
                timeout=30,
                data={"username": admin["username"], "password": admin["password"], "name": "benchmark"},
            ).json()["token"]
            stack = Stack(base, token, run_env, folder, processes)
            if worker:
                start_worker(stack)
            yield stack
    finally:
        for proc in processes:
            devstack.stop_process(proc, proc.args[2] if len(proc.args) > 2 else "child")
        if state is None:
            shutil.rmtree(folder, ignore_errors=True)


def wait_ready(stack: Stack, ids: list[int], timeout: float) -> tuple[dict[str, int], float]:
    """Poll the items' statuses through the API until all are ready (or ``timeout``)."""
    session = stack.session()
    started = time.monotonic()
    statuses: dict[str, int] = {}
    while time.monotonic() - started < timeout:
        counts: dict[str, int] = {}
        for item_id in ids:
            response = session.get(f"{stack.base}/api/v1/items/{item_id}/", timeout=30)
            status = response.json().get("status", f"HTTP {response.status_code}")
            counts[status] = counts.get(status, 0) + 1
        statuses = counts
        if statuses.get("ready", 0) == len(ids):
            break
        time.sleep(1)
    return statuses, time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
