"""The compose file is valid; the Dockerfile runs what compose expects."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import REPO

DOCKER = REPO / "docker"


SCHEMA = REPO / "tests" / "schemas" / "compose-spec" / "compose-spec.json"
SERVICES = ("db", "redis", "web", "worker", "migrate")


def test_compose_file_matches_the_compose_specification_schema(tmp_path: Path) -> None:
    """No docker-compose binary needed: the file is checked against the Compose
    Specification's own JSON schema (vendored with its Apache-2.0 licence)."""
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())  # merge keys (<<: *app) resolved
    schema = json.loads(SCHEMA.read_text())

    jsonschema.Draft7Validator(schema).validate(compose)

    assert set(SERVICES) <= set(compose["services"])
    assert compose["services"]["db"]["image"].startswith("pgvector/pgvector")
    assert "healthcheck" in compose["services"]["web"]
    binary = shutil.which("docker-compose")
    if binary:
        _check_with_docker_compose(binary, tmp_path)


def _check_with_docker_compose(binary: str, tmp_path: Path) -> None:
    """Where docker-compose exists it resolves the file too: on a copy of docker/ with the
    example env, so nothing is written into the source tree."""
    copy = tmp_path / "docker"
    shutil.copytree(DOCKER, copy, ignore=shutil.ignore_patterns(".env"))
    shutil.copy(DOCKER / "env.example", copy / ".env")

    result = subprocess.run(
        [binary, "-f", str(copy / "compose.yaml"), "config"], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    for service in SERVICES:
        assert f"\n  {service}:" in result.stdout
    assert "pgvector/pgvector" in result.stdout


def test_the_schema_check_catches_a_broken_compose_file() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    compose["services"]["web"]["ports"] = {"8000": "8000"}  # a mapping where a list belongs
    compose["services"]["worker"]["restart_policy"] = "always"  # no such key

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).validate(compose)


def test_dockerfile_serves_with_gunicorn_and_production_settings() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()

    assert "DJANGO_SETTINGS_MODULE=searchsite.settings.production" in dockerfile
    assert "gunicorn" in dockerfile and "searchsite.wsgi:application" in dockerfile
    assert "USER app" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile


def test_no_env_file_with_secrets_is_tracked() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()

    assert not [name for name in tracked if name.endswith(".env") or name == "var/secret_key"]
