"""Search through the HTTP API on a large collection: latency, and where it goes.

    .venv/bin/python manage.py bench search-http                      # 100k notes, ViT-B-32 shapes
    .venv/bin/python manage.py bench search-http --items 2000 --queries 10 --model demo   # a quick look

It starts the product's stack (``bench/stack.py``: embedded PostgreSQL, gunicorn with one
process and one thread, so requests do not queue behind each other), fills the active
space with ``--items`` synthetic notes straight through SQL (clustered unit vectors, as in
``manage.py bench search``; words drawn from the demo concepts' English and Chinese names and a
filler vocabulary, indexed for BM25 like any note) and sends text queries one at a time:

- distinct queries (the first time each is seen: the query encoder runs), then the same
  queries again (answered from the web process's query-vector cache: no encoder);
- in ``dense`` and ``hybrid`` mode, each with its own half of the queries so the first
  pass of each is uncached.

Each response's ``Server-Timing`` header (``media_index.timing``) splits the server's
time into the query encoder (``embed``), the vector search SQL (``dense``), BM25
(``lexical``) and the rest (Django, serialisation). ``--model vit-b-32-random`` (default)
uses ViT-B-32 with seeded random weights, loaded through the normal checkpoint path: the
real model's encoder cost with meaningless vectors (no quality is measured here); ``demo``
uses the shipped demo model. Results: ``--out`` (bench/results/search-http.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import requests

from bench import REPO, RESULTS_DIR
from bench.stack import machine, percentile, running_stack
from bench.weights import random_vit_b_32_checkpoint

FILLER_WORDS = 3000
WORDS_PER_NOTE = (8, 24)


def _vocabulary(rng: random.Random) -> list[str]:
    from media_index.synthetic.concepts import CONCEPTS

    words = [name for concept in CONCEPTS for name in (*concept.en, *concept.zh)]
    letters = "abcdefghijklmnopqrstuvwxyz"
    words += ["".join(rng.choice(letters) for _ in range(rng.randrange(4, 10))) for _ in range(FILLER_WORDS)]
    return words


def queries(count: int) -> list[str]:
    """Distinct text queries: the evaluation sets' queries, then templated concept names."""
    from media_index.synthetic.concepts import CONCEPTS

    found: list[str] = []
    for name in ("demo-queries.jsonl", "notes-queries.jsonl"):
        for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                found.append(json.loads(line)["query"])
    for template in ("a photo of {}", "{} in the park", "我的{}", "an old {}", "{}的照片"):
        for concept in CONCEPTS:
            found.append(template.format(concept.zh[0] if "的" in template or "我" in template else concept.en[0]))
    unique = list(dict.fromkeys(found))
    if count > len(unique):
        raise SystemExit(f"--queries {count}: only {len(unique)} distinct queries are available")
    return random.Random(3).sample(unique, count)


