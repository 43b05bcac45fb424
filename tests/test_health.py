"""/healthz: JSON about database, broker, worker and model; 200 only when all are fine."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_healthz_is_200_with_a_live_worker(client, live_worker) -> None:
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"]["pgvector"]
    assert body["checks"]["broker"]["ok"]
    assert body["checks"]["worker"]["count"] >= 1
    assert body["checks"]["model"]["ok"]


@pytest.mark.django_db
def test_healthz_is_503_and_says_why_without_a_worker(client) -> None:
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["broker"]["ok"]
    assert body["checks"]["worker"] == {
        "ok": False,
        "count": 0,
        "error": "no Celery worker answered; uploads will wait until one starts",
    }


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_unreachable(client, tmp_path, settings) -> None:
    settings.CELERY_BROKER_URL = f"redis+socket://{tmp_path / 'nothing-here.sock'}"

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["worker"]["error"] == "broker unreachable"


@pytest.mark.django_db
def test_healthz_names_the_missing_weights(client, settings, tmp_path) -> None:
    settings.MODEL_DIR = tmp_path
    settings.OPEN_CLIP_MODEL = "ViT-B-32"
    settings.OPEN_CLIP_PRETRAINED = "laion2b_s34b_b79k"

    response = client.get("/healthz")

    model = response.json()["checks"]["model"]
    assert response.status_code == 503
    assert model["ok"] is False
    assert str(tmp_path / "open_clip" / "ViT-B-32__laion2b_s34b_b79k") in model["error"]
    assert "download_models" in model["error"]


def test_healthz_answers_only_safe_methods(client) -> None:
    assert client.post("/healthz").status_code == 405
