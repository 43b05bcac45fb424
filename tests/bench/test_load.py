"""The load script runs end to end at a tiny size (the full size is for the benchmark, not CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_load_suite_runs_its_own_stack_and_reports_zero_failures(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    # Its own embedded servers in a temporary folder, not the test session's.
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "MEDIA_ROOT")}  # fmt: skip

    run = subprocess.run(
        [sys.executable, "manage.py", "bench", "load", "--clients", "2", "--seconds", "3", "--uploads", "4", "--no-demo",
         "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["failed_requests"] == 0
    assert report["upload_statuses_at_end"] == {"ready": 4}
    assert report["requests"]["search_text"]["count"] > 0
    assert report["requests"]["search_image"]["count"] > 0
    assert report["requests"]["search_text"]["p95_ms"] >= report["requests"]["search_text"]["p50_ms"] > 0
