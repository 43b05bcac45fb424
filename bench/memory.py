"""Resident memory of a web process and a worker with the model loaded, per runtime.

    python manage.py bench memory [--runtimes torch,onnx-int8] [--random-vit-b-32]

Each figure comes from a fresh Python process (so nothing measured earlier is counted):
Django set up (what a web process holds before its first search), then the model loaded
and one query embedded (a web process after its first search), then a batch of 32
pictures embedded (a worker at work). RSS from psutil. Writes bench/results/memory.json.

An ONNX runtime is measured twice: the first process finds no export and makes one with
PyTorch (a worker's first start), the second finds it and never imports torch (a web
process, ``media_index/embedding/onnx_embedder.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import REPO, RESULTS_DIR, run_suite


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runtimes", default="torch,onnx-int8")
    parser.add_argument("--random-vit-b-32", action="store_true", help="ViT-B-32 shapes (random weights)")
    parser.add_argument("--out", type=Path, default=None)


def run(options: dict[str, Any]) -> None:
    rows = {}
    for runtime in [name.strip() for name in options["runtimes"].split(",") if name.strip()]:
        passes = ("first process", "export cached") if runtime != "torch" else ("",)
        for label in passes:
            probe = subprocess.run(
                [sys.executable, "-m", "bench.memory_probe", runtime,
                 *(["--random-vit-b-32"] * options["random_vit_b_32"])],
                cwd=REPO, env=dict(os.environ), capture_output=True, text=True, check=True,
            )  # fmt: skip
            result = json.loads(probe.stdout.splitlines()[-1])
            path = "PyTorch path" if result["torch_imported"] else "no torch"
            key = f"{runtime} ({label}: {path})" if label else runtime
            rows[key] = {**{name: value / 2**20 for name, value in result["sizes"].items()},
                         "embedder": result["embedder"], "torch_imported": result["torch_imported"]}  # fmt: skip
            print(f"{key:<28} " + ", ".join(f"{name} {value:.0f} MiB" for name, value in rows[key].items()
                                            if isinstance(value, float))
                  + f"; {result['embedder']}, torch imported: {result['torch_imported']}")  # fmt: skip
    name = "memory-vit-b-32-random.json" if options["random_vit_b_32"] else "memory-configured.json"
    out = options["out"] or RESULTS_DIR / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "command": "python manage.py bench memory --runtimes " + options["runtimes"]
                   + (" --random-vit-b-32" if options["random_vit_b_32"] else ""),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "unit": "MiB (resident set size)", "runs": rows,
    }, indent=2) + "\n")  # fmt: skip
    print(f"written to {out}")


def main(argv: list[str] | None = None) -> int:
    return run_suite(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
