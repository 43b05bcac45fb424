"""Creating items from uploads: content-based types, limits, duplicates, zips, never a crash."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media_index.errors import InvalidInput
from media_index.models import Item
from media_index.services.uploads import item_create_image, item_create_note, items_create_from_files
from tests import media

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw")


def test_an_image_is_saved_with_its_facts_before_any_embedding(owner) -> None:
    data = media.image_bytes("red", size=(120, 80), fmt="PNG")

    item, created = item_create_image(owner=owner, data=data, filename="../../etc/Red Ball.png")

    assert created
    assert (item.kind, item.status, item.mime_type) == (Item.Kind.IMAGE, Item.Status.PENDING, "image/png")
    assert (item.width, item.height, item.byte_size) == (120, 80, len(data))
    assert item.original_name == "Red_Ball.png"
    assert item.title == "Red Ball"
    assert item.original.name.startswith(f"originals/{owner.pk}/") and ".." not in item.original.name
    with item.original.open("rb") as stored:
        assert stored.read() == data


def test_the_same_picture_twice_is_one_item(owner) -> None:
    data = media.image_bytes("blue")

    first, created_first = item_create_image(owner=owner, data=data, filename="a.png")
    second, created_second = item_create_image(owner=owner, data=data, filename="copy of a.png")

    assert (created_first, created_second) == (True, False)
    assert first.pk == second.pk
    assert Item.objects.count() == 1


def test_the_same_picture_from_two_people_is_two_items(owner, django_user_model) -> None:
    bob = django_user_model.objects.create_user("bob", password="pw")
    data = media.image_bytes("blue")

    item_create_image(owner=owner, data=data)
    item_create_image(owner=bob, data=data)

    assert Item.objects.count() == 2


def test_the_type_comes_from_the_bytes_not_the_name(owner) -> None:
    item, _ = item_create_image(owner=owner, data=media.image_bytes(fmt="JPEG"), filename="really.png")

    assert item.mime_type == "image/jpeg"
    assert item.original.name.endswith(".jpg")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (media.png_bomb(), "megapixels"),
        (media.corrupt_image(), "not a picture"),
        (b"%PDF-1.4 not an image", "not a picture"),
        (b"", "not a picture"),
    ],
    ids=["20000x20000-png-bomb", "corrupt", "pdf", "empty"],
)
def test_bad_images_are_refused_with_a_reason(owner, data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        item_create_image(owner=owner, data=data, filename="x.png")

    assert not Item.objects.exists()


def test_too_many_bytes_are_refused(owner, settings) -> None:
    settings.UPLOAD_MAX_BYTES = 1000

    with pytest.raises(InvalidInput, match="larger than"):
        item_create_image(owner=owner, data=media.image_bytes(size=(400, 400), fmt="BMP"))


def test_a_note_is_saved_and_deduplicated(owner) -> None:
    first, created = item_create_note(owner=owner, text="Our puppy sleeps.\r\nA lot.", title="Puppy")
    again, created_again = item_create_note(owner=owner, text="Our puppy sleeps.\nA lot.", title="Puppy")

    assert created and not created_again
    assert first.pk == again.pk
    assert first.note_text == "Our puppy sleeps.\nA lot."
    assert (first.kind, first.status) == (Item.Kind.NOTE, Item.Status.PENDING)


@pytest.mark.parametrize(("text", "message"), [("   \n ", "empty"), ("x" * 300_001, "limit")])
def test_bad_notes_are_refused(owner, settings, text: str, message: str) -> None:
    settings.NOTE_MAX_CHARS = 300_000

    with pytest.raises(InvalidInput, match=message):
        item_create_note(owner=owner, text=text)


def test_unknown_visibility_is_refused(owner) -> None:
    with pytest.raises(InvalidInput, match="Visibility"):
        item_create_note(owner=owner, text="hello", visibility="friends")


def _upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_many_files_at_once_each_succeed_or_fail_alone(owner) -> None:
    files = [
        _upload("dog.png", media.image_bytes("brown")),
        _upload("notes.md", b"# Walk\nThe puppy ran in the park."),
        _upload("bomb.png", media.png_bomb()),
        _upload("tool.exe", b"MZ\x90\x00\x03binary"),
        _upload("cat.jpg", media.image_bytes("gray", fmt="JPEG")),
    ]

    outcomes = items_create_from_files(owner=owner, files=files)

    by_name = {outcome.name: outcome for outcome in outcomes}
    assert by_name["dog.png"].created and by_name["cat.jpg"].created
    assert by_name["notes.md"].item.kind == Item.Kind.NOTE
    assert by_name["notes.md"].item.note_text.startswith("# Walk")
    assert "megapixels" in by_name["bomb.png"].error
    assert "not a picture" in by_name["tool.exe"].error
    assert Item.objects.count() == 3


def test_a_zip_of_pictures_and_notes_is_expanded_safely(owner) -> None:
    archive = media.zip_bytes({
        "holiday/beach.png": media.image_bytes("yellow"),
        "../../escape.txt": b"A note that tried to escape the folder.",
        "__MACOSX/._beach.png": b"resource fork",
        "inner.zip": media.zip_bytes({"x.txt": b"nested"}),
        "broken.jpg": media.corrupt_image(),
    })  # fmt: skip

    outcomes = items_create_from_files(owner=owner, files=[_upload("batch.zip", archive)])

    created = {outcome.item.original_name for outcome in outcomes if outcome.created}
    errors = {outcome.name: outcome.error for outcome in outcomes if outcome.error}
    assert created == {"beach.png", "escape.txt"}
    assert "inside zip" in errors["batch.zip/inner.zip"]
    assert "not a picture" in errors["batch.zip/broken.jpg"]
    assert all(".." not in item.original.name for item in Item.objects.all())


def test_a_zip_bomb_member_is_refused(owner) -> None:
    archive = media.zip_bytes({"zeros.txt": b"\x00" * 5_000_000})

    outcomes = items_create_from_files(owner=owner, files=[_upload("bomb.zip", archive)])

    assert len(outcomes) == 1 and "zip bomb" in outcomes[0].error
    assert not Item.objects.exists()


def test_binary_data_named_txt_is_not_a_note(owner) -> None:
    outcomes = items_create_from_files(owner=owner, files=[_upload("x.txt", b"\x00\x01\x02binary\xff\xfe")])

    assert "not UTF-8 text" in outcomes[0].error


def test_a_file_read_stream_is_bounded(owner, settings) -> None:
    settings.UPLOAD_MAX_BYTES = 10

    outcomes = items_create_from_files(owner=owner, files=[io.BytesIO(b"more than ten bytes")])

    assert "larger than" in outcomes[0].error
