"""Picture rendering from the shipped drawings and font subset (no model, no Django)."""

import os
from pathlib import Path

import pytest

from media_index.synthetic.concepts import CONCEPTS, CONCEPTS_BY_KEY
from media_index.synthetic.render import EMOJI_FONT_PATH, emoji_glyph, render_picture
from tests.fonts import run_with_fonts_hidden

REPO = Path(__file__).resolve().parents[2]
RENDER_EVERY_GLYPH = (
    "from media_index.synthetic.concepts import CONCEPTS\n"
    "from media_index.synthetic.render import emoji_glyph, render_picture\n"
    "glyphs = [emoji_glyph(e) for c in CONCEPTS for e in c.emoji]\n"
    "render_picture(list(CONCEPTS[:3]), seed=7, size=96)\n"
    "print('rendered', len(glyphs))\n"
)


def test_rendering_needs_no_system_font(tmp_path):
    """Every picture the demo collection, the training data and the tests draw comes from the
    font shipped in the repository: with the system font folders hidden, all glyphs render."""
    assert REPO in EMOJI_FONT_PATH.parents and EMOJI_FONT_PATH.is_file()
    # Nothing for fontconfig or Pillow's own font search to find either.
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_DIRS": str(tmp_path), "PYTHONPATH": str(REPO)}

    script = tmp_path / "render.py"
    script.write_text(RENDER_EVERY_GLYPH)
    result, hidden = run_with_fonts_hidden(script, cwd=REPO, env=env)
    if hidden:
        assert result.stdout.splitlines()[0] == "0", "the system font folders were not hidden"

    assert result.returncode == 0, result.stderr[-3000:]
    glyph_count = sum(len(concept.emoji) for concept in CONCEPTS)
    assert result.stdout.splitlines()[-1] == f"rendered {glyph_count}"


@pytest.mark.parametrize("emoji", sorted({emoji for concept in CONCEPTS for emoji in concept.emoji}))
def test_every_emoji_renders_as_a_colour_glyph(emoji):
    glyph = emoji_glyph(emoji)
    assert glyph.mode == "RGBA" and max(glyph.size) == 128
    assert len(glyph.convert("RGB").getcolors(1 << 16) or ()) > 20, "blank or monochrome glyph"


def test_rendering_is_deterministic_for_a_seed():
    shown = [CONCEPTS_BY_KEY["dog"], CONCEPTS_BY_KEY["car"]]
    first = render_picture(shown, 42, size=64)
    assert first.size == (64, 64) and first.mode == "RGB"
    assert first.tobytes() == render_picture(shown, 42, size=64).tobytes()
    assert first.tobytes() != render_picture(shown, 43, size=64).tobytes()


def test_drawn_shapes_and_many_objects_render():
    shown = [CONCEPTS_BY_KEY["heart"], CONCEPTS_BY_KEY["star"], CONCEPTS_BY_KEY["moon"]]
    pictures = [render_picture(shown, seed, size=96) for seed in range(30)]
    assert {picture.size for picture in pictures} == {(96, 96)}
    # Three objects on a background: never a blank canvas, and no two seeds alike.
    assert all(len(picture.getcolors(96 * 96) or range(257)) > 16 for picture in pictures)
    assert len({picture.tobytes() for picture in pictures}) == len(pictures)
