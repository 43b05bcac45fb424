"""Twemoji, the demo model's second artist: exact drawings, a fixed held-out half, and training's use of it."""

import numpy as np
import pytest

from media_index.synthetic import openmoji, twemoji
from media_index.synthetic.concepts import CONCEPTS
from media_index.synthetic.corpus import corpus
from media_index.synthetic.render import HELD_OUT_BACKGROUNDS, TRAINING_BACKGROUNDS, render_scene
from media_index.training.demo import twemoji_held_out

EVERYDAY = frozenset(concept.key for concept in CONCEPTS)


@pytest.fixture(scope="module")
def concepts():
    return corpus()


def test_every_corpus_drawing_has_a_twemoji_drawing(concepts):
    assert all(twemoji.draws(glyph) for concept in concepts for glyph in concept.emoji)


def test_lookup_is_exact_not_the_first_emoji_of_a_sequence():
    # 🐕‍🦺 (service dog) has its own file; a sequence Twemoji lacks must not turn into its first emoji.
    assert twemoji.svg_path("🐕\u200d🦺").name == "1f415-200d-1f9ba.svg"
    assert twemoji.svg_path("🐕\u200d🍕") is None
    # Files drop U+FE0F outside ZWJ sequences: ❤️ is 2764.svg.
    assert twemoji.svg_path("❤\ufe0f").name == "2764.svg"


def test_another_artist_draws_the_same_concept_differently():
    ours, theirs = np.asarray(openmoji.sprite("🐶").resize((64, 64))), np.asarray(twemoji.sprite("🐶").resize((64, 64)))
    assert theirs.shape == ours.shape and theirs[..., 3].max() == 255
    assert np.abs(ours.astype(int) - theirs.astype(int)).mean() > 20


def test_about_half_the_corpus_is_held_out_of_twemoji_training_and_never_an_everyday_concept(concepts):
    held = twemoji_held_out(concepts)
    assert not {concept.key for concept in held} & EVERYDAY
    assert 0.4 < len(held) / len(concepts) < 0.6
    # Fixed by the concept's key, not by its position or a random draw.
    assert held == twemoji_held_out(tuple(reversed(concepts)))[::-1]


def test_training_draws_held_out_concepts_only_in_openmoji_styles(concepts, monkeypatch):
    held = twemoji_held_out(concepts)[0]
    trained = next(concept for concept in concepts if concept not in twemoji_held_out(concepts))
    drawn: list[str] = []
    monkeypatch.setattr(twemoji, "sprite", lambda emoji, edge=128: drawn.append(emoji) or openmoji.sprite(emoji))
    monkeypatch.setattr(twemoji, "dominant_colour", lambda emoji: None)  # it draws too, and caches
    for seed in range(60):
        render_scene([held], seed, style=None, backgrounds=TRAINING_BACKGROUNDS, augment=True, second_artist=True)
        # Without the option training's styles are OpenMoji's alone (old commands draw what they drew).
        render_scene([trained], seed, style=None, backgrounds=TRAINING_BACKGROUNDS, augment=True)
    assert drawn == []
    for seed in range(60):
        render_scene([trained], seed, style=None, backgrounds=TRAINING_BACKGROUNDS, augment=True, second_artist=True)
    # Twemoji's share of training's styles is about a quarter.
    assert 5 <= len(drawn) <= 30


def test_twemoji_drawings_name_a_colour_only_where_both_artists_agree_on_it():
    car = next(concept for concept in CONCEPTS if concept.key == "car")
    bear = next(concept for concept in corpus() if concept.key == "bear")
    # 🚗 🚙 🚕: red, blue and yellow in both artists' drawings.
    named = [render_scene([car], 3, variants=[variant], style=style, backgrounds=HELD_OUT_BACKGROUNDS)[1][0]
             for style in ("twemoji", "openmoji") for variant in range(3)]  # fmt: skip
    # Twemoji's bear is a light reddish brown that the namer, set on OpenMoji's palette, calls red.
    _, bear_colours = render_scene([bear], 3, variants=[0], style="twemoji", backgrounds=HELD_OUT_BACKGROUNDS)

    assert named == ["red", "blue", "yellow"] * 2
    assert twemoji.dominant_colour(bear.emoji[0]) == "red" and bear.colour_of(0) == "brown"
    assert bear_colours == [None]
