"""One owner's search ("mine") in a shared space, through the product's own tables and SQL.

    python manage.py bench owner-filter --items 100000 [--owners 50] [--queries 50]

Loads ``--items`` private pictures of ``--owners`` people (clustered synthetic unit vectors,
each owner ~1/owners of the rows, in a space of its own) into the product's item and vector
tables, builds the space's HNSW index (its graph chosen by size, as the product does), and
times ``search.retrieval.rank`` (the product's ranking function: its SQL, its session
settings) for one owner's "mine" searches, three ways:

- ``space graph``: the space's HNSW index, iterative scans (owner indexes off, exact scans off);
- ``as planned``: what PostgreSQL chooses by itself with neither (at this share: the item
  table's owner index and a sort of all that owner's vectors, an exact scan);
- ``owner index``: after ``services.owner_indexes`` built the owner's partial index.

recall@10 against an exact scan of the owner's vectors; p50/p95 of ``rank`` and which index
the plan used. Writes bench/results/owner-filter.json. ``--state`` keeps the loaded rows for
another run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import override_settings

from bench import RESULTS_DIR, run_suite
from bench.vectors import clustered_unit_vectors, vector_literal
from media_index.models import EmbeddingSpace
from media_index.search import retrieval
from media_index.search.explain import rank_plan
from media_index.search.types import SearchFilters
from media_index.services.owner_indexes import space_owner_indexes_sync
from media_index.services.spaces import space_index_ensure

DIM = 512


def _load(items: int, owners: int) -> tuple[EmbeddingSpace, list[Any]]:
    from pgvector.psycopg import register_vector

    users = [get_user_model().objects.get_or_create(username=f"bench-owner-{index}")[0] for index in range(owners)]
    space, _ = EmbeddingSpace.objects.get_or_create(
        backend="bench", model_name=f"owner-filter-{items}", pretrained="",
        defaults={"checkpoint_sha256": "0" * 64, "dimension": DIM, "max_tokens": 77, "is_active": False},
    )  # fmt: skip
    if space.vectors.count() == items:
        return space, users
    owner_of = np.random.default_rng(2).integers(0, owners, items)
    vectors = clustered_unit_vectors(items, DIM, clusters=max(items // 200, 10), seed=0)
    raw = connection.connection
    register_vector(raw)
    started = time.perf_counter()
    with transaction.atomic(), raw.cursor() as cursor:
        columns = ("owner_id, kind, title, note_text, original, original_name, thumbnail, content_hash, mime_type, "
                   "byte_size, visibility, status, failure_reason, attempts, created_at, updated_at")  # fmt: skip
        now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
        with cursor.copy(f"COPY media_index_item ({columns}) FROM STDIN") as copy:
            for index in range(items):
                copy.write_row((users[owner_of[index]].pk, "image", "", "", "", "", "", f"owner-filter-{items}-{index}",
                                "image/jpeg", 1, "private", "ready", "", 1, now, now))  # fmt: skip
        cursor.execute("SELECT id, owner_id FROM media_index_item WHERE content_hash LIKE %s ORDER BY id",
                       [f"owner-filter-{items}-%"])  # fmt: skip
        rows = cursor.fetchall()
        with cursor.copy("COPY media_index_vector (item_id, owner_id, space_id, chunk, embedding) "
                         "FROM STDIN WITH (FORMAT BINARY)") as copy:  # fmt: skip
            copy.set_types(["int8", "int4", "int8", "int4", "vector"])
            for (item_id, owner_id), vector in zip(rows, vectors, strict=True):
                copy.write_row((item_id, owner_id, space.pk, 0, vector))
    print(f"loaded {items:,} items in {time.perf_counter() - started:.0f}s", flush=True)
    started = time.perf_counter()
    space_index_ensure(space=space)
    print(f"space index built in {time.perf_counter() - started:.0f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE media_index_item")
        cursor.execute("ANALYZE media_index_vector")
    return space, users


def _measure(space: EmbeddingSpace, viewer: Any, queries: np.ndarray, truth: list[list[int]]) -> dict[str, Any]:
    mine = SearchFilters(scope="mine")
    # The plan of the first query, under the search's own settings (not timed).
    indexes = rank_plan(space=space, query=queries[0], viewer=viewer, filters=mine).indexes
    latencies, found = [], []
    for query in queries:
        started = time.perf_counter()
        hits = retrieval.rank(space=space, query=query, viewer=viewer, filters=mine)
        latencies.append(time.perf_counter() - started)
        found.append([hit.item_id for hit in hits[:10]])
    recall = sum(len(set(row) & set(expected)) for row, expected in zip(found, truth, strict=True)) / (10 * len(truth))
    return {"recall_at_10": recall, "p50_ms": float(np.percentile(latencies, 50) * 1000),
            "p95_ms": float(np.percentile(latencies, 95) * 1000), "indexes_in_plan": indexes}  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=50, help="each holds about 1/owners of the rows")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "owner-filter.json")


def run(options: dict[str, Any]) -> None:
    space, users = _load(options["items"], options["owners"])
    with connection.cursor() as cursor:  # the largest owner: the one index the sync below builds
        cursor.execute("SELECT owner_id FROM media_index_vector WHERE space_id = %s GROUP BY owner_id "
                       "ORDER BY count(*) DESC, owner_id LIMIT 1", [space.pk])  # fmt: skip
        viewer = get_user_model().objects.get(pk=cursor.fetchone()[0])
    rng = np.random.default_rng(1)
    queries = clustered_unit_vectors(options["queries"], DIM, clusters=max(options["items"] // 200, 10), seed=0)
    queries = queries + 0.05 * rng.standard_normal(queries.shape).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM media_index_vector WHERE space_id = %s AND owner_id = %s",
                       [space.pk, viewer.pk])  # fmt: skip
        owned = cursor.fetchone()[0]
        for query in queries:
            cursor.execute("SELECT item_id FROM media_index_vector WHERE space_id = %s AND owner_id = %s "
                           "ORDER BY embedding <=> %s::vector LIMIT 10", [space.pk, viewer.pk, vector_literal(query)])
            truth.append([row[0] for row in cursor.fetchall()])
    out: dict[str, Any] = {"items": options["items"], "owners": options["owners"], "owner_vectors": owned,
                           "queries": options["queries"], "ef_search": retrieval.ef_search_for(space)}  # fmt: skip
    # Drop what an earlier run built, so the first two rows see no owner index.
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {space.owner_index_name(viewer.pk)}")
    with override_settings(SEARCH_EXACT_MAX_ITEMS=0):
        with transaction.atomic():
            with connection.cursor() as cursor:  # no sorts: the space's graph must give the order
                cursor.execute("SET LOCAL enable_sort = off")
            out["space_graph"] = _measure(space, viewer, queries, truth)
        out["as_planned"] = _measure(space, viewer, queries, truth)
        with override_settings(SEARCH_OWNER_INDEX_MIN_VECTORS=min(owned, 5000), SEARCH_OWNER_INDEX_MAX_SHARE=0.2,
                               SEARCH_OWNER_INDEXES_MAX=1):  # fmt: skip
            started = time.perf_counter()
            report = space_owner_indexes_sync(space=space)
            out["owner_indexes_built"] = len(report.built)
            out["owner_indexes_seconds"] = time.perf_counter() - started
        out["owner_index"] = _measure(space, viewer, queries, truth)
    result = {"command": f"python manage.py bench owner-filter --items {options['items']} --owners {options['owners']} "
                         f"--queries {options['queries']}",
              "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()}, **out}  # fmt: skip
    for name in ("space_graph", "as_planned", "owner_index"):
        row = out[name]
        print(f"  {name:<12}: recall@10 {row['recall_at_10']:.3f}, p50 {row['p50_ms']:.1f} ms, "
              f"p95 {row['p95_ms']:.1f} ms, plan: {', '.join(row['indexes_in_plan'])}")  # fmt: skip
    options["out"].parent.mkdir(parents=True, exist_ok=True)
    options["out"].write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {options['out']}")


def main(argv: list[str] | None = None) -> int:
    return run_suite(__doc__, add_arguments, run, argv)
