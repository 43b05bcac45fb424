"""Resident memory of a web process and a worker with the model loaded, per runtime.

    python manage.py bench memory [--runtimes torch,onnx-int8] [--random-vit-b-32]

Each figure comes from a fresh Python process (so nothing measured earlier is counted):
Django set up (what a web process holds before its first search), then the model loaded
and one query embedded (a web process after its first search), then a batch of 32
pictures embedded (a worker at work). RSS from psutil. Writes bench/results/memory.json.
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
        probe = subprocess.run(
            [sys.executable, "-m", "bench.memory_probe", runtime, *(["--random-vit-b-32"] * options["random_vit_b_32"])],
            cwd=REPO, env=dict(os.environ), capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows[runtime] = {name: value / 2**20 for name, value in json.loads(probe.stdout.splitlines()[-1]).items()}
        print(f"{runtime:<10} " + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in rows[runtime].items()))
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
