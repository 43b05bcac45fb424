"""The demo collection's composition (services.demo): what a fresh install shows and searches."""

from __future__ import annotations

import pytest

from media_index.services.demo import (
    DEMO_CREDIT,
    DEMO_USERNAME,
    SHOWCASE_COPIES,
    SHOWCASE_KEYS,
    demo_collection_load,
    demo_picture,
    demo_scenes,
)
from media_index.synthetic.concepts import CONCEPTS


def test_the_showcase_concepts_come_first_so_a_small_collection_shows_them_all() -> None:
    scenes = demo_scenes(len(SHOWCASE_KEYS))

    assert [scene.main.key for scene in scenes] == list(SHOWCASE_KEYS)


def test_a_few_hundred_pictures_span_many_concepts_beyond_the_everyday_ones() -> None:
    scenes = demo_scenes(300)
    shown = [scene.main.key for scene in scenes]
    everyday = {concept.key for concept in CONCEPTS}

    assert len(set(shown)) > 200
    assert everyday <= set(shown)  # every everyday concept at least once
    assert len(set(shown) - everyday) > 150  # and many of the rest of the corpus
    assert all(shown.count(key) >= SHOWCASE_COPIES for key in SHOWCASE_KEYS)


def test_every_named_colour_of_an_everyday_concept_is_drawn_so_colour_queries_have_answers() -> None:
    scenes = demo_scenes(300)
    drawn = {(scene.main.key, demo_picture(scene)[1][0]) for scene in scenes if scene.variants[0] is not None}

    assert {("car", "red"), ("car", "blue"), ("car", "yellow"), ("apple", "green"), ("apple", "red")} <= drawn


def test_the_collection_is_a_function_of_its_seed() -> None:
    first, again, other = demo_scenes(40), demo_scenes(40), demo_scenes(40, seed=5)

    assert first == again and first != other
    assert demo_picture(first[3])[0].tobytes() == demo_picture(again[3])[0].tobytes()
    # A longer collection starts like a shorter one (the README's 300 extend the tests' 120).
    assert demo_scenes(120)[:40] == first


def test_the_pictures_are_openmoji_drawings_and_the_credit_says_so() -> None:
    picture, _ = demo_picture(demo_scenes(1)[0])

    assert picture.size == (192, 192)
    assert "OpenMoji" in DEMO_CREDIT and "CC BY-SA 4.0" in DEMO_CREDIT


@pytest.mark.django_db
def test_loading_twice_creates_the_items_once_public_under_the_demo_user() -> None:
    from media_index.models import Item

    first = demo_collection_load(pictures=6, notes=4)
    second = demo_collection_load(pictures=6, notes=4)

    # Six pictures and four notes, then the hand-written showcase notes (eval/notes).
    assert first.created == 10 and second.created == 0 and second.existing == 10
    assert second.item_ids == first.item_ids
    items = Item.objects.filter(pk__in=first.item_ids)
    assert {item.owner.username for item in items} == {DEMO_USERNAME}
    assert {item.visibility for item in items} == {Item.Visibility.PUBLIC}
    titles = [item.title for item in items.filter(kind="image").order_by("pk")]
    assert titles[0] == "Puppy · 小狗"
