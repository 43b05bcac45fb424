"""Resident memory of a web process and a worker with the model loaded, per runtime.

    python manage.py bench_memory [--runtimes torch,onnx-int8] [--random-vit-b-32]

Each figure comes from a fresh Python process (so nothing measured earlier is counted):
Django set up (what a web process holds before its first search), then the model loaded
and one query embedded (a web process after its first search), then a batch of 32
pictures embedded (a worker at work). RSS from psutil. Writes bench/results/memory.json.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

RESULTS_DIR = Path(settings.BASE_DIR) / "bench" / "results"

PROBE = r"""
import json, os, sys, psutil, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "searchsite.settings.local")
django.setup()
rss = lambda: psutil.Process().memory_info().rss
out = {"django": rss()}
from dataclasses import replace
from PIL import Image
from media_index.embedding.registry import configured_model, get_embedder
runtime, random_vit = sys.argv[1], sys.argv[2] == "1"
if random_vit:
    from media_index.management.commands.bench_embedding import Command
    embedder = Command()._random_vit_b_32(runtime)
else:
    embedder = get_embedder(replace(configured_model(), runtime=runtime))
embedder.embed_texts(["a cute puppy"])
out["model_and_one_query"] = rss()
embedder.embed_images([Image.new("RGB", (320, 240), (200, 100, 50)) for _ in range(32)])
out["after_batch_of_32_pictures"] = rss()
print(json.dumps(out))
"""


class Command(BaseCommand):
    help = "Measure the resident memory of web and worker processes with the model loaded."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--runtimes", default="torch,onnx-int8")
        parser.add_argument("--random-vit-b-32", action="store_true", help="ViT-B-32 shapes (random weights)")
        parser.add_argument("--out", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        rows = {}
        for runtime in [name.strip() for name in options["runtimes"].split(",") if name.strip()]:
            probe = subprocess.run(
                [sys.executable, "-c", PROBE, runtime, "1" if options["random_vit_b_32"] else "0"],
                cwd=settings.BASE_DIR, env=dict(os.environ), capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows[runtime] = {name: value / 2**20 for name, value in json.loads(probe.stdout.splitlines()[-1]).items()}
            self.stdout.write(f"{runtime:<10} " + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in rows[runtime].items()))
        name = "memory-vit-b-32-random.json" if options["random_vit_b_32"] else "memory-configured.json"
        out = options["out"] or RESULTS_DIR / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({
            "command": "python manage.py bench_memory --runtimes " + options["runtimes"]
                       + (" --random-vit-b-32" if options["random_vit_b_32"] else ""),
            "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
            "unit": "MiB (resident set size)", "runs": rows,
        }, indent=2) + "\n")  # fmt: skip
        self.stdout.write(f"written to {out}")
