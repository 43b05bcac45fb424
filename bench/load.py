"""Load test: concurrent searches while uploads are being indexed, against the real stack.

    .venv/bin/python manage.py bench load                     # 20 clients, 60 s, 200 uploads
    .venv/bin/python manage.py bench load --clients 4 --seconds 10 --uploads 20   # a quick look

It starts its own embedded PostgreSQL and Redis in a fresh folder (or uses DATABASE_URL /
CELERY_BROKER_URL when set), the web app under gunicorn (the production server) and one
Celery worker, and loads the demo collection so searches have something to find. Then,
for ``--seconds``:

- ``--clients`` threads search without pause, alternating text queries (English and
  Chinese) with picture queries (a multipart POST of a rendered picture);
- one more thread uploads ``--uploads`` new pictures and notes through the API, spread
  over the window, which the worker indexes while the searches run.

A request fails when it raises, times out (30 s) or answers anything but 2xx. At the end
every upload must reach "ready" (within ``--settle-timeout``). The figures (p50/p95/p99
per request kind, throughput, failures, time to index the backlog) are printed and
written to ``--out`` (bench/results/load.json by default); the exit code is 1 when any
request failed or any upload did not end ready.

The stack is ``bench/stack.py``'s: the API's rate limits are raised for the run (they
would otherwise, correctly, answer 429 to 20 clients of one user); everything else is the
product as configured.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench import RESULTS_DIR
from bench.stack import machine, percentile, running_stack, wait_ready

TEXT_QUERIES = (
    "cute puppy", "a red car", "kitten", "pizza", "birthday cake", "a rocket", "sunny beach", "snowman",
    "可爱的小狗", "红色的汽车", "小猫", "生日蛋糕", "火箭", "雪人", "guitar", "a cup of coffee",
)  # fmt: skip
REQUEST_TIMEOUT = 30.0


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, started: float, error: str | None) -> None:
        elapsed = time.monotonic() - started
        with self.lock:
            if error is None:
                self.latencies[kind].append(elapsed)
            else:
                self.failures.append(f"{kind}: {error}")


def _picture(seed: int) -> bytes:
    from media_index.synthetic.concepts import CONCEPTS
    from media_index.synthetic.render import render_picture

    rng = random.Random(seed)
    image = render_picture([rng.choice(CONCEPTS)], seed, size=256)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _call(session: requests.Session, stats: Stats, kind: str, method: str, url: str, **kwargs: object) -> dict | None:
    started = time.monotonic()
    try:
        response = session.request(method, url, timeout=REQUEST_TIMEOUT, **kwargs)
    except requests.RequestException as error:
        stats.record(kind, started, f"{type(error).__name__}: {error}")
        return None
    if not 200 <= response.status_code < 300:
        stats.record(kind, started, f"HTTP {response.status_code}: {response.text[:200]}")
        return None
    stats.record(kind, started, None)
    return response.json()


def _search_client(base: str, key: str, stats: Stats, stop: threading.Event, pictures: list[bytes], seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    turn = 0
    while not stop.is_set():
        if turn % 3 == 2:
            files = {"image": ("query.png", rng.choice(pictures), "image/png")}
            _call(session, stats, "search_image", "POST", f"{base}/api/v1/search/", files=files)
        else:
            _call(
                session, stats, "search_text", "GET", f"{base}/api/v1/search/", params={"q": rng.choice(TEXT_QUERIES)}
            )
        turn += 1


def _uploader(base: str, key: str, stats: Stats, count: int, seconds: float, ids: list[int], seed: int) -> None:
    from media_index.synthetic.captions import note
    from media_index.synthetic.concepts import CONCEPTS

    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    started = time.monotonic()
    for index in range(count):
        # Spread the uploads over the window so indexing overlaps the searches throughout.
        time.sleep(max(0.0, started + index * seconds / count - time.monotonic()))
        if index % 5 == 4:
            text = note(rng.choice(CONCEPTS), rng, "en" if index % 2 else "zh") + f" (load test note {seed}-{index})"
            body = _call(session, stats, "upload", "POST", f"{base}/api/v1/items/", data={"text": text})
        else:
            files = {"file": (f"load-{index}.png", _picture(seed * 100_000 + index), "image/png")}
            body = _call(session, stats, "upload", "POST", f"{base}/api/v1/items/", files=files)
        if body is not None:
            ids.append(body["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--web-threads", type=int, default=8, help="threads per gunicorn process")
    parser.add_argument("--settle-timeout", type=float, default=600)
    parser.add_argument("--no-demo", action="store_true", help="skip loading the demo collection first")
    parser.add_argument("--state", type=Path, default=None, help="folder for the embedded servers (default: temporary)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "load.json")
    args = parser.parse_args(argv)

    with running_stack(state=args.state, web_workers=args.web_workers, web_threads=args.web_threads,
                       demo=not args.no_demo) as stack:  # fmt: skip
        base, token = stack.base, stack.token
        pictures = [_picture(900_000 + index) for index in range(16)]
        if args.no_demo:
            # Something to find: a few pictures, indexed before the window opens.
            seed_ids: list[int] = []
            _uploader(base, token, Stats(), 3, 0.0, seed_ids, 1)
            wait_ready(stack, seed_ids, 120)
        # Warm-up: the first query in each web process loads the model.
        for _ in range(args.web_workers * 2):
            requests.get(f"{base}/api/v1/search/", params={"q": "warm up"}, timeout=120, headers=stack.headers)

        stats, stop, ids = Stats(), threading.Event(), []
        print(f"{args.clients} search clients for {args.seconds:.0f}s while {args.uploads} uploads arrive...",
              flush=True)  # fmt: skip
        threads = [threading.Thread(target=_search_client, args=(base, token, stats, stop, pictures, n))
                   for n in range(args.clients)]  # fmt: skip
        uploader = threading.Thread(target=_uploader, args=(base, token, stats, args.uploads,
                                                            args.seconds * 0.9, ids, 7))  # fmt: skip
        window_started = time.monotonic()
        for thread in [*threads, uploader]:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        uploader.join()
        window = time.monotonic() - window_started
        statuses, settle_seconds = wait_ready(stack, ids, args.settle_timeout)

    report = {
        "command": "python manage.py bench load " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "clients": args.clients,
        "seconds": round(window, 1),
        "uploads_requested": args.uploads,
        "uploads_accepted": len(ids),
        "upload_statuses_at_end": statuses,
        "seconds_to_index_backlog_after_window": round(settle_seconds, 1),
        "failed_requests": len(stats.failures),
        "failure_samples": stats.failures[:10],
        "requests": {
            kind: {
                "count": len(values),
                "per_second": round(len(values) / window, 2),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p95_ms": round(percentile(values, 0.95) * 1000, 1),
                "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            }
            for kind, values in sorted(stats.latencies.items())
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    ok = not stats.failures and statuses.get("ready", 0) == len(ids) == args.uploads
    print("PASS" if ok else "FAIL", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
