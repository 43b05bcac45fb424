"""Every settings module imports, and production refuses to start half-configured."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import REPO

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 60 + "-not-a-real-secret-but-long-and-random-enough",
    "DJANGO_ALLOWED_HOSTS": "search.example.org",
    "DATABASE_URL": "postgres://user:pw@db.example.org:5432/searchsite",
    "CELERY_BROKER_URL": "redis://redis.example.org:6379/0",
}


def _fresh_import(module: str):  # noqa: ANN202 - returns a module
    sys.modules.pop(module, None)
    return importlib.import_module(module)


@pytest.mark.parametrize("module", ["base", "local", "test", "production"])
def test_every_settings_module_imports(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(key, value)

    settings = _fresh_import(f"searchsite.settings.{module}")

    assert settings.SECRET_KEY
    assert "media_index" in settings.INSTALLED_APPS
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_environment_values_reach_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@dbhost:6543/other")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://brokerhost:6379/3")
    monkeypatch.setenv("MODEL_DIR", "/srv/models")
    monkeypatch.setenv("OPEN_CLIP_MODEL", "ViT-B-32")
    monkeypatch.setenv("OPEN_CLIP_PRETRAINED", "laion2b_s34b_b79k")

    settings = _fresh_import("searchsite.settings.base")

    db = settings.DATABASES["default"]
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == ("dbhost", 6543, "other", "u")
    assert settings.CELERY_BROKER_URL == "redis://brokerhost:6379/3"
    assert str(settings.MODEL_DIR) == "/srv/models"
    assert (settings.OPEN_CLIP_MODEL, settings.OPEN_CLIP_PRETRAINED) == ("ViT-B-32", "laion2b_s34b_b79k")


def test_replica_urls_become_replica_aliases_that_mirror_the_test_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_REPLICA_URLS", "postgres://u:p@replica-a:5432/searchsite,postgres://u:p@replica-b/searchsite")

    settings = _fresh_import("searchsite.settings.base")

    assert [alias for alias in settings.DATABASES if alias != "default"] == ["replica1", "replica2"]
    assert (settings.DATABASES["replica1"]["HOST"], settings.DATABASES["replica2"]["HOST"]) == ("replica-a", "replica-b")
    assert settings.DATABASES["replica1"]["TEST"] == {"MIRROR": "default"}
    assert settings.DATABASE_ROUTERS == ["media_index.replicas.ReplicaRouter"]


def test_replica_hosts_share_the_primary_database_and_credentials_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATABASE_HOST", "db")
    monkeypatch.setenv("DATABASE_PASSWORD", "p@ss:word/#")
    monkeypatch.setenv("DATABASE_REPLICA_URLS", "postgres://u:p@elsewhere/searchsite")
    monkeypatch.setenv("DATABASE_REPLICA_HOSTS", "db-replica,db-replica-2:6432")

    _fresh_import("searchsite.settings.base")  # a new DATABASES, which production extends
    settings = _fresh_import("searchsite.settings.production")

    primary = settings.DATABASES["default"]
    assert [alias for alias in settings.DATABASES if alias != "default"] == ["replica1", "replica2", "replica3"]
    assert settings.DATABASES["replica1"]["HOST"] == "elsewhere"
    second, third = settings.DATABASES["replica2"], settings.DATABASES["replica3"]
    assert (second["HOST"], second["PORT"]) == ("db-replica", "5432")
    assert (third["HOST"], third["PORT"]) == ("db-replica-2", "6432")
    for replica in (second, third):
        assert (replica["NAME"], replica["USER"]) == (primary["NAME"], primary["USER"])
        assert replica["PASSWORD"] == "p@ss:word/#"
        assert replica["TEST"] == {"MIRROR": "default"}


def test_search_tuning_comes_from_the_environment_and_out_of_range_values_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEARCH_HNSW_EF_SEARCH", "800")
    monkeypatch.setenv("SEARCH_EXACT_MAX_ITEMS", "0")
    monkeypatch.setenv("INDEXING_FILL_BATCHES", "0")

    settings = _fresh_import("searchsite.settings.base")

    assert (settings.SEARCH_HNSW_EF_SEARCH, settings.SEARCH_EXACT_MAX_ITEMS) == (800, 0)
    assert settings.INDEXING_FILL_BATCHES is False
    monkeypatch.setenv("SEARCH_HNSW_EF_SEARCH", "5000")  # above pgvector's 1000
    with pytest.raises(ImproperlyConfigured):
        _fresh_import("searchsite.settings.base")


def test_embedded_database_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)

    settings = _fresh_import("searchsite.settings.base")

    db = settings.DATABASES["default"]
    assert db["HOST"] == str(settings.EMBEDDED_PG_DIR)
    assert db["NAME"] == "searchsite"


def test_production_refuses_to_start_without_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DJANGO_SECRET_KEY")

    with pytest.raises(ImproperlyConfigured):
        _fresh_import("searchsite.settings.production")


def test_production_settings_pass_the_deployment_checklist() -> None:
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "searchsite.settings.production", **PRODUCTION_ENV}

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("key", ["change-me-to-a-long-random-string", "short", "change-me-" + "x" * 60])
def test_production_refuses_the_placeholder_or_a_short_secret_key(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DJANGO_SECRET_KEY", key)

    with pytest.raises(ImproperlyConfigured, match="placeholder"):
        _fresh_import("searchsite.settings.production")


def test_production_reads_secrets_from_files_and_the_database_from_separate_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """Docker secrets: the key and the password come from files, and a password full of
    URL delimiters needs no encoding."""
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DJANGO_SECRET_KEY")
    monkeypatch.delenv("DATABASE_URL")
    key, password = "k" * 50, "p@ss:w/rd#50%"
    (tmp_path / "key").write_text(key + "\n")
    (tmp_path / "password").write_text(password + "\n")
    monkeypatch.setenv("DJANGO_SECRET_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("DATABASE_HOST", "db")
    monkeypatch.setenv("DATABASE_NAME", "searchsite")
    monkeypatch.setenv("DATABASE_USER", "search")
    monkeypatch.setenv("DATABASE_PASSWORD_FILE", str(tmp_path / "password"))

    production = _fresh_import("searchsite.settings.production")

    assert production.SECRET_KEY == key
    database = production.DATABASES["default"]
    assert (database["HOST"], database["USER"], database["PASSWORD"]) == ("db", "search", password)
    assert database["CONN_HEALTH_CHECKS"] is True
