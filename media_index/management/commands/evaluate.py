"""Measure retrieval on your own queries: recall@1/5/10, MRR, nDCG@10, by mode, space and index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from media_index.errors import ApplicationError

METRICS = ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "p@5", "kept", "top5_images", "top5_notes")


class Command(BaseCommand):
    help = (
        "Evaluate search on a JSONL file of queries with their relevant items (see "
        "media_index/services/evaluation.py for the format). Several --space and --mode values "
        "compare them side by side on the same queries; --exact adds exact (sequential scan) "
        "rows next to the HNSW ones, so the index's own recall loss is visible."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--queries", type=Path, required=True)
        parser.add_argument("--space", type=int, action="append", help="space id (repeatable; default: active)")
        parser.add_argument("--mode", choices=["dense", "lexical", "hybrid", "auto"], action="append",
                            help="repeatable; default: auto (hybrid for words, dense for pictures)")  # fmt: skip
        parser.add_argument("--exact", action="store_true", help="also run exact nearest-neighbour search")
        parser.add_argument("--json", action="store_true", help="print JSON only")
        parser.add_argument("--per-query", action="store_true", help="list each query's first relevant rank")

    def handle(self, *args: Any, **options: Any) -> None:
        from media_index.services.evaluation import evaluate_queries, load_queries

        try:
            queries = load_queries(options["queries"])
            runs = []
            for space in options["space"] or [None]:
                for mode in options["mode"] or ["auto"]:
                    for exact in (False, True) if options["exact"] else (False,):
                        report = evaluate_queries(queries, space_id=space, mode=None if mode == "auto" else mode,
                                                  exact=exact)  # fmt: skip
                        runs.append({"space": space, "mode": mode, "index": "exact" if exact else "hnsw", **report})
        except (ApplicationError, OSError) as error:
            raise CommandError(getattr(error, "message", str(error))) from error
        if options["json"]:
            self.stdout.write(json.dumps(runs, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{len(queries)} queries from {options['queries']}")
        header = f"{'space':>6} {'mode':<8} {'index':<6} {'lang':<5} " + " ".join(f"{name:>9}" for name in METRICS)
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for run in runs:
            rows = [("all", run["metrics"]), *run["per_language"].items()] if run["queries"] else []
            for lang, metrics in rows:
                self.stdout.write(
                    f"{run['space'] or 'active':>6} {run['mode']:<8} {run['index']:<6} {lang:<5} "
                    + " ".join(f"{metrics[name]:>9.3f}" for name in METRICS)
                )
            if "both_kinds@5" in run["metrics"]:
                self.stdout.write(f"{'':>6} {'':<8} {'':<6} both kinds in the mixed top 5: "
                                  f"{run['metrics']['both_kinds@5']:.3f}; text-to-picture P@5 within the mixed "
                                  f"list {run['metrics']['image_p@5_mixed']:.3f}, pictures alone "
                                  f"{run['metrics']['image_p@5_alone']:.3f}")  # fmt: skip
            if run["nonsense"]["queries"]:
                self.stdout.write(f"{run['space'] or 'active':>6} {run['mode']:<8} {run['index']:<6} nonsense: "
                                  f"{run['nonsense']['answered_nothing']:.3f} of {run['nonsense']['queries']} "
                                  "answered 'nothing relevant'")  # fmt: skip
            if options["per_query"]:
                for row in run["nonsense"]["per_query"]:
                    self.stdout.write(f"    line {row['line']:>3} {'nothing' if row['answered_nothing'] else 'FOUND':>9}  "
                                      f"{row['query']}")  # fmt: skip
                for row in run["per_query"]:
                    self.stdout.write(f"    line {row['line']:>3} rank {row['first_relevant_rank']!s:>4}  {row['query']}")
