"""One entry point for every benchmark suite; docs/BENCHMARKS.md quotes their results.

    python manage.py bench <suite> [the suite's options]
    python manage.py bench --list
    python manage.py bench search --sizes 10000,100000      # e.g.; --help after a suite: its options

Suites (results in bench/results/):

=============  ==========================================================================
model          images/s and texts/s, one at a time vs batched; torch vs ONNX Runtime fp32 /
               int8, with the demo model's recall@5 (``bench_embedding``)
ingest         API upload → "ready" through the real broker and worker vs the model's raw
               batched speed (``bench/ingest.py``, its own stack)
search         HNSW (ef_search sweep) vs exact at 10k/100k/1M rows, filtered, FAISS (``bench_search``)
vectors        ``vector`` vs ``halfvec`` indexes: size, build time, recall (``bench_vectors``)
search-http    the search API's latency at 100k items, split into query encoder and SQL
               (``bench/search_http.py``, its own stack)
memory         resident size of a web process and a worker with the model (``bench_memory``)
load           concurrent searches while uploads are indexed (``bench/load_test.py``)
=============  ==========================================================================

Suites that need PostgreSQL (search, vectors) run against DATABASE_URL when it is set,
otherwise against embedded servers in ``--state`` (var/bench), migrated first. The stack
suites start their own servers. Each suite runs in its own process, so one suite's model
or memory never counts in another's figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


@dataclass(frozen=True)
class Suite:
    summary: str
    command: str = ""  # a management command
    script: str = ""  # or a script under bench/ that starts its own stack
    database: bool = False


SUITES: dict[str, Suite] = {
    "model": Suite("embedding speed per runtime, batched vs single, quality", command="bench_embedding"),
    "ingest": Suite("upload to ready through broker and worker vs raw model speed", script="bench/ingest.py"),
    "search": Suite("HNSW vs exact vs FAISS at several sizes, filters", command="bench_search", database=True),
    "vectors": Suite("vector vs halfvec index", command="bench_vectors", database=True),
    "search-http": Suite("search API latency at 100k items: encoder vs SQL", script="bench/search_http.py"),
    "memory": Suite("resident size of web and worker processes", command="bench_memory"),
    "load": Suite("concurrent searches while uploads are indexed", script="bench/load_test.py"),
}


class Command(BaseCommand):
    help = "Run a benchmark suite: python manage.py bench <suite> [options]; --list shows the suites."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--list", action="store_true", help="list the suites")
        parser.add_argument("--state", type=Path, default=Path(settings.BASE_DIR) / "var" / "bench",
                            help="folder for embedded servers when DATABASE_URL is not set (database suites)")
        parser.add_argument("suite", nargs="?", choices=sorted(SUITES), help="which suite")
        parser.add_argument("options", nargs=argparse.REMAINDER, help="passed on to the suite")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"] or not options["suite"]:
            for name, suite in SUITES.items():
                self.stdout.write(f"{name:<12} {suite.summary}")
            return
        suite = SUITES[options["suite"]]
        base = Path(settings.BASE_DIR)
        if suite.script:
            argv = [sys.executable, str(base / suite.script), *options["options"]]
        else:
            argv = [sys.executable, str(base / "manage.py"), suite.command, *options["options"]]
        self.stdout.write("running: " + " ".join(argv[1:]))
        env = dict(os.environ)
        if suite.database and not env.get("DATABASE_URL"):
            code = self._with_embedded_database(argv, env, options["state"])
        else:
            code = subprocess.run(argv, cwd=base, env=env).returncode
        if code:
            raise CommandError(f"the {options['suite']} suite exited with status {code}")

    def _with_embedded_database(self, argv: list[str], env: dict[str, str], state: Path) -> int:
        sys.path.insert(0, str(settings.BASE_DIR))
        import devstack

        with devstack.services(state, env):
            migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                                     cwd=settings.BASE_DIR, env=env)  # fmt: skip
            if migrate.returncode:
                return migrate.returncode
            return subprocess.run(argv, cwd=settings.BASE_DIR, env=env).returncode
