"""The benchmark suites; docs/BENCHMARKS.md quotes their results.

    python manage.py bench --list
    python manage.py bench <suite> [the suite's options]     # --help after a suite: its options

=============  ==========================================================================
model          images/s and texts/s, one at a time vs batched; torch vs ONNX Runtime fp32 /
               int8, with the demo model's recall@5 (``bench/model.py``)
ingest         API upload → "ready" through the real broker and worker vs the model's raw
               batched speed (``bench/ingest.py``, its own stack)
search         HNSW (ef_search sweep) vs exact at 10k/100k/1M rows, filtered, FAISS (``bench/search.py``)
owner-filter   one owner's "mine" search at 2 % of a space, through the product's tables and
               ``rank``: the space's graph vs the planner's own choice vs the owner's
               partial index (``bench/owner_filter.py``)
vectors        ``vector`` vs ``halfvec`` indexes: size, build time, recall (``bench/vectors.py``)
search-http    the search API's latency at 100k items, split into query encoder and SQL
               (``bench/search_http.py``, its own stack)
memory         resident size of a web process and a worker with the model (``bench/memory.py``)
load           concurrent searches while uploads are indexed (``bench/load.py``, its own stack)
=============  ==========================================================================

Each suite is a module here with ``main(argv) -> exit status``, run in a process of its own
(so one suite's model or memory never counts in another's figures) by ``bench/runner.py``,
which sets Django up first for the suites that use the ORM. Suites that need PostgreSQL
(search, vectors) run against DATABASE_URL when it is set, otherwise against embedded
servers (``devstack``) in ``--state`` (var/bench), migrated first. The stack suites
(``bench/stack.py``) start their own servers. Results go to ``bench/results/``.

This package is tooling, outside the runtime app: nothing under ``media_index`` or
``searchsite`` imports it (``manage.py bench`` only starts ``python -m bench``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"


@dataclass(frozen=True)
class Suite:
    module: str  # under bench/
    summary: str
    django: bool = False  # Django set up before the module is imported (the suite uses the ORM or settings)
    database: bool = False  # needs PostgreSQL: embedded servers when DATABASE_URL is not set


SUITES: dict[str, Suite] = {
    "model": Suite("model", "embedding speed per runtime, batched vs single, quality", django=True),
    "ingest": Suite("ingest", "upload to ready through broker and worker vs raw model speed"),
    "search": Suite("search", "HNSW vs exact vs FAISS at several sizes, filters", django=True, database=True),
    "owner-filter": Suite("owner_filter", "one owner's search in a shared space: graph vs plan vs owner index",
                          django=True, database=True),
    "vectors": Suite("vectors", "vector vs halfvec index", django=True, database=True),
    "search-http": Suite("search_http", "search API latency at 100k items: encoder vs SQL"),
    "memory": Suite("memory", "resident size of web and worker processes"),
    "load": Suite("load", "concurrent searches while uploads are indexed"),
}


def setup_django() -> None:
    """Configure Django (the local settings unless DJANGO_SETTINGS_MODULE names others);
    nothing when it already is (a test calling a suite's ``main``)."""
    import django
    from django.apps import apps

    if not apps.ready:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "searchsite.settings.local")
        django.setup()


def run_suite(
    doc: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[dict[str, Any]], None],
    argv: list[str] | None,
) -> int:
    """A suite's ``main``: parse ``argv`` with the suite's options, run it, exit status 0."""
    name = next((key for key, suite in SUITES.items() if f"bench.{suite.module}" == run.__module__), run.__module__)
    parser = argparse.ArgumentParser(prog=f"manage.py bench {name}", description=(doc or "").split("\n\n")[0])
    add_arguments(parser)
    run(vars(parser.parse_args(sys.argv[1:] if argv is None else argv)))
    return 0
