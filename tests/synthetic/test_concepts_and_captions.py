"""Concept table and caption generator: coverage and determinism (no model, no Django)."""

import random

import pytest

from media_index.synthetic.captions import caption, group_caption, note, short_caption
from media_index.synthetic.concepts import CONCEPTS, CONCEPTS_BY_KEY

REQUIRED = (
    "dog",
    "cat",
    "car",
    "bicycle",
    "tree",
    "flower",
    "apple",
    "pizza",
    "cake",
    "house",
    "rocket",
    "fish",
    "bird",
    "horse",
    "elephant",
    "banana",
    "coffee",
    "book",
    "guitar",
    "sun",
    "moon",
    "umbrella",
    "mountain",
    "beach",
    "phone",
    "computer",
    "shoe",
    "ball",
    "baby",
    "ice_cream",
    "train",
    "airplane",
    "boat",
    "heart",
    "star",
    "fire",
    "snowman",
    "ghost",
    "robot",
    "dinosaur",
)


def test_concept_table_covers_the_required_everyday_concepts():
    assert len(CONCEPTS) >= 40
    assert set(REQUIRED) <= set(CONCEPTS_BY_KEY)
    assert len(CONCEPTS_BY_KEY) == len(CONCEPTS), "duplicate keys"


@pytest.mark.parametrize("concept", CONCEPTS, ids=lambda concept: concept.key)
def test_every_concept_has_pictures_and_names_in_both_languages(concept):
    assert concept.emoji and concept.en and concept.zh and concept.zh_measure
    assert all(name.strip() == name and name for name in concept.en + concept.zh)


def test_primary_names_are_unique_so_evaluation_queries_are_unambiguous():
    assert len({concept.en[0] for concept in CONCEPTS}) == len(CONCEPTS)
    assert len({concept.zh[0] for concept in CONCEPTS}) == len(CONCEPTS)


@pytest.mark.parametrize("concept", CONCEPTS, ids=lambda concept: concept.key)
def test_single_concept_captions_and_notes_name_the_concept(concept):
    rng = random.Random(concept.key)
    for _ in range(20):
        for make in (short_caption, note):
            english, chinese = make(concept, rng, "en"), make(concept, rng, "zh")
            assert any(name in english for name in concept.en), english
            assert any(name in chinese for name in concept.zh), chinese


def test_group_captions_name_every_object():
    rng = random.Random(0)
    for _ in range(200):
        shown = rng.sample(CONCEPTS, rng.randint(2, 3))
        for language in ("en", "zh"):
            text = group_caption(shown, rng, language)
            names = (lambda c: c.en) if language == "en" else (lambda c: c.zh)
            assert all(any(name in text for name in names(concept)) for concept in shown), text


def test_captions_are_deterministic_for_a_seed_and_mix_languages():
    first = [caption([CONCEPTS_BY_KEY["dog"]], random.Random(seed)) for seed in range(50)]
    second = [caption([CONCEPTS_BY_KEY["dog"]], random.Random(seed)) for seed in range(50)]
    assert first == second
    assert any(text.isascii() for text in first) and any(not text.isascii() for text in first)


def test_colour_captions_name_the_colour_the_picture_shows():
    from media_index.synthetic.render import render_scene

    car = CONCEPTS_BY_KEY["car"]
    picture, colours = render_scene([car], seed=3, variants=[car.colours.index("red")])
    rng = random.Random(0)
    texts = {caption([car], rng, note_probability=0.0, colours=colours) for _ in range(200)}

    assert colours == ["red"] and picture.size == (64, 64)
    assert any("red" in text for text in texts) and any("红色" in text for text in texts)
    assert not any(word in text for text in texts for word in ("blue", "yellow", "蓝色", "黄色"))
