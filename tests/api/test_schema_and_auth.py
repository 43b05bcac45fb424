"""The OpenAPI schema validates and matches the routes; tokens are issued, used (Token or Bearer) and revoked."""

from __future__ import annotations

import pytest
import yaml
from django.urls import resolve
from openapi_spec_validator import validate
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_schema_is_valid_openapi_3_and_every_path_exists() -> None:
    response = APIClient().get("/api/v1/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {"/api/v1/search/", "/api/v1/items/", "/api/v1/items/{id}/", "/api/v1/items/{id}/similar/",
            "/api/v1/spaces/", "/api/v1/auth/token/"} <= paths  # fmt: skip
    for path in paths:
        resolve(path.replace("{id}", "1"))  # raises Resolver404 for a documented path that does not exist


def test_the_docs_page_uses_no_cdn() -> None:
    page = APIClient().get("/api/v1/docs/").content.decode()

    assert "swagger-ui" in page
    assert "cdn." not in page and "unpkg" not in page and "jsdelivr" not in page


def test_a_token_is_issued_used_with_either_scheme_and_revoked(django_user_model) -> None:
    django_user_model.objects.create_user("alice", password="s3cret-pass")
    client = APIClient()

    issued = client.post("/api/v1/auth/token/", {"username": "alice", "password": "s3cret-pass"}, format="json")
    key = issued.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    as_token = client.get("/api/v1/items/").status_code
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    as_bearer = client.get("/api/v1/items/").status_code
    revoked = client.delete("/api/v1/auth/token/").status_code
    after = client.get("/api/v1/items/")

    assert issued.status_code == 200
    assert (as_token, as_bearer, revoked) == (200, 200, 204)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "authentication_failed"
    assert not Token.objects.exists()


def test_wrong_passwords_get_a_clear_error(django_user_model) -> None:
    django_user_model.objects.create_user("alice", password="s3cret-pass")

    response = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid_input", "message": "Wrong user name or password.",
                                         "details": {}}}  # fmt: skip


def test_missing_credentials_get_401_in_the_error_shape() -> None:
    response = APIClient().get("/api/v1/items/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"]


def test_validation_errors_name_the_field() -> None:
    response = APIClient().get("/api/v1/search/?q=dog&page=0&kind=spaceship")

    body = response.json()
    assert response.status_code == 400
    assert body["error"]["code"] == "validation_error"
    assert set(body["error"]["details"]) == {"page", "kind"}
    assert body["error"]["message"].startswith(("page:", "kind:"))


def test_search_is_rate_limited(settings) -> None:
    from django.core.cache import cache
    from rest_framework.throttling import SimpleRateThrottle

    original_rates = SimpleRateThrottle.THROTTLE_RATES
    cache.clear()
    # DRF reads the rates once, at import: swap them for this test only.
    SimpleRateThrottle.THROTTLE_RATES = {**original_rates, "search_anon": "2/min"}
    try:
        codes = [APIClient().get("/api/v1/search/?q=dog").status_code for _ in range(3)]
        last = APIClient().get("/api/v1/search/?q=dog")
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original_rates
        cache.clear()

    assert codes == [404, 404, 429]  # 404: nothing indexed yet, answered until the limit
    assert last.json()["error"]["code"] == "throttled"
    assert int(last["Retry-After"]) > 0
