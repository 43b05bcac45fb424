"""Rebuild media_index/synthetic/fonts/NotoColorEmoji-subset.ttf from a full Noto Color Emoji.

    pip install fonttools
    python tools/subset_emoji_font.py /path/to/NotoColorEmoji.ttf

The demo model was trained on Noto Color Emoji renders, so the pictures it is tested on must
come from the same glyphs; shipping the ~200 KB subset that the demo concepts use (SIL OFL
1.1, licence beside it) means no system font is needed. Offline tool: not imported by the
product.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a standalone script run from a checkout, not an installed package

from media_index.synthetic.concepts import CONCEPTS  # noqa: E402
from media_index.synthetic.render import EMOJI_FONT_PATH  # noqa: E402


def main(source: str) -> None:
    glyphs = sorted({glyph.replace("\ufe0f", "") for concept in CONCEPTS for glyph in concept.emoji})
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as text:
        text.write("".join(glyphs))
        text.flush()
        subprocess.run(
            [
                sys.executable, "-m", "fontTools.subset", source,
                f"--text-file={text.name}", "--unicodes=U+FE0F", "--layout-features=*",
                "--no-hinting", f"--output-file={EMOJI_FONT_PATH}",
            ],
            check=True,
        )
    print(f"{len(glyphs)} glyphs -> {EMOJI_FONT_PATH} ({EMOJI_FONT_PATH.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
