"""Vector search at several collection sizes: HNSW (ef_search sweep) vs exact, filtered, FAISS.

    python manage.py bench search --sizes 10000,100000,1000000 [--ef 20,40,100,200] [--no-faiss]

For each size, in an unlogged table shaped like the product's (full-precision ``vector``
column, HNSW on ``embedding::halfvec(dim)`` with the product's m/ef_construction, an owner
column for filters), on clustered synthetic unit vectors: build time and index size;
recall@10 and p50/p95 latency of single SQL queries at each ef_search; the same for an
exact scan (on the first ``--exact-queries`` queries: a scan of 1M rows takes seconds); a
filtered query (one owner of 50, 2% of rows) with pgvector's iterative scans off,
``relaxed_order`` and ``strict_order``, LIMIT 10; the product's own query form (CANDIDATE_VECTORS
candidates with relaxed iterative scans, re-sorted on the full vectors) unfiltered and filtered,
per ``--filter-scan-tuples``, and with ``--owner-index`` through a partial index of the owner's
rows (services.owner_indexes); and, when faiss-cpu is
installed (and not ``--no-faiss``), FAISS HNSW (same M and efConstruction) and exact inner
product in process, on the same data, as the reference. Ground truth: exact NumPy search.
Writes bench/results/search.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.db import connection

from bench import RESULTS_DIR, run_suite
from bench.vectors import clustered_unit_vectors, vector_literal
from media_index.search.retrieval import CANDIDATE_VECTORS
from media_index.services.spaces import HNSW_EF_CONSTRUCTION, HNSW_M

# The graph parameters of every index this run builds (--m, --ef-construction).
GRAPH = {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION}

OWNERS = 50


def _percentiles(latencies: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(latencies, 50) * 1000), "p95_ms": float(np.percentile(latencies, 95) * 1000)}


def _top10(scores: np.ndarray) -> np.ndarray:
    """Indices of each row's ten highest scores, best first (argpartition: 1M columns)."""
    top = np.argpartition(-scores, 10, axis=1)[:, :10]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1)


def _copy_rows(data: np.ndarray, owners: np.ndarray) -> None:
    """Binary COPY with pgvector's psycopg adapter: text literals of 1M × 512 floats take minutes."""
    from pgvector.psycopg import register_vector

    # A cursor opened after registering: cursors copy the connection's adapters when made.
    register_vector(connection.connection)
    sql = "COPY bench_search (id, owner, embedding) FROM STDIN WITH (FORMAT BINARY)"
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(["int4", "int4", "vector"])
        for row_id, (vector, row_owner) in enumerate(zip(data, owners, strict=True)):
            copy.write_row((row_id, int(row_owner), vector))


def _recall(found: list[list[int]], truth: np.ndarray) -> float:
    return sum(len(set(row) & set(expected.tolist())) for row, expected in zip(found, truth, strict=True)) / truth.size


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated row counts (1000000 takes long)")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", default="20,40,100,200", help="ef_search values to sweep")
    parser.add_argument("--exact-queries", type=int, default=50, help="queries timed for the exact scans")
    parser.add_argument("--no-faiss", action="store_true", help="skip the FAISS reference (its 1M build is long)")
    parser.add_argument("--binary", default="",
                        help="also measure binary quantisation: HNSW on binary_quantize(embedding)::bit(dim), "
                             "these comma-separated candidate counts re-ranked on the full vectors (e.g. 40,100,400)")  # fmt: skip
    parser.add_argument(
        "--maintenance-work-mem",
        default="4GB",
        help="for the index build: the graph must fit in it, or the build slows down many times",
    )
    parser.add_argument("--m", type=int, default=HNSW_M, help="HNSW m of the indexes built (the product's default)")
    parser.add_argument("--ef-construction", type=int, default=HNSW_EF_CONSTRUCTION, help="HNSW ef_construction")
    parser.add_argument("--filter-ef", type=int, default=200,
                        help="ef_search of the filtered search as the product runs it")
    parser.add_argument("--filter-scan-tuples", default="20000",
                        help="hnsw.max_scan_tuples values for the filtered search (pgvector's default 20000)")
    parser.add_argument("--owner-index", action="store_true",
                        help="also measure the filtered search through a partial index of the owner's rows")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "search.json")


