"""Search modes through the API and the page: which signals matched, highlighted words, escaping."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from media_index.models import Item
from media_index.services.lexical_index import lexical_index_items
from media_index.services.uploads import item_create_note

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_words_are_searched_in_hybrid_mode_by_default_and_say_what_matched(showcase_notes) -> None:
    body = APIClient().get("/api/v1/search/", {"q": "INV-2024-0042"}).json()

    top = body["results"][0]
    assert body["mode"] == "hybrid"
    assert top["title"] == "invoice-inv-2024-0042"
    assert "lexical" in top["signals"] and top["lexical_score"] > 0 and top["dense_score"] is not None
    assert "inv-2024-0042" in top["matched_terms"]
    assert [top["snippet"][start:end] for start, end in top["highlights"]].count("INV-2024-0042") >= 1


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_each_mode_can_be_asked_for(showcase_notes, mode: str) -> None:
    body = APIClient().get("/api/v1/search/", {"q": "pizza", "mode": mode}).json()

    assert body["mode"] == mode
    assert body["results"][0]["title"] == "pizza-friday"
    assert all((mode in hit["signals"]) or mode == "hybrid" for hit in body["results"][: body["count"]])


def test_a_picture_query_is_dense_and_lexical_needs_words(showcase_notes) -> None:
    client = APIClient()

    bad_mode = client.get("/api/v1/search/", {"q": "pizza", "mode": "fuzzy"})
    no_words = client.get("/api/v1/search/", {"q": "", "mode": "lexical"})

    assert bad_mode.status_code == 400 and "mode" in bad_mode.json()["error"]["details"]
    assert no_words.status_code == 400 and no_words.json()["error"]["message"]


def test_the_page_marks_matching_words_and_escapes_the_note(showcase_notes, client, django_user_model) -> None:
    owner = django_user_model.objects.create_user("writer", password="pw")
    item, _ = item_create_note(owner=owner, text="<script>alert(1)</script> parcel QX-7 arrives",
                               visibility=Item.Visibility.PUBLIC)  # fmt: skip
    Item.objects.filter(pk=item.pk).update(status=Item.Status.READY)
    lexical_index_items(items=[Item.objects.get(pk=item.pk)])

    page = client.get("/", {"q": "QX-7", "mode": "lexical"}).content.decode()

    assert "<mark>QX-7</mark>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _server_timing(header: str) -> dict[str, float]:
    entries = (entry.strip().split(";dur=") for entry in header.split(","))
    return {name: float(duration) for name, duration in entries}


@pytest.mark.parametrize(("mode", "stages"), [("hybrid", {"embed", "dense", "lexical"}), ("lexical", {"lexical"})])
def test_a_search_says_where_its_time_went_in_server_timing(showcase_notes, settings, mode: str,
                                                            stages: set[str]) -> None:  # fmt: skip
    hidden = APIClient().get("/api/v1/search/", {"q": "pizza", "mode": mode})
    settings.SERVER_TIMING = True
    response = APIClient().get("/api/v1/search/", {"q": "pizza", "mode": mode})

    timings = _server_timing(response["Server-Timing"])
    assert stages | {"total"} <= set(timings)
    assert all(value >= 0 for value in timings.values())
    assert sum(value for name, value in timings.items() if name != "total") <= timings["total"] + 0.2
    assert "Server-Timing" not in APIClient().get("/api/v1/spaces/")
    # Off by default: stage times would tell anyone how big the collection is.
    assert hidden.status_code == 200 and "Server-Timing" not in hidden
