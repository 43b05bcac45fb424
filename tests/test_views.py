"""The pages: upload form for logged-in people, friendly messages for bad files."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media_index.models import Item
from tests import media

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw")


def test_home_page_renders(client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert "Search your pictures and notes" in response.content.decode()


def test_upload_needs_a_login(client) -> None:
    response = client.get("/upload/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_person_uploads_files_and_sees_a_message_per_file(client, alice) -> None:
    client.force_login(alice)

    response = client.post("/upload/", {
        "up-files": [SimpleUploadedFile("dog.png", media.image_bytes("brown")),
                     SimpleUploadedFile("bomb.png", media.png_bomb())],
        "up-visibility": "public",
    }, follow=True)  # fmt: skip

    page = response.content.decode()
    assert response.status_code == 200
    assert "dog.png: added" in page
    assert "bomb.png: The picture has too many pixels" in page
    item = Item.objects.get()
    assert (item.owner, item.visibility, item.status) == (alice, "public", "pending")
    assert "dog" in page and "pending" in page


def test_a_person_writes_a_note(client, alice) -> None:
    client.force_login(alice)

    response = client.post("/upload/", {"note-title": "Walk", "note-text": "<b>The puppy</b> ran.",
                                        "note-visibility": "private"}, follow=True)  # fmt: skip

    assert "Note saved." in response.content.decode()
    assert Item.objects.get().note_text == "<b>The puppy</b> ran."


def test_an_empty_note_gets_a_form_error_not_a_crash(client, alice) -> None:
    client.force_login(alice)

    response = client.post("/upload/", {"note-text": "   ", "note-visibility": "private"})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Item.objects.exists()


def test_the_login_page_renders(client) -> None:
    assert client.get("/accounts/login/").status_code == 200
