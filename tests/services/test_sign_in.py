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


def test_a_wrong_password_says_so_once(alice) -> None:
    page = Client().post("/accounts/login/", {"username": "alice", "password": "nope"}).content.decode()

    assert page.count('class="error"') == 1
    assert "Too many" not in page


def _issue(username: str, **extra) -> str:  # noqa: ANN003
    response = APIClient().post("/api/v1/auth/token/", {"username": username, "password": PASSWORD, **extra},
                                format="json")  # fmt: skip
    assert response.status_code == 201, response.content
    return response.json()["token"]


def _works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/auth/tokens/").status_code == 200


def test_a_password_change_revokes_every_token_of_that_user(alice, django_user_model) -> None:
    bob = django_user_model.objects.create_user("bob", password=PASSWORD)
    alices, bobs = _issue("alice"), _issue("bob")
    client = Client()
    client.force_login(alice)
    form = client.get("/accounts/password_change/").content.decode()
    assert "signs out every app that uses an API token" in form

    # Through the site's password page; the admin and changepassword save the user the same way.
    changed = client.post("/accounts/password_change/", {
        "old_password": PASSWORD, "new_password1": "a-new-long-secret-9", "new_password2": "a-new-long-secret-9",
    })  # fmt: skip
    bob.first_name = "Bob"
    bob.save()  # saving a user without a new password revokes nothing

    assert changed.status_code == 302
    assert not _works(alices)
    assert _works(bobs)


def test_tokens_expire_when_asked_and_the_server_caps_their_life(alice, settings) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from media_index.models import ApiToken

    short = _issue("alice", expires_in_days=1)
    settings.API_TOKEN_MAX_DAYS = 30
    capped = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD,
                                                      "expires_in_days": 365}, format="json").json()  # fmt: skip
    assert _works(short)

    ApiToken.objects.filter(prefix=short[:8]).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert not _works(short)
    lifetime = ApiToken.objects.get(pk=capped["id"]).expires_at - timezone.now()
    assert timedelta(days=29) < lifetime <= timedelta(days=30)
    assert capped["expires"] is not None
