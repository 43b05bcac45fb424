"""The compose file is valid; the Dockerfile runs what compose expects."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import REPO

DOCKER = REPO / "docker"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed (.ci/run installs it)")
def test_compose_file_is_valid_with_the_example_env(tmp_path) -> None:
    env_file = DOCKER / ".env"
    assert not env_file.exists(), "docker/.env holds secrets and must not be in the tree"
    shutil.copy(DOCKER / "env.example", env_file)
    try:
        result = subprocess.run(
            ["docker-compose", "-f", str(DOCKER / "compose.yaml"), "config"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        env_file.unlink()

    assert result.returncode == 0, result.stderr
    for service in ("db", "redis", "web", "worker", "migrate"):
        assert f"\n  {service}:" in result.stdout
    assert "pgvector/pgvector" in result.stdout
    assert "healthcheck" in result.stdout


def test_dockerfile_serves_with_gunicorn_and_production_settings() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()

    assert "DJANGO_SETTINGS_MODULE=searchsite.settings.production" in dockerfile
    assert "gunicorn" in dockerfile and "searchsite.wsgi:application" in dockerfile
    assert "USER app" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile


def test_no_env_file_with_secrets_is_tracked() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()

    assert not [name for name in tracked if name.endswith(".env") or name == "var/secret_key"]
