"""Sign-in throttling: per account and per client, on every way in, not fooled by X-Forwarded-For."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db

PASSWORD = "right-horse-battery"
_addresses = (f"203.0.113.{n}" for n in itertools.count(1))


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password=PASSWORD, is_staff=True)


def _token(username: str, password: str) -> int:
    # Every attempt claims another address: a rotating X-Forwarded-For, as an attacker sends.
    response = APIClient().post("/api/v1/auth/token/", {"username": username, "password": password},
                                format="json", HTTP_X_FORWARDED_FOR=next(_addresses))  # fmt: skip
    return response


def test_an_account_locks_after_its_failures_whatever_address_is_claimed(alice, settings) -> None:
    codes = [_token("alice", f"guess-{n}").status_code for n in range(settings.SIGN_IN_ACCOUNT_FAILURES)]
    refused = _token("alice", PASSWORD)

    assert codes == [400] * settings.SIGN_IN_ACCOUNT_FAILURES
    # Even the right password waits: that is what stops the guesser.
    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in refused.json()["error"]["message"]
    assert int(refused["Retry-After"]) > 0


def test_the_right_password_clears_the_account_count(alice, settings) -> None:
    for round_ in range(2):
        for n in range(settings.SIGN_IN_ACCOUNT_FAILURES - 1):
            assert _token("alice", f"guess-{round_}-{n}").status_code == 400
        assert _token("alice", PASSWORD).status_code == 201


def test_one_client_spraying_many_accounts_is_stopped(django_user_model, settings) -> None:
    django_user_model.objects.create_user("bob", password=PASSWORD)
    client = APIClient()
    for n in range(settings.SIGN_IN_CLIENT_FAILURES):
        response = client.post("/api/v1/auth/token/", {"username": f"user{n}", "password": "123456"}, format="json")
        assert response.status_code == 400
    # A different account, the right password, from the same client: refused.
    response = client.post("/api/v1/auth/token/", {"username": "bob", "password": PASSWORD}, format="json")
    assert response.status_code == 429


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_login_pages_lock_and_say_why(alice, settings, path: str) -> None:
    for n in range(settings.SIGN_IN_ACCOUNT_FAILURES):
        page = Client().post(path, {"username": "alice", "password": f"guess-{n}"},
                             HTTP_X_FORWARDED_FOR=next(_addresses))  # fmt: skip
        assert page.status_code == 200 and "_auth_user_id" not in page.client.session

    client = Client()
    page = client.post(path, {"username": "alice", "password": PASSWORD})

    assert page.status_code == 200
    assert "Too many failed sign-in attempts" in page.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_lifts_after_the_window(alice, settings) -> None:
    settings.SIGN_IN_LOCKOUT_SECONDS = 1
    for n in range(settings.SIGN_IN_ACCOUNT_FAILURES):
        _token("alice", f"guess-{n}")
    assert _token("alice", PASSWORD).status_code == 429
    import time

    time.sleep(1.5)
    assert _token("alice", PASSWORD).status_code == 201


def test_rate_limits_ignore_x_forwarded_for_unless_a_proxy_is_trusted(settings) -> None:
    original_rates = SimpleRateThrottle.THROTTLE_RATES
    # DRF reads the rates once, at import: swap them for this test only.
    SimpleRateThrottle.THROTTLE_RATES = {**original_rates, "search_anon": "2/min"}
    try:
        spoofed = [APIClient().get("/api/v1/search/?q=dog", HTTP_X_FORWARDED_FOR=next(_addresses)).status_code
                   for _ in range(3)]  # fmt: skip
        cache.clear()
        # Behind one trusted proxy, the address it appends is the client: two real clients
        # get a budget each.
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
        behind_proxy = [
            APIClient().get("/api/v1/search/?q=dog", HTTP_X_FORWARDED_FOR=f"198.51.100.{n % 2}").status_code
            for n in range(4)
        ]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original_rates

    assert spoofed[-1] == 429
    assert 429 not in behind_proxy
