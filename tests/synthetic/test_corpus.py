"""The demo model's vocabulary (OpenMoji drawings named by CLDR) and its drawing styles."""

import numpy as np
import pytest

from media_index.synthetic import openmoji
from media_index.synthetic.concepts import CONCEPTS
from media_index.synthetic.corpus import corpus
from media_index.synthetic.render import HELD_OUT_BACKGROUNDS, TRAINING_BACKGROUNDS, render_scene


@pytest.fixture(scope="module")
def concepts():
    return corpus()


def test_the_corpus_has_over_a_thousand_named_concepts(concepts):
    assert len(concepts) >= 1000
    assert len({concept.key for concept in concepts}) == len(concepts)
    assert all(concept.en[0] and concept.zh[0] and concept.emoji for concept in concepts)
    # The 52 everyday concepts come first, with their hand-written names.
    assert [concept.key for concept in concepts[: len(CONCEPTS)]] == [concept.key for concept in CONCEPTS]
    assert concepts[0].en[0] == "puppy" and concepts[0].zh[0] == "小狗"


def test_chinese_names_read_as_written_chinese_not_cldr_keys(concepts):
    by_key = {concept.key: concept for concept in concepts}
    assert not [name for concept in concepts for name in concept.zh if "_" in name]
    assert by_key["curly_hair"].zh[0] == "卷发的成人"


def test_variants_fold_and_flags_skin_tones_keycaps_are_left_out(concepts):
    by_name = {concept.en[0]: concept for concept in concepts}
    glyphs = {glyph for concept in concepts for glyph in concept.emoji}

    assert len(by_name["cook"].emoji) == 3  # man cook, woman cook, cook
    assert "monkey face" not in by_name and "🐵" in by_name["monkey"].emoji
    assert "🕓" in next(c for c in concepts if c.key == "clock").emoji  # clock faces join the everyday clock
    assert "🇨🇳" not in glyphs and "👍🏽" not in glyphs and "#️⃣" not in glyphs
    assert all(openmoji.svg_path(glyph) is not None for glyph in glyphs)
    assert by_name["penguin"].zh[0] == "企鹅" and "西瓜" in by_name["watermelon"].zh


@pytest.mark.parametrize(("emoji", "colour"), [("🚗", "red"), ("🚙", "blue"), ("🍏", "green"), ("💙", "blue"),
                                               ("🍌", "yellow"), ("🧑‍🍳", None)])  # fmt: skip
def test_dominant_colours_are_named_only_where_one_colour_dominates(emoji, colour):
    assert openmoji.dominant_colour(emoji) == colour


def test_the_three_drawing_styles_differ():
    colour, line, flat = (np.asarray(openmoji.sprite("🐧", style)) for style in openmoji.STYLES)
    opaque = lambda image: image[..., 3] > 128  # noqa: E731
    # Line art is outlines only (fewer opaque pixels, nearly all dark); flat colour has no black outline.
    assert opaque(line).sum() < 0.6 * opaque(colour).sum()
    assert line[opaque(line)][:, :3].mean() < 60
    assert flat[opaque(flat)][:, :3].mean() > colour[opaque(colour)][:, :3].mean()


def test_held_out_backgrounds_are_never_training_backgrounds(concepts):
    assert not set(HELD_OUT_BACKGROUNDS) & set(TRAINING_BACKGROUNDS)
    penguin = next(concept for concept in concepts if concept.en[0] == "penguin")
    first, _ = render_scene([penguin], 5, style="openmoji", backgrounds=HELD_OUT_BACKGROUNDS)
    again, _ = render_scene([penguin], 5, style="openmoji", backgrounds=HELD_OUT_BACKGROUNDS)
    damaged, colours = render_scene([penguin], 5, style=None, backgrounds=TRAINING_BACKGROUNDS, augment=True,
                                    backdrop=penguin.emoji)  # fmt: skip
    assert first.tobytes() == again.tobytes()
    assert first.size == damaged.size == (64, 64)
