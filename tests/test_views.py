"""The pages: upload form for logged-in people, friendly messages for bad files."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media_index.models import Item
from media_index.services.uploads import item_create_note
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

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Item.objects.exists()


def test_the_login_page_renders(client) -> None:
    assert client.get("/accounts/login/").status_code == 200


def test_an_empty_query_with_nothing_to_show_says_so(client) -> None:
    response = client.get("/?q=+++")

    assert response.status_code == 200
    assert "Nothing here yet with these filters." in response.content.decode()


def test_an_empty_query_browses_the_library_newest_first_by_day(client, alice, django_user_model) -> None:
    """Yours and the public items, grouped under day headers (taken date, else upload
    date), filters applied; someone else's private items never."""
    from datetime import timedelta

    from django.utils import timezone

    bob = django_user_model.objects.create_user("bob", password="pw")
    mine = item_create_note(owner=alice, text="my shopping list", visibility="private")[0]
    public = item_create_note(owner=bob, text="bob's public recipe", visibility="public")[0]
    hidden = item_create_note(owner=bob, text="bob's private diary", visibility="private")[0]
    Item.objects.filter(pk=public.pk).update(created_at=timezone.now() - timedelta(days=3))
    client.force_login(alice)

    page = client.get("/?q=").content.decode()
    pictures_only = client.get("/?q=&kind=image").content.decode()
    public_only = client.get("/?q=&scope=public").content.decode()

    assert page.count('class="day-header"') == 2
    assert page.index(f'data-item-id="{mine.pk}"') < page.index(f'data-item-id="{public.pk}"')
    assert f'data-item-id="{hidden.pk}"' not in page and "private diary" not in page
    assert "data-item-id=" not in pictures_only
    assert f'data-item-id="{public.pk}"' in public_only and f'data-item-id="{mine.pk}"' not in public_only


def test_invalid_search_options_get_a_message_not_a_crash(client) -> None:
    response = client.get("/?q=dog&kind=spaceship&date_from=yesterday&page=-3")

    page = response.content.decode()
    assert response.status_code == 400
    assert "Some search options are not valid" in page


def test_searching_before_anything_is_indexed_says_so(client) -> None:
    response = client.get("/?q=puppy")

    assert response.status_code == 200
    assert "Nothing has been indexed yet" in response.content.decode()


def test_an_unreadable_picture_query_gets_a_friendly_message(client) -> None:
    from media_index.models import EmbeddingSpace

    EmbeddingSpace.objects.create(backend="open_clip", model_name="demo-clip", pretrained="demo",
                                  checkpoint_sha256="0" * 64, dimension=128, max_tokens=77, is_active=True)  # fmt: skip

    response = client.post("/", {"image": SimpleUploadedFile("x.jpg", media.corrupt_image())})

    assert response.status_code == 400
    assert "not a picture in a supported format" in response.content.decode()


def test_the_page_follows_the_browser_language(client) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")

    page = response.content.decode()
    assert "搜索你的图片和笔记" in page
    assert 'lang="zh-hans"' in page


def test_the_language_can_be_switched(client) -> None:
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})

    assert "搜索你的图片和笔记" in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_private_items_pages_and_files_are_hidden_from_others(client, alice, django_user_model) -> None:
    from media_index.services.uploads import item_create_image

    item, _ = item_create_image(owner=alice, data=media.image_bytes("red"), filename="secret.png")
    paths = [f"/items/{item.pk}/", f"/items/{item.pk}/file/", f"/items/{item.pk}/similar/"]

    assert [client.get(path).status_code for path in paths] == [404, 404, 404]
    client.force_login(django_user_model.objects.create_user("mallory", password="pw"))
    assert [client.get(path).status_code for path in paths] == [404, 404, 404]
    client.force_login(alice)
    assert client.get(paths[0]).status_code == 200
    response = client.get(paths[1])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "sandbox" in response["Content-Security-Policy"]


def test_only_the_owner_deletes(client, alice, django_user_model) -> None:
    item, _ = item_create_note(owner=alice, text="mine")
    client.force_login(django_user_model.objects.create_user("mallory", password="pw"))

    assert client.post(f"/items/{item.pk}/delete/").status_code == 404
    assert Item.objects.filter(pk=item.pk).exists()