def run(options: dict[str, Any]) -> None:
    GRAPH.update(m=options["m"], ef_construction=options["ef_construction"])
    sizes = [int(size) for size in options["sizes"].split(",")]
    efs = [int(ef) for ef in options["ef"].split(",")]
    result: dict[str, Any] = {
        "command": f"python manage.py bench search --sizes {options['sizes']} --dim {options['dim']} "
                   f"--queries {options['queries']} --ef {options['ef']} --exact-queries {options['exact_queries']} "
                   f"--maintenance-work-mem {options['maintenance_work_mem']}"
                   + (" --no-faiss" if options["no_faiss"] else "")
                   + f" --m {options['m']} --ef-construction {options['ef_construction']}"
                   + (f" --binary {options['binary']}" if options["binary"] else "")
                   + f" --filter-ef {options['filter_ef']} --filter-scan-tuples {options['filter_scan_tuples']}"
                   + (" --owner-index" if options["owner_index"] else ""),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "hnsw": dict(GRAPH),
        "sizes": {},
    }  # fmt: skip
    for size in sizes:
        result["sizes"][str(size)] = _measure(
            size,
            options["dim"],
            options["queries"],
            efs,
            options["exact_queries"],
            options["maintenance_work_mem"],
            options["no_faiss"],
            [int(count) for count in options["binary"].split(",") if count.strip()],
            {"ef": options["filter_ef"], "owner_index": options["owner_index"],
             "scan_tuples": [int(value) for value in options["filter_scan_tuples"].split(",") if value.strip()]},
        )  # fmt: skip
        _print(size, result["sizes"][str(size)])
    options["out"].parent.mkdir(parents=True, exist_ok=True)
    options["out"].write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {options['out']}")


