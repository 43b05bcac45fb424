"""``manage.py bench``: the one entry point, forwarding every argument to ``python -m bench``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _manage_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", "bench", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_bench_lists_its_suites() -> None:
    run = _manage_bench("--list")

    assert run.returncode == 0, run.stderr
    listed = {line.split()[0] for line in run.stdout.splitlines() if line.strip()}
    assert listed == {"model", "ingest", "search", "owner-filter", "vectors", "search-http", "memory", "load"}


def test_bench_refuses_an_unknown_suite_with_the_list_of_suites() -> None:
    run = _manage_bench("no-such-suite")

    assert run.returncode == 2
    assert "invalid choice: 'no-such-suite'" in run.stderr and "search-http" in run.stderr


def test_options_after_the_suite_reach_the_suite() -> None:
    run = _manage_bench("vectors", "--help")

    assert run.returncode == 0, run.stderr
    assert "usage: manage.py bench vectors" in run.stdout and "--rows" in run.stdout
