"""The OpenAPI schema validates and matches the routes; tokens are issued, used (Token or Bearer) and revoked."""

from __future__ import annotations

import pytest
import yaml
from django.urls import resolve
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from media_index.models import ApiToken

pytestmark = pytest.mark.django_db


def test_the_schema_is_valid_openapi_3_and_every_path_exists() -> None:
    response = APIClient().get("/api/v1/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {"/api/v1/search/", "/api/v1/items/", "/api/v1/items/{id}/", "/api/v1/items/{id}/similar/",
            "/api/v1/spaces/", "/api/v1/auth/token/", "/api/v1/auth/tokens/",
            "/api/v1/auth/tokens/{token_id}/"} <= paths  # fmt: skip
    for path in paths:
        resolve(path.replace("{id}", "1").replace("{token_id}", "1"))  # raises Resolver404 for a documented path that does not exist


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

    assert issued.status_code == 201
    assert (as_token, as_bearer, revoked) == (200, 200, 204)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "authentication_failed"
    assert not ApiToken.objects.exists()


def test_tokens_are_listed_without_keys_and_one_can_be_revoked_alone(django_user_model) -> None:
    # Given alice signed in from a phone and a laptop, and bob from his phone
    django_user_model.objects.create_user("alice", password="s3cret-pass")
    django_user_model.objects.create_user("bob", password="b0b-pass!")
    issue = APIClient().post
    phone = issue("/api/v1/auth/token/", {"username": "alice", "password": "s3cret-pass", "name": "phone"}).json()
    laptop = issue("/api/v1/auth/token/", {"username": "alice", "password": "s3cret-pass", "name": "laptop"}).json()
    bobs = issue("/api/v1/auth/token/", {"username": "bob", "password": "b0b-pass!"}).json()
    alice, bob = APIClient(), APIClient()
    alice.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop['token']}")
    bob.credentials(HTTP_AUTHORIZATION=f"Token {bobs['token']}")

    # When alice lists her tokens
    listed = alice.get("/api/v1/auth/tokens/").json()

    # Then she sees both of hers (no keys; the one in use marked), not bob's
    assert [(row["name"], row["current"]) for row in listed] == [("laptop", True), ("phone", False)]
    assert all("token" not in row and row["prefix"] for row in listed)
    assert phone["token"] not in str(listed) and laptop["token"] not in str(listed)
    assert ApiToken.objects.filter(key_digest__in=[phone["token"], laptop["token"]]).count() == 0  # only digests

    # When bob tries to revoke alice's phone token, and alice revokes it herself
    assert bob.delete(f"/api/v1/auth/tokens/{phone['id']}/").status_code == 404
    assert alice.delete(f"/api/v1/auth/tokens/{phone['id']}/").status_code == 204

    # Then the phone's key stops working and the laptop's still works
    lost_phone = APIClient()
    lost_phone.credentials(HTTP_AUTHORIZATION=f"Token {phone['token']}")
    assert lost_phone.get("/api/v1/items/").status_code == 401
    assert alice.get("/api/v1/items/").status_code == 200
    assert alice.get("/api/v1/auth/tokens/").json()[0]["last_used"] is not None


def test_token_endpoints_need_a_token_or_a_session() -> None:
    anonymous = APIClient()

    assert anonymous.get("/api/v1/auth/tokens/").status_code == 401
    assert anonymous.delete("/api/v1/auth/tokens/1/").status_code == 401
    response = anonymous.delete("/api/v1/auth/token/")
    assert response.status_code == 400
    assert "Authorization" in response.json()["error"]["message"]


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