def _measure(
    rows: int,
    dim: int,
    n_queries: int,
    efs: list[int],
    exact_queries: int,
    work_mem: str,
    skip_faiss: bool = False,
    binary_candidates: list[int] | None = None,
    filter_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    filter_options = filter_options or {"ef": 200, "scan_tuples": [20_000], "owner_index": False}
    clusters = max(rows // 200, 10)
    data = clustered_unit_vectors(rows, dim, clusters=clusters, seed=0)
    owners = np.random.default_rng(2).integers(0, OWNERS, rows)
    queries = clustered_unit_vectors(n_queries, dim, clusters=clusters, seed=0)
    queries = queries + 0.05 * np.random.default_rng(1).standard_normal(queries.shape).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    scores = queries @ data.T
    truth = _top10(scores)
    owner = 7
    scores[:, owners != owner] = -np.inf
    filtered_truth = _top10(scores)
    del scores
    literals = [vector_literal(query) for query in queries]
    out: dict[str, Any] = {"rows": rows, "dim": dim, "queries": n_queries}
    expression = f"(embedding::halfvec({dim}))"
    with connection.cursor() as cursor:
        # A regular (unlogged) table, not a temporary one: temporary tables live in the
        # session's small local buffers, which would make every probe slower than the
        # product's shared-buffer tables.
        cursor.execute("DROP TABLE IF EXISTS bench_search")
        cursor.execute(f"CREATE UNLOGGED TABLE bench_search (id int PRIMARY KEY, owner int, embedding vector({dim}))")
        # Vectors inline in the row, as the product stores them (migration 0008), not in TOAST.
        cursor.execute("ALTER TABLE bench_search ALTER COLUMN embedding SET STORAGE MAIN")
        started = time.perf_counter()
        _copy_rows(data, owners)
        out["load_seconds"] = time.perf_counter() - started
        cursor.execute("ANALYZE bench_search")
        cursor.execute(f"SET maintenance_work_mem = '{work_mem}'")
        out["maintenance_work_mem"] = work_mem
        started = time.perf_counter()
        cursor.execute(f"CREATE INDEX bench_search_idx ON bench_search USING hnsw ({expression} halfvec_cosine_ops) "
                       f"WITH (m = {GRAPH['m']}, ef_construction = {GRAPH['ef_construction']})")  # fmt: skip
        out["build_seconds"] = time.perf_counter() - started
        cursor.execute("SELECT pg_relation_size('bench_search_idx'), pg_total_relation_size('bench_search')")
        out["index_bytes"], out["table_bytes"] = cursor.fetchone()

        def run(sql: str, setup: list[str], expected: np.ndarray, limit: int | None = None) -> dict[str, float]:
            for statement in setup:
                cursor.execute(statement)
            latencies, found = [], []
            for literal in literals[:limit]:
                started = time.perf_counter()
                cursor.execute(sql, [literal] * sql.count("%s"))
                found.append([row[0] for row in cursor.fetchall()])
                latencies.append(time.perf_counter() - started)
            return {"recall_at_10": _recall(found, expected[: len(found)]), **_percentiles(latencies),
                    "queries": len(found)}  # fmt: skip

        indexed = f"SELECT id FROM bench_search ORDER BY {expression} <=> %s::halfvec({dim}) LIMIT 10"
        out["hnsw"] = {str(ef): run(indexed, [f"SET hnsw.ef_search = {ef}"], truth) for ef in efs}
        # Ordering by the full-precision column matches no index: a sequential scan.
        out["exact"] = run(
            "SELECT id FROM bench_search ORDER BY embedding <=> %s::vector LIMIT 10", [], truth, exact_queries
        )
        filtered = (f"SELECT id FROM bench_search WHERE owner = {owner} "
                    f"ORDER BY {expression} <=> %s::halfvec({dim}) LIMIT 10")  # fmt: skip
        out["filtered"] = {
            mode: run(filtered, ["SET hnsw.ef_search = 100", f"SET hnsw.iterative_scan = {mode}"], filtered_truth)
            for mode in ("off", "relaxed_order", "strict_order")
        }
        out["filtered"]["exact"] = run(
            f"SELECT id FROM bench_search WHERE owner = {owner} ORDER BY embedding <=> %s::vector LIMIT 10",
            [], filtered_truth, exact_queries,
        )  # fmt: skip
        out["filtered"]["product"] = _product_filtered(cursor, run, dim, owner, filtered_truth, filter_options,
                                                     truth)  # fmt: skip
        cursor.execute("RESET hnsw.iterative_scan")
        cursor.execute("RESET hnsw.max_scan_tuples")
        if binary_candidates:
            out["binary"] = _binary(cursor, run, dim, binary_candidates, truth)
        cursor.execute("DROP TABLE bench_search")
    out["faiss"] = {"skipped": "--no-faiss"} if skip_faiss else _faiss(data, queries, truth, efs)
    return out


def _binary(cursor: Any, run: Any, dim: int, candidates: list[int], truth: np.ndarray) -> dict[str, Any]:
    """pgvector's binary quantisation on the same table: an HNSW index over one bit a
    dimension (Hamming distance), its ``candidates`` nearest re-ranked by exact cosine on
    the full vectors, as pgvector's documentation suggests."""
    out: dict[str, Any] = {}
    cursor.execute("DROP INDEX bench_search_idx")  # so the halfvec index cannot answer
    started = time.perf_counter()
    cursor.execute(f"CREATE INDEX bench_search_bq ON bench_search USING hnsw "
                   f"((binary_quantize(embedding)::bit({dim})) bit_hamming_ops) "
                   f"WITH (m = {GRAPH['m']}, ef_construction = {GRAPH['ef_construction']})")  # fmt: skip
    out["build_seconds"] = time.perf_counter() - started
    cursor.execute("SELECT pg_relation_size('bench_search_bq')")
    out["index_bytes"] = cursor.fetchone()[0]
    for count in candidates:
        sql = (f"SELECT id FROM (SELECT id, embedding FROM bench_search "
               f"ORDER BY binary_quantize(embedding)::bit({dim}) <~> binary_quantize(%s::vector({dim})) "
               f"LIMIT {count}) AS candidates ORDER BY embedding <=> %s::vector({dim}) LIMIT 10")  # fmt: skip
        out[str(count)] = run(sql, [f"SET hnsw.ef_search = {max(count, 40)}"], truth)
    return out


def _product_filtered(
    cursor: Any, run: Any, dim: int, owner: int, truth: np.ndarray, options: dict[str, Any],
    unfiltered_truth: np.ndarray,
) -> dict[str, Any]:
    """The owner filter as the product runs it (search.retrieval.rank): relaxed iterative
    scans at the search's ef_search, CANDIDATE_VECTORS candidates re-sorted on the full
    vectors (relaxed order returns them only roughly sorted), for each hnsw.max_scan_tuples;
    then, with ``owner_index``, the same through a partial HNSW index of that owner's rows
    (what services.spaces builds for an owner holding a large share of a big space)."""
    expression = f"(embedding::halfvec({dim}))"

    def as_searched(where: str) -> str:
        candidates = (f"SELECT id, embedding FROM bench_search {where} "
                      f"ORDER BY {expression} <=> %s::halfvec({dim}) LIMIT {CANDIDATE_VECTORS}")  # fmt: skip
        return f"SELECT id FROM ({candidates}) AS candidates ORDER BY embedding <=> %s::vector LIMIT 10"

    sql = as_searched(f"WHERE owner = {owner}")
    setup = [f"SET hnsw.ef_search = {options['ef']}", "SET hnsw.iterative_scan = relaxed_order"]
    out: dict[str, Any] = {"ef_search": options["ef"], "candidates": CANDIDATE_VECTORS, "max_scan_tuples": {}}
    # The same query form without the filter: what the filtered timings compare with.
    out["unfiltered"] = run(as_searched(""), setup, unfiltered_truth)
    for tuples in options["scan_tuples"]:
        out["max_scan_tuples"][str(tuples)] = run(sql, [*setup, f"SET hnsw.max_scan_tuples = {tuples}"], truth)
    if options["owner_index"]:
        started = time.perf_counter()
        cursor.execute(f"CREATE INDEX bench_search_owner ON bench_search USING hnsw ({expression} halfvec_cosine_ops) "
                       f"WITH (m = {GRAPH['m']}, ef_construction = {GRAPH['ef_construction']}) "
                       f"WHERE owner = {owner}")  # fmt: skip
        build_seconds = time.perf_counter() - started
        cursor.execute("SELECT pg_relation_size('bench_search_owner')")
        index_bytes = cursor.fetchone()[0]
        cursor.execute("RESET hnsw.max_scan_tuples")
        cursor.execute("EXPLAIN " + sql, ["[" + ",".join(["0.1"] * dim) + "]"] * 2)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        out["owner_index"] = {**run(sql, setup, truth), "build_seconds": build_seconds, "index_bytes": index_bytes,
                              "uses_owner_index": "bench_search_owner" in plan}  # fmt: skip
        cursor.execute("DROP INDEX bench_search_owner")
    return out


def _faiss(data: np.ndarray, queries: np.ndarray, truth: np.ndarray, efs: list[int]) -> dict[str, Any]:
    try:
        import faiss
    except ImportError:
        return {"skipped": "faiss-cpu is not installed (pip install -r requirements-dev.txt)"}
    out: dict[str, Any] = {}
    started = time.perf_counter()
    index = faiss.IndexHNSWFlat(data.shape[1], GRAPH["m"], faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = GRAPH["ef_construction"]
    index.add(data)
    out["build_seconds"] = time.perf_counter() - started

    def run(search: Any) -> dict[str, float]:
        latencies, found = [], []
        for query in queries:
            started = time.perf_counter()
            _, ids = search(query[None, :], 10)
            latencies.append(time.perf_counter() - started)
            found.append(ids[0].tolist())
        return {"recall_at_10": _recall(found, truth), **_percentiles(latencies)}

    out["hnsw"] = {}
    for ef in efs:
        index.hnsw.efSearch = ef
        out["hnsw"][str(ef)] = run(index.search)
    flat = faiss.IndexFlatIP(data.shape[1])
    flat.add(data)
    out["exact"] = run(flat.search)
    return out


def _print(size: int, row: dict[str, Any]) -> None:
    print(f"{size:,} rows: index {row['index_bytes'] / 1e6:.0f} MB built in {row['build_seconds']:.1f}s")
    for ef, values in row["hnsw"].items():
        print(f"  SQL HNSW ef {ef:>4}: recall@10 {values['recall_at_10']:.3f}, "
                          f"p50 {values['p50_ms']:.2f} ms, p95 {values['p95_ms']:.2f} ms")  # fmt: skip
    exact = row["exact"]
    print(f"  SQL exact      : recall@10 {exact['recall_at_10']:.3f}, p50 {exact['p50_ms']:.2f} ms")
    for mode, values in row["filtered"].items():
        if mode == "product":
            continue
        print(f"  filtered {mode:<13}: recall@10 {values['recall_at_10']:.3f}, "
                          f"p50 {values['p50_ms']:.2f} ms")  # fmt: skip
    product = row["filtered"].get("product")
    if product:
        values = product["unfiltered"]
        print(f"  unfiltered as searched (ef {product['ef_search']}, {product['candidates']} re-sorted): recall@10 "
              f"{values['recall_at_10']:.3f}, p50 {values['p50_ms']:.2f} ms, p95 {values['p95_ms']:.2f} ms")  # fmt: skip
        for tuples, values in product["max_scan_tuples"].items():
            print(f"  filtered as searched (ef {product['ef_search']}, {product['candidates']} re-sorted, "
                  f"max_scan_tuples {tuples}): recall@10 {values['recall_at_10']:.3f}, "
                  f"p50 {values['p50_ms']:.2f} ms, p95 {values['p95_ms']:.2f} ms")  # fmt: skip
        owner_index = product.get("owner_index")
        if owner_index:
            print(f"  filtered through the owner's partial index ({owner_index['build_seconds']:.1f}s, "
                  f"{owner_index['index_bytes'] / 1e6:.0f} MB, used: {owner_index['uses_owner_index']}): "
                  f"recall@10 {owner_index['recall_at_10']:.3f}, p50 {owner_index['p50_ms']:.2f} ms, "
                  f"p95 {owner_index['p95_ms']:.2f} ms")  # fmt: skip
    binary = row.get("binary")
    if binary:
        print(f"  binary HNSW: index {binary['index_bytes'] / 1e6:.0f} MB built in {binary['build_seconds']:.1f}s")
        for count, values in binary.items():
            if isinstance(values, dict):
                print(f"    {count:>4} candidates re-ranked: recall@10 {values['recall_at_10']:.3f}, "
                      f"p50 {values['p50_ms']:.2f} ms, p95 {values['p95_ms']:.2f} ms")  # fmt: skip
    faiss_row = row["faiss"]
    if "skipped" in faiss_row:
        print(f"  FAISS: {faiss_row['skipped']}")
        return
    for ef, values in faiss_row["hnsw"].items():
        print(f"  FAISS HNSW ef {ef:>4}: recall@10 {values['recall_at_10']:.3f}, "
                          f"p50 {values['p50_ms']:.3f} ms")  # fmt: skip
    print(f"  FAISS exact    : p50 {faiss_row['exact']['p50_ms']:.3f} ms")


def main(argv: list[str] | None = None) -> int:
    return run_suite(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
