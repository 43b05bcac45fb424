"""The ingest and HTTP search suites run end to end at a tiny size (full sizes: docs/BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(*args: str) -> None:
    """Run a suite through the one entry point (``manage.py bench``); it starts its own embedded servers in a temporary folder, not the test session's."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "MEDIA_ROOT")}  # fmt: skip
    run = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def test_the_ingest_suite_compares_the_pipeline_with_the_raw_model(tmp_path: Path) -> None:
    out = tmp_path / "ingest.json"

    _run(
        "manage.py",
        "bench",
        "ingest",
        "--items",
        "6",
        "--model",
        "demo",
        "--picture-size",
        "320x240",
        "--mode",
        "live,backlog",
        "--out",
        str(out),
    )

    report = json.loads(out.read_text())
    raw = report["raw_items_per_s"]
    assert raw["model_batched"] > 0 and raw["model_one_at_a_time"] > 0
    assert [entry["fill_batches"] for entry in report["runs"]] == [False, True, False, True]
    # Backlog: the worker held while the uploads arrive, timed from when it resumes.
    assert [entry["mode"] for entry in report["runs"]] == ["live", "live", "backlog", "backlog"]
    assert all("resume_to_ready_seconds" in entry for entry in report["runs"][2:])
    for entry in report["runs"]:
        assert entry["statuses"] == {"ready": 6} and entry["upload_errors"] == []
        assert entry["items_per_s"] > 0
        assert entry["overhead_vs_model_batched"] == pytest.approx(1 - entry["items_per_s"] / raw["model_batched"])


def test_the_http_search_suite_splits_server_time_into_stages(tmp_path: Path) -> None:
    out = tmp_path / "search-http.json"

    _run("manage.py", "bench", "search-http", "--items", "500", "--queries", "6", "--model", "demo", "--out", str(out))

    report = json.loads(out.read_text())
    assert report["items"] == 500 and set(report["runs"]) == {"hybrid", "dense"}
    hybrid = report["runs"]["hybrid"]
    assert hybrid["uncached"]["requests"] == 3 and hybrid["uncached"]["failures"] == 0
    assert {"embed", "dense", "lexical", "total"} <= set(hybrid["uncached"]["server_p50_ms"])
    assert "lexical" not in report["runs"]["dense"]["cached"]["server_p50_ms"]
    # Repeated queries come from the query-vector cache: the encoder is not run again.
    assert hybrid["cached"]["server_p50_ms"]["embed"] < hybrid["uncached"]["server_p50_ms"]["embed"]
