"""A battery of malformed requests through the API and the pages: each gets a 4xx and a message, never a 500."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests import media
from tests.factories import api_key, make_item, make_space, unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(django_user_model):  # noqa: ANN201
    alice = django_user_model.objects.create_user("alice", password="pw")
    space = make_space()
    item = make_item(alice, space, [unit(1)], title="public")
    token = api_key(alice)
    return {"alice": alice, "item": item, "token": token}


def _file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


# (description, method, path, kwargs, authenticated)
API_CASES = [
    ("no token", "post", "/api/v1/items/", {"data": {"text": "x"}}, False),
    ("malformed token header", "get", "/api/v1/items/", {"HTTP_AUTHORIZATION": "Token"}, False),
    ("token with spaces", "get", "/api/v1/items/", {"HTTP_AUTHORIZATION": "Token a b c"}, False),
    ("unknown token", "get", "/api/v1/items/", {"HTTP_AUTHORIZATION": "Bearer nope"}, False),
    ("broken JSON", "post", "/api/v1/items/", {"data": "{not json", "content_type": "application/json"}, True),
    ("unsupported media type", "post", "/api/v1/items/", {"data": "x", "content_type": "application/xml"}, True),
    ("neither file nor text", "post", "/api/v1/items/", {"data": {}, "format": "multipart"}, True),
    ("empty file", "post", "/api/v1/items/", {"data": {"file": _file("a.png", b"")}, "format": "multipart"}, True),
    ("decompression bomb", "post", "/api/v1/items/", {"data": {"file": _file("b.png", media.png_bomb())}, "format": "multipart"}, True),
    ("corrupt image", "post", "/api/v1/items/", {"data": {"file": _file("c.png", media.corrupt_image())}, "format": "multipart"}, True),
    ("executable", "post", "/api/v1/items/", {"data": {"file": _file("d.exe", b"MZ\x90\x00")}, "format": "multipart"}, True),
    ("html as a picture", "post", "/api/v1/items/", {"data": {"file": _file("e.jpg", b"<html><script>alert(1)</script>")}, "format": "multipart"}, True),
    ("svg", "post", "/api/v1/items/", {"data": {"file": _file("f.svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>")}, "format": "multipart"}, True),
    ("zip through the API", "post", "/api/v1/items/", {"data": {"file": _file("g.zip", media.zip_bytes({"a.txt": b"hi", "b.txt": b"yo"}))}, "format": "multipart"}, True),
    ("blank note", "post", "/api/v1/items/", {"data": {"text": "  \n "}, "format": "json"}, True),
    ("bad visibility", "post", "/api/v1/items/", {"data": {"text": "x", "visibility": "world"}, "format": "json"}, True),
    ("title too long", "post", "/api/v1/items/", {"data": {"text": "x", "title": "t" * 301}, "format": "json"}, True),
    ("bad status filter", "get", "/api/v1/items/?status=%00", {}, True),
    ("page zero", "get", "/api/v1/search/?q=dog&page=0", {}, False),
    ("page not a number", "get", "/api/v1/search/?q=dog&page=abc", {}, False),
    ("page size too big", "get", "/api/v1/search/?q=dog&page_size=100000", {}, False),
    ("bad date", "get", "/api/v1/search/?q=dog&date_from=31/31/2026", {}, False),
    ("reversed dates", "get", "/api/v1/search/?q=dog&date_from=2026-05-01&date_to=2026-01-01", {}, False),
    ("unknown kind", "get", "/api/v1/search/?q=dog&kind=video", {}, False),
    ("query too long", "get", "/api/v1/search/?q=" + "a" * 1001, {}, False),
    ("mine without login", "get", "/api/v1/items/{item}/similar/?scope=mine", {}, False),
    ("unknown space", "get", "/api/v1/items/{item}/similar/?space=424242", {}, False),
    ("image search with a text file", "post", "/api/v1/search/", {"data": {"image": _file("q.png", b"hello")}, "format": "multipart"}, False),
    ("image search with a bomb", "post", "/api/v1/search/", {"data": {"image": _file("q.png", media.png_bomb())}, "format": "multipart"}, False),
    ("image search with a 20-megapixel PNG", "post", "/api/v1/search/", {"data": {"image": _file("q.png", media.huge_png())}, "format": "multipart"}, False),
    ("token with a negative lifetime", "post", "/api/v1/auth/token/", {"data": {"username": "alice", "password": "pw", "expires_in_days": -1}, "format": "json"}, False),
    ("item that does not exist", "get", "/api/v1/items/99999999/", {}, True),
    ("id that is not a number", "get", "/api/v1/items/abc/", {}, True),
    ("method not allowed", "put", "/api/v1/spaces/", {"data": {}}, False),
    ("token for a wrong password", "post", "/api/v1/auth/token/", {"data": {"username": "alice", "password": "x"}, "format": "json"}, False),
    ("token request without fields", "post", "/api/v1/auth/token/", {"data": {}, "format": "json"}, False),
    ("item list offset not a number", "get", "/api/v1/items/?offset=x", {}, True),
    ("unknown search mode", "get", "/api/v1/search/?q=dog&mode=fuzzy", {}, False),
    ("lexical search without words", "get", "/api/v1/search/?q=&mode=lexical", {}, False),
    ("lexical search of a picture", "post", "/api/v1/search/", {"data": {"image": _file("q.png", media.image_bytes()), "mode": "lexical"}, "format": "multipart"}, False),
    ("revoke a token that does not exist", "delete", "/api/v1/auth/tokens/424242/", {}, True),
    ("token id that is not a number", "delete", "/api/v1/auth/tokens/abc/", {}, True),
    ("token name too long", "post", "/api/v1/auth/token/", {"data": {"username": "alice", "password": "pw", "name": "n" * 101}, "format": "json"}, False),
    ("deeply nested JSON for a token", "post", "/api/v1/auth/token/", {"data": '{"username": ' + "[" * 1000 + "]" * 1000 + ', "password": "x"}', "content_type": "application/json"}, False),
    ("deeply nested JSON for an item", "post", "/api/v1/items/", {"data": '{"text": ' + "[" * 5000 + "]" * 5000 + "}", "content_type": "application/json"}, True),
    ("1,500 repeated parameters", "get", "/api/v1/search/?q=dog" + "&kind=image" * 1500, {}, False),
    ("unknown API path", "get", "/api/v1/nothing/here/", {}, False),
    ("unknown API version", "get", "/api/v2/search/?q=dog", {}, False),
]


@pytest.mark.parametrize(("description", "method", "path", "kwargs", "authenticated"), API_CASES,
                         ids=[case[0] for case in API_CASES])  # fmt: skip
def test_the_api_answers_malformed_requests_with_4xx_and_a_message(setup, description, method, path, kwargs,
                                                                     authenticated) -> None:  # fmt: skip
    client = APIClient()
    if authenticated:
        client.credentials(HTTP_AUTHORIZATION=f"Token {setup['token']}")
    extra = dict(kwargs)
    data = extra.pop("data", None)

    response = getattr(client, method)(path.format(item=setup["item"].pk), data, **extra)

    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    # The API never answers with an HTML page, not even for a URL that matches no route.
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    assert response.json()["error"]["message"]


PAGE_CASES = [
    ("bad search options", "get", "/?q=dog&kind=video&date_from=nope", {}),
    ("unknown match mode", "get", "/?q=dog&mode=fuzzy", {}),
    ("picture query that is not a picture", "post", "/", {"image": _file("x.png", b"not an image")}),
    ("picture query without a file", "post", "/", {}),
    ("picture query with a bomb", "post", "/", {"image": _file("x.png", media.png_bomb())}),
    ("picture query of 20 megapixels", "post", "/", {"image": _file("x.png", media.huge_png())}),
    ("upload form without files", "post", "/upload/", {"up-visibility": "public"}),
    ("upload form with a bad visibility", "post", "/upload/", {"up-files": _file("a.png", b"x"), "up-visibility": "everyone"}),
    ("blank note", "post", "/upload/", {"note-text": " ", "note-visibility": "private"}),
    ("note too long", "post", "/upload/", {"note-text": "x" * 300_000, "note-visibility": "private"}),
    ("detail of a missing item", "get", "/items/99999999/", {}),
    ("unknown language", "post", "/i18n/setlang/", {"language": "xx", "next": "/"}),
    ("unknown page", "get", "/no/such/page/", {}),
    ("1,500 repeated parameters", "get", "/?q=dog" + "&kind=image" * 1500, {}),
]


@pytest.mark.parametrize(("description", "method", "path", "data"), PAGE_CASES, ids=[case[0] for case in PAGE_CASES])
def test_the_pages_answer_malformed_requests_with_a_message(client, setup, description, method, path, data) -> None:
    client.force_login(setup["alice"])

    response = getattr(client, method)(path, data)

    if description == "unknown language":
        # Django ignores an unknown language and goes back: a redirect, not an error, is the friendly answer.
        assert response.status_code == 302
        return
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    page = response.content.decode()
    assert any(marker in page for marker in ('class="error"', "errorlist", 'id="error-page"')), page[:500]
    assert "Traceback" not in page


@pytest.mark.parametrize("dates", ["date_to=9999-12-31", "date_from=0001-01-01", "date_from=0001-01-01&date_to=9999-12-31"])
def test_the_first_and_last_representable_days_are_valid_filters(setup, client, dates: str) -> None:
    """date_to + 1 day overflowed (a 500); the extreme days simply bound nothing."""
    api = APIClient().get(f"/api/v1/search/?q=public&mode=lexical&{dates}")
    page = client.get(f"/?q=public&mode=lexical&{dates}")

    assert api.status_code == 200, api.content[:300]
    assert page.status_code == 200


def test_the_error_pages_speak_the_visitors_language(client) -> None:
    english = client.get("/no/such/page/")
    chinese = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert english.status_code == chinese.status_code == 404
    assert "Page not found" in english.content.decode()
    assert "页面不存在" in chinese.content.decode()
