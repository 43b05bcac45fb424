"""``python -m bench``: database suites get embedded servers when no database is configured."""

from __future__ import annotations

import json

import pytest

from bench.__main__ import main


@pytest.mark.slow
def test_a_database_suite_runs_on_embedded_servers_when_no_database_is_configured(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    out = tmp_path / "search.json"

    code = main(["--state", str(tmp_path / "state"), "search", "--sizes", "400", "--dim", "8",
                 "--queries", "4", "--ef", "40", "--exact-queries", "2", "--out", str(out)])  # fmt: skip

    assert code == 0
    row = json.loads(out.read_text())["sizes"]["400"]
    assert row["exact"]["queries"] == 2 and row["hnsw"]["40"]["queries"] == 4
    assert (tmp_path / "state" / "pgdata").is_dir()  # its own PostgreSQL, not the test session's