def fill(env: dict[str, str], items: int, seed: int = 0) -> dict[str, float]:
    """``items`` synthetic ready notes with vectors in the active space and BM25 entries."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from pgvector.psycopg import register_vector

    from bench.vectors import clustered_unit_vectors
    from media_index.embedding.registry import configured_model, get_embedder
    from media_index.models import Item
    from media_index.services.lexical_index import lexical_index_items
    from media_index.services.spaces import space_ensure_active, space_index_ensure

    timings: dict[str, float] = {}
    rng = random.Random(seed)
    owner = get_user_model().objects.filter(is_superuser=True).first()
    space = space_ensure_active(spec=get_embedder(configured_model()).spec)
    if Item.objects.filter(content_hash__startswith=f"bench-{seed}-").count() == items:
        connection.close()
        return {"reused": True}  # a --state folder filled by an earlier run
    vocabulary = _vocabulary(rng)
    started = time.perf_counter()
    raw = connection.connection
    register_vector(raw)
    with raw.cursor() as cursor:
        columns = ("owner_id, kind, title, note_text, original, original_name, thumbnail, content_hash, mime_type, "
                   "byte_size, visibility, status, failure_reason, attempts, indexed_at, created_at, updated_at")  # fmt: skip
        with cursor.copy(f"COPY media_index_item ({columns}) FROM STDIN") as copy:
            now = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime())
            for index in range(items):
                text = " ".join(rng.choice(vocabulary) for _ in range(rng.randrange(*WORDS_PER_NOTE)))
                copy.write_row((owner.pk, "note", f"note {index}", text, "", "", "", f"bench-{seed}-{index}",
                                "text/plain", len(text.encode()), "public", "ready", "", 1, now, now, now))  # fmt: skip
        cursor.execute("SELECT id, length(note_text) + length(title) + 2 FROM media_index_item "
                       "WHERE content_hash LIKE %s ORDER BY id", [f"bench-{seed}-%"])  # fmt: skip
        rows = cursor.fetchall()
        timings["items_seconds"] = time.perf_counter() - started
        vectors = clustered_unit_vectors(len(rows), space.dimension, clusters=max(len(rows) // 200, 10), seed=seed)
        # Bulk load without the index, then build it once (as the search suite measured: far
        # faster than growing the graph row by row), in memory large enough for the graph.
        cursor.execute(f"DROP INDEX IF EXISTS {space.index_name}")
        started = time.perf_counter()
        with cursor.copy("COPY media_index_vector (item_id, owner_id, space_id, chunk, span_start, span_end, "
                         "embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:  # fmt: skip
            copy.set_types(["int8", "int4", "int8", "int4", "int4", "int4", "vector"])
            for (item_id, length), vector in zip(rows, vectors, strict=True):
                copy.write_row((item_id, owner.pk, space.pk, 0, 0, length, vector))
        timings["vectors_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    space_index_ensure(space=space)
    timings["index_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    ids = [item_id for item_id, _ in rows]
    for start in range(0, len(ids), 2000):
        lexical_index_items(items=list(Item.objects.filter(pk__in=ids[start : start + 2000])))
    timings["lexical_seconds"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    return timings


def _server_timing(header: str) -> dict[str, float]:
    stages = {}
    for entry in header.split(","):
        name, _, duration = entry.strip().partition(";dur=")
        if duration:
            stages[name] = float(duration)
    return stages


def _pass(session: requests.Session, base: str, texts: list[str], mode: str) -> dict[str, Any]:
    latencies: list[float] = []
    stages: dict[str, list[float]] = {}
    failures = 0
    for text in texts:
        started = time.perf_counter()
        response = session.get(f"{base}/api/v1/search/", params={"q": text, "mode": mode}, timeout=60)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            failures += 1
            continue
        latencies.append(elapsed)
        timing = _server_timing(response.headers.get("Server-Timing", ""))
        timing["other"] = timing.get("total", 0.0) - sum(value for key, value in timing.items() if key != "total")
        for name, value in timing.items():
            stages.setdefault(name, []).append(value)
    if not latencies:
        return {"failures": failures}
    return {
        "requests": len(latencies),
        "failures": failures,
        "http_p50_ms": round(statistics.median(latencies), 2),
        "http_p95_ms": round(percentile(latencies, 0.95), 2),
        "server_p50_ms": {name: round(statistics.median(values), 2) for name, values in stages.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=120, help="distinct queries, split between the modes")
    parser.add_argument("--model", choices=("vit-b-32-random", "demo"), default="vit-b-32-random")
    parser.add_argument("--modes", default="hybrid,dense")
    parser.add_argument("--state", type=Path, default=None, help="folder for the embedded servers (default: temporary)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "search-http.json")
    args = parser.parse_args(argv)

    modes = [mode for mode in args.modes.split(",") if mode]
    texts = queries(args.queries)
    share = len(texts) // len(modes)
    # The stage split is read from Server-Timing, off by default for outsiders.
    env: dict[str, str] = {"SERVER_TIMING": "1"}
    models = Path(os.environ.get("MODEL_DIR", REPO / "var" / "models"))
    if args.model == "vit-b-32-random":
        models.mkdir(parents=True, exist_ok=True)
        env |= {"OPEN_CLIP_MODEL": "ViT-B-32", "OPEN_CLIP_PRETRAINED": str(random_vit_b_32_checkpoint(models))}
    fill_timings: dict[str, float] = {}

    def prepare(run_env: dict[str, str]) -> None:
        print(f"filling {args.items:,} notes...", flush=True)
        fill_timings.update(fill(run_env, args.items))
        print(f"  {fill_timings}", flush=True)

    runs: dict[str, Any] = {}
    with running_stack(state=args.state, env=env, web_workers=1, web_threads=1, worker=False,
                       prepare=prepare) as stack:  # fmt: skip
        session = stack.session()
        # Warm-up: loads the model in the web process and touches the index.
        for text in ("warm up", "热身"):
            session.get(f"{stack.base}/api/v1/search/", params={"q": text}, timeout=120)
        for index, mode in enumerate(modes):
            mine = texts[index * share : (index + 1) * share]
            runs[mode] = {"uncached": _pass(session, stack.base, mine, mode)}
            runs[mode]["cached"] = _pass(session, stack.base, mine, mode)
            print(f"{mode}: {json.dumps(runs[mode])}", flush=True)
    report = {
        "command": "python manage.py bench search-http " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "items": args.items,
        "model": args.model,
        "web": "gunicorn, 1 process, 1 thread; one request at a time",
        "fill": fill_timings,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    failed = sum(run.get("failures", 0) for mode in runs.values() for run in mode.values())
    print(f"written to {args.out}; failed requests: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
