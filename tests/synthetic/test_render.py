"""Picture rendering from the shipped drawings and font subset (no model, no Django)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from media_index.synthetic.concepts import CONCEPTS, CONCEPTS_BY_KEY
from media_index.synthetic.render import EMOJI_FONT_PATH, emoji_glyph, render_picture

REPO = Path(__file__).resolve().parents[2]
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/usr/share/X11/fonts")
RENDER_EVERY_GLYPH = (
    "from media_index.synthetic.concepts import CONCEPTS\n"
    "from media_index.synthetic.render import emoji_glyph, render_picture\n"
    "glyphs = [emoji_glyph(e) for c in CONCEPTS for e in c.emoji]\n"
    "render_picture(list(CONCEPTS[:3]), seed=7, size=96)\n"
    "print('rendered', len(glyphs))\n"
)


def _hidden_fonts_command(tmp_path: Path) -> list[str]:
    """The renderer in a mount namespace where every system font folder is an empty tmpfs
    (root: a plain mount namespace; others: a user namespace mapped to root)."""
    mounts = " && ".join(f"mount -t tmpfs none {d}" for d in SYSTEM_FONT_DIRS if os.path.isdir(d)) or "true"
    script = tmp_path / "render.py"
    script.write_text(RENDER_EVERY_GLYPH)
    namespace = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--map-root-user", "--mount"]
    return [*namespace, "sh", "-c", f'{mounts} && (find {" ".join(SYSTEM_FONT_DIRS)} -mindepth 1 2>/dev/null | wc -l) && '
            f'exec "{sys.executable}" "{script}"']  # fmt: skip


def test_rendering_needs_no_system_font(tmp_path):
    """Every picture the demo collection, the training data and the tests draw comes from the
    font shipped in the repository: with the system font folders hidden, all glyphs render."""
    assert REPO in EMOJI_FONT_PATH.parents and EMOJI_FONT_PATH.is_file()
    # Nothing for fontconfig or Pillow's own font search to find either.
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_DIRS": str(tmp_path), "PYTHONPATH": str(REPO)}

    result = subprocess.run(_hidden_fonts_command(tmp_path), cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    if result.returncode != 0 and "unshare" in result.stderr and "Operation not permitted" in result.stderr:
        # A container without namespaces: the environment alone hides the user font folders.
        result = subprocess.run([sys.executable, str(tmp_path / "render.py")], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=300)  # fmt: skip
    else:
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
