"""``vector`` vs ``halfvec`` HNSW indexes on the same data: size, build time, recall@10, latency.

    python manage.py bench vectors [--rows 20000] [--dim 512] [--queries 200]

Runs in a temporary table (the product's data is not touched) on clustered
synthetic unit vectors, which resemble real embeddings more than uniform noise
(real ones crowd around topics). Writes bench/results/vectors.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from django.db import connection

from bench import RESULTS_DIR, run_suite

EF_SEARCH = (40, 100)


def clustered_unit_vectors(rows: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim), dtype=np.float32)
    assignment = rng.integers(0, clusters, rows)
    data = np.empty((rows, dim), dtype=np.float32)
    # In float32 chunks: 1M × 512 in float64 with temporaries would need ~12 GB.
    for start in range(0, rows, 65_536):
        chunk = centres[assignment[start : start + 65_536]]
        chunk += 0.6 * rng.standard_normal(chunk.shape, dtype=np.float32)
        data[start : start + 65_536] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return data


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{value:.7f}" for value in vector) + "]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "vectors.json")


def run(options: dict[str, Any]) -> None:
    rows, dim, n_queries = options["rows"], options["dim"], options["queries"]
    data = clustered_unit_vectors(rows, dim, clusters=max(rows // 200, 10), seed=0)
    queries = clustered_unit_vectors(n_queries, dim, clusters=max(rows // 200, 10), seed=0)[:n_queries]
    queries = queries + 0.05 * np.random.default_rng(1).standard_normal(queries.shape).astype(np.float32)
    # Exact top-10 by cosine, computed in NumPy: the ground truth for both indexes.
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    result: dict[str, Any] = {"rows": rows, "dim": dim, "queries": n_queries, "variants": {}}
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_vec (id int PRIMARY KEY, embedding vector({dim}))")
        with cursor.copy("COPY bench_vec (id, embedding) FROM STDIN") as copy:
            for row_id, vector in enumerate(data):
                copy.write_row((row_id, vector_literal(vector)))
        cursor.execute("ANALYZE bench_vec")
        for name, expression, opclass in (
            ("vector", "embedding", "vector_cosine_ops"),
            ("halfvec", f"(embedding::halfvec({dim}))", "halfvec_cosine_ops"),
        ):
            started = time.perf_counter()
            cursor.execute(f"CREATE INDEX bench_idx ON bench_vec USING hnsw ({expression} {opclass})")
            build_s = time.perf_counter() - started
            cursor.execute("SELECT pg_relation_size('bench_idx')")
            size = cursor.fetchone()[0]
            variant: dict[str, Any] = {"build_seconds": build_s, "index_bytes": size}
            cast = "::vector" if name == "vector" else f"::halfvec({dim})"
            for ef in EF_SEARCH:
                cursor.execute(f"SET hnsw.ef_search = {ef}")
                latencies, hits = [], 0
                for query, expected in zip(queries, truth, strict=True):
                    started = time.perf_counter()
                    cursor.execute(
                        f"SELECT id FROM bench_vec ORDER BY {expression} <=> %s{cast} LIMIT 10", [vector_literal(query)]
                    )
                    found = [row[0] for row in cursor.fetchall()]
                    latencies.append(time.perf_counter() - started)
                    hits += len(set(found) & set(expected.tolist()))
                variant[f"ef{ef}"] = {
                    "recall_at_10": hits / (10 * n_queries),
                    "p50_ms": float(np.percentile(latencies, 50) * 1000),
                    "p95_ms": float(np.percentile(latencies, 95) * 1000),
                }
            cursor.execute("DROP INDEX bench_idx")
            result["variants"][name] = variant
        cursor.execute("DROP TABLE bench_vec")
    options["out"].parent.mkdir(parents=True, exist_ok=True)
    options["out"].write_text(json.dumps(result, indent=2) + "\n")
    for name, variant in result["variants"].items():
        recalls = ", ".join(
            f"ef {ef}: recall@10 {variant[f'ef{ef}']['recall_at_10']:.3f}, p50 {variant[f'ef{ef}']['p50_ms']:.2f} ms"
            for ef in EF_SEARCH
        )
        print(f"{name:8s} index {variant['index_bytes'] / 1e6:.1f} MB, "
                          f"built in {variant['build_seconds']:.1f}s; {recalls}")  # fmt: skip
    print(f"written to {options['out']}")


def main(argv: list[str] | None = None) -> int:
    return run_suite(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
