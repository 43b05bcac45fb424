"""/healthz: JSON about database, broker, worker and model; 200 only when all are fine."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(client, settings):
    settings.HEALTH_TOKEN = "monitor-token"
    client.defaults["HTTP_X_HEALTH_TOKEN"] = "monitor-token"
    return client


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


@pytest.mark.django_db
def test_anonymous_callers_get_the_status_without_details(settings, django_user_model) -> None:
    from django.test import Client

    settings.HEALTH_TOKEN = "monitor-token"
    settings.MODEL_DIR = "/srv/secret-model-dir"
    settings.OPEN_CLIP_MODEL = "ViT-B-32"
    settings.OPEN_CLIP_PRETRAINED = "laion2b_s34b_b79k"
    staff = Client()
    staff.force_login(django_user_model.objects.create_user("ops", password="pw", is_staff=True))

    anonymous = Client().get("/healthz")
    wrong_token = Client().get("/healthz", HTTP_X_HEALTH_TOKEN="guess")
    detailed = staff.get("/healthz")

    assert anonymous.status_code == wrong_token.status_code == detailed.status_code == 503
    assert anonymous.json() == wrong_token.json() == {
        "status": "unavailable",
        "checks": {"database": {"ok": True}, "broker": {"ok": True}, "worker": {"ok": False},
                   "model": {"ok": False}},
    }  # fmt: skip
    assert "secret-model-dir" not in anonymous.content.decode()
    assert "secret-model-dir" in detailed.json()["checks"]["model"]["error"]
