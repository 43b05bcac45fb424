"""``python -m bench [--state DIR] <suite> [options]`` (what ``manage.py bench`` runs)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import devstack
from bench import REPO, SUITES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="manage.py bench", description="Run a benchmark suite.")
    parser.add_argument("--list", action="store_true", help="list the suites")
    parser.add_argument("--state", type=Path, default=REPO / "var" / "bench",
                        help="folder for embedded servers when DATABASE_URL is not set (database suites)")  # fmt: skip
    parser.add_argument("suite", nargs="?", choices=sorted(SUITES), help="which suite")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="passed on to the suite")
    args = parser.parse_args(argv)
    if args.list or not args.suite:
        for name, suite in SUITES.items():
            print(f"{name:<12} {suite.summary}")
        return 0
    suite = SUITES[args.suite]
    command = [sys.executable, "-m", "bench.runner", args.suite, *args.options]
    print("running: python -m bench.runner " + " ".join(command[3:]), flush=True)
    env = dict(os.environ)
    if not (suite.database and not env.get("DATABASE_URL")):
        return subprocess.run(command, cwd=REPO, env=env, check=False).returncode
    # Servers change directory at start; the folder handed to them must be absolute.
    with devstack.services(args.state.resolve(), env):
        migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
        code = subprocess.run(migrate, cwd=REPO, env=env, check=False).returncode
        return code or subprocess.run(command, cwd=REPO, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
