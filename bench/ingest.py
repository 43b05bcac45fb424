"""Ingest: pictures per second from API upload to "ready", against the model's raw speed.

    .venv/bin/python manage.py bench ingest                      # 192 pictures, ViT-B-32 shapes
    .venv/bin/python manage.py bench ingest --items 16 --model demo   # a quick look

It starts the product's stack (``bench/stack.py``: embedded PostgreSQL and Redis,
gunicorn, no worker yet) and, in this process, loads the same model the worker will use
and measures its raw speed on the run's own pictures (JPEG files of ``--picture-size``):

- ``model batched``: ``embed_images`` on decoded pictures in batches of INDEXING_BATCH_SIZE;
- ``decode + model batched``: the same from the JPEG bytes (decoding is work the pipeline
  cannot skip either);
- ``model one at a time``;

measured before and after the pipeline runs and averaged, since a shared machine's speed
drifts over minutes.

Then, for each ``--fill`` setting (INDEXING_FILL_BATCHES off and on: whether a worker's
task takes the other pending uploads into its batch), it starts one Celery worker with
that setting, waits for it to load the model (a warm-up upload), uploads ``--items`` new
pictures through the API as fast as ``--clients`` threads can send them, and waits until
all are "ready". The pipeline's rate is items / (first upload sent → last item's
``indexed_at``); its overhead is 1 − pipeline rate / raw batched rate. ``--mode backlog``
holds the worker while the uploads arrive and times it from when it resumes to the last
"ready": the worker's own overhead, without the web process competing for the cores. Everything runs on
the same machine at the same time (web, worker, database, this client), as a single-box
install would. Results: ``--out`` (bench/results/ingest.json).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import devstack
from bench import REPO, RESULTS_DIR
from bench.stack import Stack, machine, running_stack, start_worker
from bench.weights import random_vit_b_32_checkpoint

SETTLE_TIMEOUT = 900.0


def pictures(count: int, seed: int, size: tuple[int, int]) -> list[bytes]:
    """Distinct JPEG files (coloured ellipses), like a camera roll's in size, not content."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    files = []
    for _ in range(count):
        image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(image)
        for _ in range(12):
            x, y = rng.randrange(size[0]), rng.randrange(size[1])
            extent = rng.randrange(size[0] // 20, size[0] // 3)
            draw.ellipse((x, y, x + extent, y + extent), fill=tuple(rng.randrange(256) for _ in range(3)))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        files.append(buffer.getvalue())
    return files


def raw_rates(files: list[bytes]) -> dict[str, float]:
    """The configured model's speed on ``files`` in this process (Django set up already)."""
    from django.conf import settings

    from media_index.embedding.registry import configured_model, get_embedder
    from media_index.services.images import decode_image

    embedder = get_embedder(configured_model())
    batch = settings.INDEXING_BATCH_SIZE
    decoded = [decode_image(data) for data in files]
    embedder.embed_images(decoded[:batch])  # warm-up

    def rate(work: Any, step: int) -> float:
        started = time.perf_counter()
        for start in range(0, len(files), step):
            work(start, start + step)
        return len(files) / (time.perf_counter() - started)

    return {
        "model_batched": rate(lambda a, b: embedder.embed_images(decoded[a:b]), batch),
        "decode_and_model_batched": rate(
            lambda a, b: embedder.embed_images([decode_image(data) for data in files[a:b]]), batch
        ),
        "model_one_at_a_time": rate(lambda a, b: embedder.embed_images(decoded[a:b]), 1),
    }


def _upload_all(stack: Stack, files: list[bytes], clients: int, ids: list[int], errors: list[str]) -> None:
    lock = threading.Lock()
    queue = list(enumerate(files))

    def client() -> None:
        session = stack.session()
        while True:
            with lock:
                if not queue:
                    return
                index, data = queue.pop(0)
            response = session.post(f"{stack.base}/api/v1/items/", timeout=60,
                                    files={"file": (f"ingest-{index}.jpg", data, "image/jpeg")})  # fmt: skip
            with lock:
                if response.status_code == 201:
                    ids.append(response.json()["id"])
                else:
                    errors.append(f"HTTP {response.status_code}: {response.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _consume_uploads(on: bool) -> None:
    """Tell the running worker(s) to stop or resume taking the uploads queue."""
    from searchsite.celery import app

    if on:
        app.control.add_consumer("uploads", reply=True, timeout=10)
    else:
        app.control.cancel_consumer("uploads", reply=True, timeout=10)


def pipeline_run(stack: Stack, files: list[bytes], clients: int, fill: bool, prefetch: bool = True,
                 backlog: bool = False, queues: str | None = None) -> dict[str, Any]:  # fmt: skip
    """One worker with INDEXING_FILL_BATCHES=``fill`` and INDEXING_PREFETCH=``prefetch``:
    upload ``files``, wait for all ready. ``backlog``: the worker stops taking uploads
    while they arrive and the clock starts when it resumes, so the rate is the worker's
    own (decode, thumbnail, model, store) without the web process's upload work competing
    for the same cores, as on a host that only embeds."""
    from media_index.models import Item

    worker = start_worker(stack, name=f"worker-fill-{'on' if fill else 'off'}-prefetch-{'on' if prefetch else 'off'}"
                                       f"{'-backlog' if backlog else ''}",
                          env={"INDEXING_FILL_BATCHES": "1" if fill else "0",
                               "INDEXING_PREFETCH": "1" if prefetch else "0"}, queues=queues)  # fmt: skip
    try:
        # Warm-up: the worker loads the model on its first batch.
        warm: list[int] = []
        _upload_all(stack, pictures(1, seed=900 + fill, size=(320, 240)), 1, warm, [])
        _wait_ready(warm, SETTLE_TIMEOUT)
        ids: list[int] = []
        errors: list[str] = []
        if backlog:
            _consume_uploads(False)
        started_wall = time.time()
        started = time.perf_counter()
        _upload_all(stack, files, clients, ids, errors)
        uploads_seconds = time.perf_counter() - started
        if backlog:
            started_wall = time.time()
            _consume_uploads(True)
        statuses = _wait_ready(ids, SETTLE_TIMEOUT)
        items = Item.objects.filter(pk__in=ids)
        last = max(item.indexed_at for item in items if item.indexed_at is not None)
        seconds = last.timestamp() - started_wall
        return {
            "fill_batches": fill,
            "prefetch": prefetch,
            "mode": "backlog" if backlog else "live",
            "worker_queues": queues or "all",
            "items": len(ids),
            "upload_errors": errors[:5],
            "statuses": statuses,
            "uploads_seconds": round(uploads_seconds, 2),
            "upload_to_ready_seconds" if not backlog else "resume_to_ready_seconds": round(seconds, 2),
            "items_per_s": len(ids) / seconds,
        }
    finally:
        devstack.stop_process(worker, "worker")
        stack.processes.remove(worker)


def _wait_ready(ids: list[int], timeout: float) -> dict[str, int]:
    """Poll the database (not the API: polling would take web CPU from the pipeline)."""
    from django.db.models import Count

    from media_index.models import Item

    deadline = time.monotonic() + timeout
    while True:
        counts = dict(Item.objects.filter(pk__in=ids).values_list("status").annotate(n=Count("pk")))
        if counts.get(Item.Status.READY, 0) == len(ids) or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=192)
    parser.add_argument("--model", choices=("vit-b-32-random", "demo"), default="vit-b-32-random")
    parser.add_argument("--picture-size", default="1024x768")
    parser.add_argument("--clients", type=int, default=2, help="upload threads")
    parser.add_argument("--fill", default="off,on", help="INDEXING_FILL_BATCHES settings to compare")
    parser.add_argument("--prefetch", default="on", help="INDEXING_PREFETCH settings to compare (with each fill)")
    parser.add_argument("--mode", default="live",
                        help="live (uploads while the worker embeds), backlog (the worker drains uploads already "
                             "queued: its own rate), or both: live,backlog")  # fmt: skip
    parser.add_argument("--worker-queues", default=None,
                        help="the queues the worker takes, e.g. uploads,celery: the upload pipeline alone, with "
                             "calibration refreshes (the maintenance queue) left to another host (default: all)")  # fmt: skip
    parser.add_argument("--state", type=Path, default=None, help="folder for the embedded servers (default: temporary)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "ingest.json")
    args = parser.parse_args(argv)

    width, height = (int(part) for part in args.picture_size.split("x"))
    env: dict[str, str] = {}
    if args.model == "vit-b-32-random":
        models = Path(os.environ.get("MODEL_DIR", REPO / "var" / "models"))
        models.mkdir(parents=True, exist_ok=True)
        env = {"OPEN_CLIP_MODEL": "ViT-B-32", "OPEN_CLIP_PRETRAINED": str(random_vit_b_32_checkpoint(models))}
    fills = [value.strip() == "on" for value in args.fill.split(",") if value.strip()]
    prefetches = [value.strip() == "on" for value in args.prefetch.split(",") if value.strip()]
    backlogs = [value.strip() == "backlog" for value in args.mode.split(",") if value.strip()]
    runs = []
    with running_stack(state=args.state, env=env, web_workers=1, web_threads=4, worker=False) as stack:
        os.environ.update(stack.env)
        import django

        django.setup()
        raw_files = pictures(args.items, seed=1, size=(width, height))
        print("measuring the model's raw speed...", flush=True)
        before = raw_rates(raw_files)
        settings = [(fill, prefetch, backlog) for backlog in backlogs for fill in fills for prefetch in prefetches]
        for number, (fill, prefetch, backlog) in enumerate(settings):
            files = pictures(args.items, seed=100 + number, size=(width, height))
            runs.append(pipeline_run(stack, files, args.clients, fill, prefetch, backlog, args.worker_queues))
        # Measured before and after the pipeline runs (the machine's speed drifts), averaged.
        after = raw_rates(raw_files)
        raw = {key: (before[key] + after[key]) / 2 for key in before}
        print(f"  raw model: {raw} (before {before}, after {after})", flush=True)
        for run in runs:
            run["overhead_vs_model_batched"] = 1 - run["items_per_s"] / raw["model_batched"]
            run["overhead_vs_decode_and_model_batched"] = 1 - run["items_per_s"] / raw["decode_and_model_batched"]
            print(f"  {json.dumps(run)}", flush=True)
    report = {
        "command": "python manage.py bench ingest " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "model": args.model,
        "pictures": {"count": args.items, "size": args.picture_size, "format": "JPEG q90"},
        "raw_items_per_s": raw,
        "raw_items_per_s_before_and_after": [before, after],
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    complete = all(run["statuses"].get("ready", 0) == run["items"] == args.items for run in runs)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
