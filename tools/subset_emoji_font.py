"""Rebuild media_index/synthetic/fonts/NotoColorEmoji-subset.ttf from a full Noto Color Emoji.

    pip install fonttools
    python -m tools.subset_emoji_font /path/to/NotoColorEmoji.ttf    # from the repository's root

The demo model was trained on Noto Color Emoji renders, so the pictures it is tested on must
come from the same glyphs; shipping the ~200 KB subset that the demo concepts use (SIL OFL
1.1, licence beside it) means no system font is needed. Offline tool: not imported by the
product.
"""

import subprocess
import sys
import tempfile

from media_index.synthetic.concepts import CONCEPTS
from media_index.synthetic.render import EMOJI_FONT_PATH


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
