"""Search through the API with the demo model over the demo collection: real retrieval, asserted."""

from __future__ import annotations

import io

import pytest
from rest_framework.test import APIClient

from media_index.search.query import _cached_text_vector
from media_index.services.demo import CAMERA_FIRST_NUMBER, demo_collection_load, demo_scenes

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
DOG_WORDS = ("puppy", "dog", "小狗", "狗")
TOP = 8
PICTURES = 120
NONSENSE = ("qwzx", "zxcvbnm", "ZQ-99812", "嗌囧龘", "syzygy")


@pytest.fixture
def demo() -> None:
    # Camera-named pictures ("IMG_4700.png", no title): only what they show can find them,
    # so these tests fail if the model stops understanding (not if titles carry them).
    demo_collection_load(pictures=PICTURES, notes=40, index_now=True, camera_names=True)


def shows_a_dog(hit: dict) -> bool:
    """A picture that shows a dog (``demo_scenes`` says what picture i shows), or a note
    whose own text is about dogs."""
    if hit["kind"] == "image":
        index = int(hit["title"].split()[-1]) - CAMERA_FIRST_NUMBER  # "IMG 4707"
        return any(concept.key == "dog" for concept in demo_scenes(PICTURES)[index].concepts)
    return any(word in hit["snippet"].lower() for word in DOG_WORDS)


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
@pytest.mark.parametrize("query", ["cute puppy", "可爱的小狗"])
def test_words_find_puppy_pictures_and_notes_by_meaning(demo, query: str, mode: str) -> None:
    body = APIClient().get("/api/v1/search/", {"q": query, "mode": mode}).json()

    relevant = body["results"][: min(TOP, body["count"])]
    dog_pictures = [hit for hit in relevant if hit["kind"] == "image" and shows_a_dog(hit)]
    dog_notes = [hit for hit in relevant if hit["kind"] == "note" and shows_a_dog(hit)]
    assert dog_pictures and dog_notes, relevant
    # Found by meaning: camera names hold no word of the query.
    assert all("dense" in hit["signals"] and hit["match"] in ("good", "strong") for hit in dog_pictures)
    assert body["space"]["model_name"] == "demo-clip"


@pytest.mark.parametrize("query", NONSENSE)
def test_nonsense_is_answered_with_nothing_relevant_and_the_closest_on_request(demo, query: str) -> None:
    client = APIClient()
    plain = client.get("/api/v1/search/", {"q": query}).json()
    weaker = client.get("/api/v1/search/", {"q": query, "include_weaker": "true"}).json()

    assert plain["count"] == 0 and plain["results"] == [], plain["results"][:3]
    assert weaker["count"] == 0 and weaker["weaker_count"] > 0 and weaker["results"]
    assert {hit["match"] for hit in weaker["results"]} == {"weak"}


def test_scores_are_calibrated_and_raw_scores_are_kept(demo) -> None:
    body = APIClient().get("/api/v1/search/", {"q": "a cute puppy", "mode": "dense"}).json()

    top = body["results"][0]
    assert top["relevance"] >= 0 and top["score"] == top["relevance"]
    assert 0 < top["dense_score"] <= 1  # the raw cosine, for clients that want it
    scores = [hit["score"] for hit in body["results"]]
    assert scores == sorted(scores, reverse=True)  # one list on one scale, pictures and notes together


def test_kind_filter_keeps_only_notes(demo) -> None:
    body = APIClient().get("/api/v1/search/", {"q": "a red car", "kind": "note"}).json()

    assert body["results"] and {hit["kind"] for hit in body["results"]} == {"note"}


def test_a_picture_finds_pictures_of_the_same_thing(demo) -> None:
    from media_index.synthetic.concepts import CONCEPTS_BY_KEY
    from media_index.synthetic.render import render_picture

    buffer = io.BytesIO()
    render_picture([CONCEPTS_BY_KEY["dog"]], seed=13_579, size=192).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "query.png"

    body = APIClient().post("/api/v1/search/", {"image": buffer, "kind": "image"}, format="multipart").json()

    # At least two pictures above the line (the collection has four with a dog), and
    # nothing that is not a dog among the first three.
    top3 = body["results"][:3]
    assert len(top3) >= 2 and all(shows_a_dog(hit) for hit in top3), top3


def test_repeated_words_come_from_the_query_cache(demo) -> None:
    client = APIClient()
    client.get("/api/v1/search/", {"q": "a birthday cake"})
    hits_before = _cached_text_vector.cache_info().hits

    client.get("/api/v1/search/", {"q": "a   birthday cake "})

    assert _cached_text_vector.cache_info().hits == hits_before + 1
