"""/api/v1/items/: token auth, create, list own, get, delete with files."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from media_index.models import Item
from tests import media
from tests.factories import api_key

pytestmark = pytest.mark.django_db


def _client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    return client


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw")


def test_creating_needs_a_token() -> None:
    response = APIClient().post("/api/v1/items/", {"text": "hello"})

    assert response.status_code == 401


def test_a_note_is_created_then_recognised_as_a_duplicate(alice) -> None:
    client = _client_for(alice)

    first = client.post("/api/v1/items/", {"text": "The puppy sleeps.", "title": "Nap"}, format="json")
    again = client.post("/api/v1/items/", {"text": "The puppy sleeps.", "title": "Nap"}, format="json")

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["status"] == "pending"
    assert first.json()["owner"] == "alice"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "exactly one"),
        ({"text": "x", "file": SimpleUploadedFile("a.png", media.image_bytes())}, "exactly one"),
        ({"text": "   "}, "empty"),
        ({"text": "hi", "visibility": "friends"}, "valid choice"),
        ({"file": SimpleUploadedFile("b.png", media.png_bomb())}, "megapixels"),
    ],
    ids=["nothing", "both", "blank", "bad-visibility", "bomb"],
)
def test_bad_requests_get_400_with_a_message(alice, payload, message) -> None:
    response = _client_for(alice).post("/api/v1/items/", payload, format="multipart")

    assert response.status_code == 400
    assert message in response.content.decode()


def test_people_list_and_see_only_their_own_items(alice, bob) -> None:
    _client_for(alice).post("/api/v1/items/", {"text": "alice's note"}, format="json")
    bob_client = _client_for(bob)
    bob_item = bob_client.post("/api/v1/items/", {"text": "bob's note"}, format="json").json()
    alice_item = Item.objects.get(owner__username="alice")

    listed = bob_client.get("/api/v1/items/").json()
    peeked = bob_client.get(f"/api/v1/items/{alice_item.pk}/")

    assert [item["id"] for item in listed] == [bob_item["id"]]
    assert peeked.status_code == 404


def test_list_filters_by_status_and_rejects_unknown_ones(alice) -> None:
    client = _client_for(alice)
    client.post("/api/v1/items/", {"text": "a note"}, format="json")

    assert len(client.get("/api/v1/items/?status=pending").json()) == 1
    assert client.get("/api/v1/items/?status=ready").json() == []
    assert client.get("/api/v1/items/?status=nonsense").status_code == 400


def test_delete_removes_row_and_file(alice, django_capture_on_commit_callbacks) -> None:
    client = _client_for(alice)
    created = client.post(
        "/api/v1/items/", {"file": SimpleUploadedFile("red.png", media.image_bytes())}, format="multipart"
    ).json()
    item = Item.objects.get(pk=created["id"])
    storage, name = item.original.storage, item.original.name
    assert storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/items/{item.pk}/")

    assert response.status_code == 204
    assert not Item.objects.filter(pk=item.pk).exists()
    assert not storage.exists(name)


def test_spaces_are_listed_for_anyone() -> None:
    response = APIClient().get("/api/v1/spaces/")

    assert response.status_code == 200
    assert response.json() == []


def test_the_list_pages_with_limit_and_offset_and_says_the_total(alice) -> None:
    client = _client_for(alice)
    for index in range(5):
        client.post("/api/v1/items/", {"text": f"note number {index}"}, format="json")

    first = client.get("/api/v1/items/", {"limit": 2})
    last = client.get("/api/v1/items/", {"limit": 2, "offset": 4})
    bad = client.get("/api/v1/items/", {"limit": 0})

    assert first.status_code == 200 and len(first.json()) == 2
    assert first["X-Total-Count"] == "5"
    assert 'rel="next"' in first["Link"] and "offset=2" in first["Link"] and "limit=2" in first["Link"]
    assert len(last.json()) == 1 and "Link" not in last
    assert {row["id"] for row in first.json()}.isdisjoint(row["id"] for row in last.json())
    assert bad.status_code == 400 and "limit" in bad.json()["error"]["message"]


def test_a_zip_sent_to_the_api_is_refused_before_anything_is_saved(alice) -> None:
    archive = media.zip_bytes({f"note{n}.txt": f"note number {n}".encode() for n in range(4)})

    response = _client_for(alice).post("/api/v1/items/", {"file": SimpleUploadedFile("a.zip", archive)},
                                       format="multipart")  # fmt: skip

    assert response.status_code == 400
    assert "Upload zip files through the admin" in response.json()["error"]["message"]
    assert Item.objects.filter(owner=alice).count() == 0
