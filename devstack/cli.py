"""``python -m devstack run`` and ``python -m devstack exec``: see the package's docstring."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import devstack
from devstack.processes import BASE_DIR, STOP_GRACE_SECONDS, Children, say
from devstack.servers import services


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
    say("First start: adding the demo collection (generated pictures and notes, public)")
    try:
        say(_manage(env, "load_demo").stdout.strip())
    except subprocess.CalledProcessError as exc:
        say(f"The demo collection was not added ({(exc.stderr or exc.stdout).strip().splitlines()[-1]}). "
             "Add it later with: .venv/bin/python manage.py load_demo")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Start the whole product and block until Ctrl-C."""
    if not _port_free(args.host, args.port):
        say(f"Port {args.port} on {args.host} is in use. Stop whatever uses it, or run: PORT=8001 make run")
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
            say("Applying database migrations")
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
                say("The web server did not come up; see the messages above.")
                return 1
            _print_banner(url, admin)
            if args.dev:
                say("Development mode (make dev): DEBUG is on and runserver reloads on changes. Never expose it.")
            elif args.host in ("0.0.0.0", "::") and not env.get("DJANGO_ALLOWED_HOSTS"):
                say("Listening on all interfaces: set DJANGO_ALLOWED_HOSTS to the names clients use "
                     "(e.g. DJANGO_ALLOWED_HOSTS=photos.lan,192.168.1.20), or they get 400 Bad Request.")  # fmt: skip
            while not stop_requested:
                exited = children.first_exited()
                if exited:
                    say(f"{exited[0]} exited with code {exited[1]}; stopping everything")
                    return 1
                time.sleep(0.5)
            say("Stopping (data is kept in var/)")
            return 0
        except subprocess.CalledProcessError as exc:
            say(f"{' '.join(exc.cmd[1:])} failed:\n{exc.stdout}{exc.stderr}")
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
        say("exec needs a command after --")
        return 2
    env = dict(os.environ)
    with services(args.state, env):
        return subprocess.run(args.command, cwd=BASE_DIR, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=(devstack.__doc__ or "").split("\n\n")[0])
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