def test_a_model_that_cannot_load_gets_a_friendly_503(client) -> None:
    from media_index.models import EmbeddingSpace

    EmbeddingSpace.objects.create(backend="open_clip", model_name="demo-clip", pretrained="gone/missing.safetensors",
                                  checkpoint_sha256="0" * 64, dimension=128, max_tokens=77, is_active=True)  # fmt: skip

    response = client.get("/?q=puppy")

    assert response.status_code == 503
    assert "missing.safetensors" in response.content.decode() and "does not exist" in response.content.decode()


def test_the_search_page_is_rate_limited(client) -> None:
    from django.core.cache import cache
    from rest_framework.throttling import SimpleRateThrottle

    original_rates = SimpleRateThrottle.THROTTLE_RATES
    cache.clear()
    SimpleRateThrottle.THROTTLE_RATES = {**original_rates, "search_anon": "2/min"}
    try:
        codes = [client.get("/?q=dog").status_code for _ in range(3)]
        last = client.get("/?q=dog")
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original_rates
        cache.clear()

    assert codes == [200, 200, 429]
    assert "Too many requests" in last.content.decode()
    assert int(last["Retry-After"]) > 0


def test_a_photo_is_found_and_shown_by_the_day_it_was_taken(client, alice) -> None:
    """EXIF DateTimeOriginal 2019-07-14: a taken-date filter for July 2019 finds it (uploaded
    today), and its page says "taken 14 Jul 2019" / "拍摄于 2019年7月14日"."""
    from rest_framework.test import APIClient

    from media_index.services.indexing import items_index
    from media_index.services.uploads import item_create_image

    photo, _ = item_create_image(owner=alice, data=media.jpeg_with_capture_metadata(), filename="IMG_0001.jpg",
                                 visibility="public")  # fmt: skip
    other, _ = item_create_image(owner=alice, data=media.image_bytes("orange", fmt="JPEG"), filename="IMG_0002.jpg",
                                 visibility="public")  # fmt: skip
    items_index(item_ids=[photo.pk, other.pk])

    def found(**dates: str) -> set[int]:
        body = APIClient().get("/api/v1/search/", {"q": "IMG", "mode": "lexical", **dates}).json()
        return {hit["id"] for hit in body.get("results", [])}

    assert found(date_from="2019-07-01", date_to="2019-07-31") == {photo.pk}
    assert photo.pk not in found(date_from="2019-08-01")
    english = client.get(f"/items/{photo.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(f"/items/{photo.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "taken 14 Jul 2019" in english and "Canon EOS 5D" in english
    assert "拍摄于 2019年7月14日" in chinese
    assert APIClient().get(f"/api/v1/items/{photo.pk}/").json()["taken_at"].startswith("2019-07-14T10:30:00+02:00")


def test_the_upload_status_poll_answers_only_for_your_own_items(client, alice, django_user_model) -> None:
    bob = django_user_model.objects.create_user("bob", password="pw")
    mine = item_create_note(owner=alice, text="mine")[0]
    theirs = item_create_note(owner=bob, text="theirs")[0]

    anonymous = client.get(f"/upload/status/?ids={mine.pk}")
    client.force_login(alice)
    body = client.get(f"/upload/status/?ids={mine.pk},{theirs.pk},abc").json()

    assert anonymous.status_code == 302
    assert body == {"items": [{"id": mine.pk, "status": "pending", "label": "pending", "failure_reason": ""}],
                    "done": 0, "total": 1}  # fmt: skip


def test_a_picture_search_is_a_shareable_link_that_can_be_refined_with_words(client, alice) -> None:
    """The results of a picture are a plain link (no session): another browser opens it,
    sees the picture searched with, and can add words; it expires."""
    import io
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from media_index.models import QueryPicture
    from media_index.services.demo import demo_collection_load
    from media_index.services.query_pictures import query_pictures_expire
    from media_index.synthetic.concepts import CONCEPTS_BY_KEY
    from media_index.synthetic.render import render_picture

    demo_collection_load(pictures=12, notes=4, index_now=True)  # the 12 showcase concepts, a dog first
    dog = io.BytesIO()
    render_picture([CONCEPTS_BY_KEY["dog"]], seed=13_579, size=128).save(dog, format="PNG")
    posted = client.post("/", {"image": SimpleUploadedFile("q.png", dog.getvalue())})
    link = posted["Location"]

    other_browser = Client()
    page = other_browser.get(link).content.decode()
    picture = QueryPicture.objects.get()
    preview = other_browser.get(f"/query-pictures/{picture.pk}.jpg")
    refined = other_browser.get(link + "&q=pizza").content.decode()
    QueryPicture.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = other_browser.get(link).content.decode()

    assert posted.status_code == 302 and f"iq={picture.pk}" in link and len(picture.pk) == 32
    assert 'id="query-picture"' in page and 'id="results"' in page
    assert preview.status_code == 200 and preview["Content-Type"] == "image/jpeg" and preview.content[:2] == b"\xff\xd8"
    assert "Results for your picture and “pizza”" in refined and 'id="results"' in refined
    assert "That picture search has expired" in expired
    assert query_pictures_expire() == 1
    assert other_browser.get(f"/query-pictures/{picture.pk}.jpg").status_code == 404


def test_your_own_items_can_be_made_public_downloaded_and_deleted_together(client, alice, django_user_model) -> None:
    import io
    import zipfile

    from media_index.services.uploads import item_create_image

    bob = django_user_model.objects.create_user("bob", password="pw")
    note = item_create_note(owner=alice, text="my shopping list", title="Shopping")[0]
    picture = item_create_image(owner=alice, data=media.image_bytes("red"), filename="red.png")[0]
    theirs = item_create_note(owner=bob, text="bob's note", visibility="private")[0]
    client.force_login(alice)
    ids = [note.pk, picture.pk, theirs.pk]

    page = client.get("/?q=").content.decode()
    made_public = client.post("/items/bulk/", {"action": "public", "ids": ids, "next": "/?q="})
    download = client.post("/items/bulk/", {"action": "zip", "ids": ids})
    confirm = client.post("/items/bulk/", {"action": "delete", "ids": ids}).content.decode()
    still_there = Item.objects.filter(pk__in=ids).count()
    deleted = client.post("/items/bulk/", {"action": "confirm-delete", "ids": ids, "next": "//evil.example/"})

    assert f'value="{note.pk}" form="bulk"' in page
    assert made_public.status_code == 302 and made_public["Location"] == "/?q="
    assert Item.objects.get(pk=theirs.pk).visibility == "private"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert sorted(archive.namelist()) == sorted(["red.png", f"note-{note.pk}.txt"])
    assert archive.read(f"note-{note.pk}.txt").decode() == "Shopping\n\nmy shopping list"
    assert "bob's note" not in confirm and "Shopping" in confirm and still_there == 3
    assert deleted["Location"] == "/?q="  # never off-site
    assert list(Item.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_the_library_pages_with_plain_links(client, alice) -> None:
    from media_index.views import BROWSE_PAGE_SIZE

    for index in range(BROWSE_PAGE_SIZE + 3):
        item_create_note(owner=alice, text=f"note number {index}")
    client.force_login(alice)

    first = client.get("/?q=").content.decode()
    second = client.get("/?q=&page=2").content.decode()

    assert first.count("data-item-id=") == BROWSE_PAGE_SIZE
    assert 'id="next-page">Older</a>' in first and "page=2" in first
    assert second.count("data-item-id=") == 3 and ">Newer</a>" in second


def test_the_library_groups_by_month_then_day(client, alice) -> None:
    from media_index.services.uploads import item_create_image

    photo, _ = item_create_image(owner=alice, data=media.jpeg_with_capture_metadata(), filename="IMG_0001.jpg")
    note = item_create_note(owner=alice, text="written today")[0]
    client.force_login(alice)

    english = client.get("/?q=", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get("/?q=", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert english.count('class="month-header"') == 2 and english.count('class="day-header"') == 2
    assert ">July 2019</h3>" in english and ">14 Jul 2019</h4>" in english
    assert ">2019年7月</h3>" in chinese and ">2019年7月14日</h4>" in chinese
    assert english.index(f'data-item-id="{note.pk}"') < english.index(f'data-item-id="{photo.pk}"')
    assert 'data-month="2019-07"' in english and 'data-day="2019-07-14"' in english


def test_an_item_page_leads_back_to_the_results_it_was_opened_from_and_nowhere_else(client, alice) -> None:
    from urllib.parse import quote

    note = item_create_note(owner=alice, text="a recipe for pancakes", visibility="public")[0]
    client.force_login(alice)

    library = client.get("/?q=&kind=note").content.decode()
    assert f'href="/items/{note.pk}/?back=%2F%3Fq%3D%26kind%3Dnote"' in library

    def back_link(back: str) -> str:
        page = client.get(f"/items/{note.pk}/?back={quote(back, safe='')}").content.decode()
        return page.split('id="back-to-results"')[0].rsplit('href="', 1)[1].split('"')[0]

    assert back_link("/?q=&kind=note") == "/?q=&amp;kind=note"
    for hostile in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "javascript:alert(1)",
        "/" + "a" * 3000,
    ):
        assert back_link(hostile) == "/", hostile


def test_a_photos_location_is_kept_only_when_asked_and_shown_to_its_owner_alone(
    client, alice, django_user_model
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    from media_index.services.images import photo_metadata
    from tests.factories import api_key

    photo = media.jpeg_with_capture_metadata()
    client.force_login(alice)
    # The upload page: once without, once with "keep where photos were taken" (another photo).
    client.post("/upload/", {"up-files": [SimpleUploadedFile("a.jpg", photo, "image/jpeg")],
                             "up-visibility": "public"})  # fmt: skip
    kept_photo = media.jpeg_with_capture_metadata(colour="purple")
    client.post("/upload/", {"up-files": [SimpleUploadedFile("b.jpg", kept_photo, "image/jpeg")],
                             "up-visibility": "public", "up-keep_location": "on"})  # fmt: skip
    removed, kept = Item.objects.get(original_name="a.jpg"), Item.objects.get(original_name="b.jpg")

    with removed.original.open("rb") as handle:
        stored = handle.read()
    assert removed.has_location and removed.latitude is None and not photo_metadata(stored).has_location
    assert photo_metadata(stored).taken_at == photo_metadata(photo).taken_at  # the date stays
    with kept.original.open("rb") as handle:
        assert handle.read() == kept_photo  # kept as uploaded
    assert (kept.latitude, kept.longitude) == (48.858222, 2.2945)

    own_page = client.get(f"/items/{kept.pk}/").content.decode()
    assert 'id="location"' in own_page and "48.85822, 2.29450" in own_page
    assert "removed at upload" in client.get(f"/items/{removed.pk}/").content.decode()
    bob = django_user_model.objects.create_user("bob", password="pw")
    client.force_login(bob)
    assert 'id="location"' not in client.get(f"/items/{kept.pk}/").content.decode()

    owner_api, other_api = APIClient(), APIClient()
    owner_api.credentials(HTTP_AUTHORIZATION=f"Token {api_key(alice)}")
    other_api.credentials(HTTP_AUTHORIZATION=f"Token {api_key(bob)}")
    assert owner_api.get(f"/api/v1/items/{kept.pk}/").json()["location"] == {"latitude": 48.858222, "longitude": 2.2945}
    assert other_api.get(f"/api/v1/items/{kept.pk}/").json()["location"] is None
    assert owner_api.get(f"/api/v1/items/{removed.pk}/").json()["location"] is None
    created = owner_api.post("/api/v1/items/", {"file": SimpleUploadedFile("c.jpg", media.jpeg_with_capture_metadata(
        colour="teal"), "image/jpeg"), "keep_location": "true"}, format="multipart").json()  # fmt: skip
    assert created["location"] == {"latitude": 48.858222, "longitude": 2.2945} and created["has_location"]
