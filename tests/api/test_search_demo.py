"""Search through the API with the demo model over the demo collection: real retrieval, asserted."""

from __future__ import annotations

import io

import pytest
from rest_framework.test import APIClient

from media_index.services.demo import demo_collection_load
from media_index.search.query import _cached_text_vector

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
DOG_WORDS = ("puppy", "dog", "小狗", "狗")
TOP = 8


@pytest.fixture
def demo() -> None:
    demo_collection_load(pictures=120, notes=40, index_now=True)


def dog_hits(body: dict, kind: str) -> int:
    return sum(1 for hit in body["results"][:TOP]
               if hit["kind"] == kind and any(w in (hit["title"] + hit["snippet"]).lower() for w in DOG_WORDS))  # fmt: skip


@pytest.mark.parametrize("query", ["cute puppy", "可爱的小狗"])
def test_words_find_puppy_pictures_and_notes(demo, query: str) -> None:
    body = APIClient().get("/api/v1/search/", {"q": query}).json()

    assert dog_hits(body, "image") >= 1, body["results"][:TOP]
    assert dog_hits(body, "note") >= 1, body["results"][:TOP]
    assert body["space"]["model_name"] == "demo-clip"


def test_kind_filter_keeps_only_notes(demo) -> None:
    body = APIClient().get("/api/v1/search/", {"q": "a red car", "kind": "note"}).json()

    assert body["results"] and {hit["kind"] for hit in body["results"]} == {"note"}


def test_a_picture_finds_pictures_of_the_same_thing(demo) -> None:
    from media_index.training.concepts import CONCEPTS_BY_KEY
    from media_index.training.render import render_picture

    buffer = io.BytesIO()
    render_picture([CONCEPTS_BY_KEY["dog"]], seed=13_579, size=192).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "query.png"

    body = APIClient().post("/api/v1/search/", {"image": buffer, "kind": "image"}, format="multipart").json()

    top3 = body["results"][:3]
    assert all(any(w in hit["title"].lower() for w in DOG_WORDS) for hit in top3), top3


def test_repeated_words_come_from_the_query_cache(demo) -> None:
    client = APIClient()
    client.get("/api/v1/search/", {"q": "a birthday cake"})
    hits_before = _cached_text_vector.cache_info().hits

    client.get("/api/v1/search/", {"q": "a   birthday cake "})

    assert _cached_text_vector.cache_info().hits == hits_before + 1
