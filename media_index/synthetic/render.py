"""Deterministic synthetic pictures: OpenMoji drawings (or Noto Color Emoji) and drawn shapes on varied backgrounds.

A picture is a function of its concepts and a seed only, so a training pool and a held-out
evaluation gallery (another seed) can be regenerated bit for bit on any machine: the font
ships with the code. Variation (backgrounds, sizes, rotations, positions, colour jitter, distractor
shapes, several objects) is what makes the model learn the object rather than the canvas.
"""

import io
import math
import random
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from . import openmoji, twemoji
from .concepts import CONCEPTS, Concept

# Where an object's drawing comes from: OpenMoji in its own colour style, as line art or
# as flat colour (see openmoji.py), Twemoji (a second artist, twemoji.py), or Noto Color
# Emoji (the shipped font subset: only the 52 everyday concepts' glyphs; the held-out
# style of the demo model's evaluation).
SpriteStyle = Literal["openmoji", "lineart", "flat", "twemoji", "noto"]
# Training mixes drawing styles so the model learns objects, not one artist's look.
TRAINING_STYLES: tuple[tuple[SpriteStyle, float], ...] = (("openmoji", 0.76), ("lineart", 0.12), ("flat", 0.12))
# With a second artist (``render_scene(second_artist=True)``): Twemoji takes a quarter, and
# its share goes to OpenMoji for the concepts held out of it (``twemoji.held_out``), so those
# see OpenMoji 76 % of the time as without it.
SECOND_ARTIST_STYLES: tuple[tuple[SpriteStyle, float], ...] = (
    ("openmoji", 0.50), ("twemoji", 0.26), ("lineart", 0.12), ("flat", 0.12)
)
_EVERYDAY = frozenset(concept.key for concept in CONCEPTS)

# Background kinds. Evaluation renders held-out galleries on kinds training never saw.
TRAINING_BACKGROUNDS = ("solid", "gradient", "noise", "stripes", "checker", "dots", "blotches", "drawings")
HELD_OUT_BACKGROUNDS = ("rings", "plasma", "scribbles")
# The kinds the shipped (Noto) demo model was trained and evaluated on: the defaults, so its
# pictures stay the same for a seed.
NOTO_MODEL_BACKGROUNDS = TRAINING_BACKGROUNDS[:7]

# A subset of Noto Color Emoji (SIL OFL 1.1) holding the demo concepts' glyphs ships with
# the code (tools/subset_emoji_font.py rebuilds it), so rendering needs no system font.
EMOJI_FONT_PATH = Path(__file__).resolve().parent / "fonts" / "NotoColorEmoji-subset.ttf"
# Noto Color Emoji is a bitmap font with a single strike: FreeType only loads it at 109.
EMOJI_FONT_SIZE = 109
# Glyphs are cached at this edge length; pictures are small, so larger would only cost memory.
GLYPH_EDGE = 128

# Chance that a concept with a drawable shape is drawn instead of rendered from its emoji.
DRAWN_SHAPE_PROBABILITY = 0.35


@cache
def _emoji_font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(EMOJI_FONT_PATH), EMOJI_FONT_SIZE)


@cache
def emoji_glyph(emoji: str) -> Image.Image:
    """The emoji as an RGBA image cropped to its pixels, GLYPH_EDGE on its longer side."""
    font = _emoji_font()
    # The variation selector only asks for emoji presentation, which this font always gives.
    text = emoji.replace("\ufe0f", "")
    canvas = Image.new("RGBA", (EMOJI_FONT_SIZE * 2, EMOJI_FONT_SIZE * 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((8, 8), text, font=font, embedded_color=True)
    glyph = openmoji.fit_to_edge(canvas, GLYPH_EDGE)
    if glyph is None:
        raise ValueError(f"{EMOJI_FONT_PATH.name} has no glyph for {emoji!r}")
    return glyph


def _random_colour(rng: random.Random, *, light: bool | None = None) -> tuple[int, int, int]:
    low, high = (150, 255) if light else (0, 120) if light is False else (0, 255)
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def _background(
    rng: random.Random, size: int, kinds: Sequence[str] = NOTO_MODEL_BACKGROUNDS,
    backdrop: Sequence[str] = (),
) -> Image.Image:
    kind = rng.choice(tuple(kinds))
    np_rng = np.random.default_rng(rng.getrandbits(32))
    if kind == "drawings" and backdrop:
        # Other drawings behind, faded: the object is not "the only drawing in the picture".
        image = Image.new("RGBA", (size, size), (*_random_colour(rng, light=True), 255))
        for _ in range(rng.randint(2, 5)):
            behind = openmoji.sprite(rng.choice(tuple(backdrop)), "openmoji")
            edge = max(4, round(size * rng.uniform(0.25, 0.6)))
            behind = behind.resize((edge, max(1, round(behind.height * edge / behind.width))), Image.Resampling.BILINEAR)
            faded = behind.copy()
            faded.putalpha(behind.getchannel("A").point(lambda a, f=rng.uniform(0.2, 0.45): round(a * f)))
            image.alpha_composite(faded, (rng.randint(-edge // 3, size - edge // 2), rng.randint(-edge // 3, size - edge // 2)))
        return image.convert("RGB").filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))
    if kind == "rings":
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        cx, cy = rng.uniform(0, size), rng.uniform(0, size)
        period = rng.uniform(size / 10, size / 3)
        t = (np.sin(np.hypot(xs - cx, ys - cy) / period * 2 * math.pi) + 1) / 2
        start, end = np.array(_random_colour(rng), np.float32), np.array(_random_colour(rng), np.float32)
        return Image.fromarray((start + (end - start) * t[..., None]).astype(np.uint8), "RGB")
    if kind == "plasma":
        # Several octaves of smooth noise in three colours: like a photo's bokeh or a painted wall.
        total = np.zeros((size, size, 3), np.float32)
        for octave, weight in ((2, 0.5), (5, 0.3), (11, 0.2)):
            coarse = np_rng.random((octave, octave, 3)).astype(np.float32)
            layer = Image.fromarray((coarse * 255).astype(np.uint8), "RGB").resize((size, size), Image.Resampling.BICUBIC)
            total += weight * np.asarray(layer, np.float32)
        return Image.fromarray(np.clip(total, 0, 255).astype(np.uint8), "RGB")
    if kind == "scribbles":
        image = Image.new("RGB", (size, size), _random_colour(rng, light=True))
        draw = ImageDraw.Draw(image)
        for _ in range(rng.randint(6, 14)):
            points = [(rng.uniform(0, size), rng.uniform(0, size)) for _ in range(rng.randint(3, 6))]
            draw.line(points, fill=_random_colour(rng), width=rng.randint(1, max(1, size // 24)), joint="curve")
        return image
    if kind in ("solid", "drawings"):  # "drawings" with nothing to draw: a plain canvas
        return Image.new("RGB", (size, size), _random_colour(rng))
    if kind == "gradient":
        start = np.array(_random_colour(rng), dtype=np.float32)
        end = np.array(_random_colour(rng), dtype=np.float32)
        angle = rng.uniform(0, 2 * math.pi)
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
        t = (xs * math.cos(angle) + ys * math.sin(angle))
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
        pixels = start + (end - start) * t[..., None]
        return Image.fromarray(pixels.astype(np.uint8), "RGB")
    if kind == "noise":
        base = np.array(_random_colour(rng), dtype=np.float32)
        amount = rng.uniform(10, 60)
        pixels = base + np_rng.normal(0, amount, (size, size, 3))
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    if kind == "blotches":
        # Low-frequency noise, upsampled and blurred: reads like a wall, paper or fabric.
        coarse = np_rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        image = Image.fromarray(coarse, "RGB").resize((size, size), Image.Resampling.BICUBIC)
        return image.filter(ImageFilter.GaussianBlur(size / 16))
    image = Image.new("RGB", (size, size), _random_colour(rng))
    draw = ImageDraw.Draw(image)
    ink = _random_colour(rng)
    step = rng.randint(max(2, size // 16), max(3, size // 5))
    if kind == "stripes":
        width = rng.randint(1, max(1, step // 2))
        vertical = rng.random() < 0.5
        for offset in range(0, size, step):
            line = [(offset, 0), (offset, size)] if vertical else [(0, offset), (size, offset)]
            draw.line(line, fill=ink, width=width)
    elif kind == "checker":
        for row, y in enumerate(range(0, size, step)):
            for column, x in enumerate(range(0, size, step)):
                if (row + column) % 2:
                    draw.rectangle([x, y, x + step - 1, y + step - 1], fill=ink)
    else:  # dots
        radius = max(1, step // 4)
        for y in range(step // 2, size, step):
            for x in range(step // 2, size, step):
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=ink)
    return image


def _shape_points(shape: str, edge: int) -> list[tuple[float, float]]:
    centre = edge / 2
    if shape == "star":
        points = []
        for i in range(10):
            radius = centre * (1.0 if i % 2 == 0 else 0.45)
            angle = -math.pi / 2 + i * math.pi / 5
            points.append((centre + radius * math.cos(angle), centre + radius * math.sin(angle)))
        return points
    if shape == "heart":
        # The classic parametric heart curve, scaled to the box.
        points = []
        for i in range(64):
            t = 2 * math.pi * i / 64
            x = 16 * math.sin(t) ** 3
            y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
            points.append((centre + x * edge / 34, centre - y * edge / 34 + edge * 0.04))
        return points
    if shape == "triangle":
        return [(centre, edge * 0.05), (edge * 0.95, edge * 0.9), (edge * 0.05, edge * 0.9)]
    raise ValueError(f"unknown shape {shape!r}")


def _drawn_object(shape: str, rng: random.Random) -> tuple[Image.Image, str | None]:
    """A concept drawn as a flat shape (heart, star, sun, moon) in a plausible colour, and
    that colour's name where captions may use it."""
    edge = GLYPH_EDGE
    name: str | None = None
    image = Image.new("RGBA", (edge, edge), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if shape == "heart":
        colour, name = rng.choice(
            (((220, 20, 60), "red"), ((255, 105, 180), "pink"), ((200, 0, 0), "red"), ((255, 60, 120), "pink"))
        )
        draw.polygon(_shape_points("heart", edge), fill=colour)
    elif shape == "star":
        colour, name = rng.choice(
            (((255, 215, 0), "yellow"), ((255, 190, 0), "yellow"), ((250, 230, 80), "yellow"), ((255, 165, 0), None))
        )
        draw.polygon(_shape_points("star", edge), fill=colour)
    elif shape == "sun":
        colour = rng.choice(((255, 200, 0), (255, 170, 0), (255, 220, 60)))
        centre, radius = edge / 2, edge * 0.25
        for i in range(12):
            angle = i * math.pi / 6
            inner = (centre + radius * 1.2 * math.cos(angle), centre + radius * 1.2 * math.sin(angle))
            outer = (centre + edge * 0.48 * math.cos(angle), centre + edge * 0.48 * math.sin(angle))
            draw.line([inner, outer], fill=colour, width=max(2, edge // 20))
        draw.ellipse([centre - radius, centre - radius, centre + radius, centre + radius], fill=colour)
    elif shape == "moon":
        colour = rng.choice(((250, 230, 120), (255, 240, 170), (240, 210, 90)))
        draw.ellipse([edge * 0.1, edge * 0.1, edge * 0.9, edge * 0.9], fill=colour)
        # Cut a crescent: erase an offset disc.
        draw.ellipse([edge * 0.35, edge * 0.02, edge * 1.1, edge * 0.78], fill=(0, 0, 0, 0))
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return image.crop(image.getbbox()), name


def _draw_distractor(image: Image.Image, rng: random.Random) -> None:
    """Plain shapes that belong to no concept, so the model cannot key on "any blob"."""
    size = image.width
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    colour = (*_random_colour(rng), rng.randint(90, 255))
    x0, y0 = rng.uniform(-0.2, 0.9) * size, rng.uniform(-0.2, 0.9) * size
    w, h = rng.uniform(0.1, 0.5) * size, rng.uniform(0.1, 0.5) * size
    kind = rng.choice(("ellipse", "rectangle", "triangle", "line", "outline"))
    if kind == "ellipse":
        draw.ellipse([x0, y0, x0 + w, y0 + h], fill=colour)
    elif kind == "rectangle":
        draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
    elif kind == "triangle":
        points = _shape_points("triangle", int(max(w, h)))
        draw.polygon([(x0 + px, y0 + py) for px, py in points], fill=colour)
    elif kind == "line":
        draw.line([(x0, y0), (x0 + w, y0 + h)], fill=colour, width=rng.randint(1, max(1, size // 16)))
    else:
        draw.rectangle([x0, y0, x0 + w, y0 + h], outline=colour, width=rng.randint(1, max(1, size // 20)))
    image.alpha_composite(overlay)


def _pick_style(rng: random.Random, styles: Sequence[tuple[SpriteStyle, float]]) -> SpriteStyle:
    threshold, draw = 0.0, rng.random()
    for style, weight in styles:
        threshold += weight
        if draw < threshold:
            return style
    return styles[-1][0]


def _object_sprite(
    concept: Concept, rng: random.Random, variant: int | None, style: SpriteStyle | None = "openmoji",
    second_artist: bool = False,
) -> tuple[Image.Image, str | None]:
    if variant is None and concept.drawn is not None and rng.random() < DRAWN_SHAPE_PROBABILITY:
        sprite, colour = _drawn_object(concept.drawn, rng)
    else:
        if variant is None:
            # randrange draws exactly like choice(), so pictures stay the same for a seed.
            variant = rng.randrange(len(concept.emoji))
        styles = SECOND_ARTIST_STYLES if second_artist else TRAINING_STYLES
        chosen = _pick_style(rng, styles) if style is None else style
        if chosen == "twemoji" and style is None and twemoji.held_out(concept.key, _EVERYDAY):
            chosen = "openmoji"
        if chosen == "noto":
            sprite = emoji_glyph(concept.emoji[variant])
        elif chosen == "twemoji":
            sprite = twemoji.sprite(concept.emoji[variant])
        else:
            try:
                sprite = openmoji.sprite(concept.emoji[variant], chosen)
            except ValueError:  # a drawing with no fills (💤) or no outlines has no flat or line style
                chosen, sprite = "openmoji", openmoji.sprite(concept.emoji[variant], "openmoji")
        # Line art has no colour to name; the concept's colours are those of OpenMoji's drawings
        # (Noto's, for the everyday concepts). Twemoji's drawing is captioned with that colour
        # only where its own pixels name the same one (red car, blue car, yellow taxi): the
        # namer's thresholds fit OpenMoji's palette, and on Twemoji's it reads some browns as
        # red and dark greys as blue, so a colour measured there alone would teach wrong ones.
        colour = concept.colour_of(variant)
        if chosen == "lineart" or (chosen == "twemoji" and twemoji.dominant_colour(concept.emoji[variant]) != colour):
            colour = None
    if rng.random() < 0.5:
        sprite = ImageOps.mirror(sprite)
    if rng.random() < 0.5:
        # Mild colour jitter on the object itself (the alpha channel is left alone).
        rgb, alpha = sprite.convert("RGB"), sprite.getchannel("A")
        rgb = ImageEnhance.Brightness(rgb).enhance(rng.uniform(0.75, 1.2))
        rgb = ImageEnhance.Color(rgb).enhance(rng.uniform(0.6, 1.3))
        sprite = rgb.convert("RGBA")
        sprite.putalpha(alpha)
    return sprite, colour


def render_picture(
    concepts: Sequence[Concept], seed: int, *, size: int = 64, style: SpriteStyle | None = "openmoji",
    backgrounds: Sequence[str] = NOTO_MODEL_BACKGROUNDS, augment: bool = False,
) -> Image.Image:
    """A size x size RGB picture showing each of ``concepts`` once; same seed, same pixels."""
    return render_scene(concepts, seed, size=size, style=style, backgrounds=backgrounds, augment=augment)[0]


def render_scene(
    concepts: Sequence[Concept],
    seed: int,
    *,
    size: int = 64,
    variants: Sequence[int | None] | None = None,
    style: SpriteStyle | None = "openmoji",
    backgrounds: Sequence[str] = NOTO_MODEL_BACKGROUNDS,
    augment: bool = False,
    backdrop: Sequence[str] = (),
    second_artist: bool = False,
) -> tuple[Image.Image, list[str | None]]:
    """``render_picture`` plus the colour name of each object (None where it has no named
    colour). ``variants`` pins which emoji of each concept is drawn (None: random);
    ``style`` the drawing style (None: a random training style per object, Twemoji among
    them with ``second_artist``);
    ``backgrounds`` the background kinds to pick from ("drawings" fades emoji of
    ``backdrop`` behind the objects); ``augment`` adds photo-like damage (crops, greyscale,
    JPEG, blur, posterising)."""
    if not concepts:
        raise ValueError("a picture needs at least one concept")
    if variants is None:
        variants = [None] * len(concepts)
    rng = random.Random(seed)
    colours: list[str | None] = []
    image = _background(rng, size, backgrounds, backdrop).convert("RGBA")
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        _draw_distractor(image, rng)

    count = len(concepts)
    # Several objects share the canvas: lay them out on a grid of cells (one per object,
    # shuffled) so they overlap little and each stays recognisable.
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    cells = [(column, row) for row in range(rows) for column in range(columns)]
    rng.shuffle(cells)
    cell_w, cell_h = size / columns, size / rows
    for concept, variant, (column, row) in zip(concepts, variants, cells):
        sprite, colour = _object_sprite(concept, rng, variant, style, second_artist)
        colours.append(colour)
        cell_edge = min(cell_w, cell_h)
        scale = rng.uniform(0.55, 0.95) if count == 1 else rng.uniform(0.7, 1.0)
        edge = max(6, round(cell_edge * scale))
        ratio = edge / max(sprite.size)
        sprite = sprite.resize(
            (max(1, round(sprite.width * ratio)), max(1, round(sprite.height * ratio))),
            Image.Resampling.LANCZOS,
        )
        sprite = sprite.rotate(rng.uniform(-30, 30), resample=Image.Resampling.BICUBIC, expand=True)
        slack_x = max(0.0, cell_w - sprite.width)
        slack_y = max(0.0, cell_h - sprite.height)
        x = column * cell_w + rng.uniform(0, slack_x) + (cell_w - sprite.width - slack_x) / 2
        y = row * cell_h + rng.uniform(0, slack_y) + (cell_h - sprite.height - slack_y) / 2
        # paste (unlike alpha_composite) accepts offsets off the canvas and clips the sprite.
        image.paste(sprite, (round(x), round(y)), sprite)

    if rng.random() < 0.15:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    picture = image.convert("RGB")
    if augment:
        picture, keeps_colour = _damage(picture, rng)
        if not keeps_colour:
            colours = [None] * len(colours)
    return picture, colours


def _damage(picture: Image.Image, rng: random.Random) -> tuple[Image.Image, bool]:
    """Photo-like damage, each kind now and then; False when colours can no longer be named."""
    size = picture.width
    keeps_colour = True
    if rng.random() < 0.12:
        # A partial crop: part of the object may leave the frame.
        edge = round(size * rng.uniform(0.65, 0.9))
        x, y = rng.randint(0, size - edge), rng.randint(0, size - edge)
        picture = picture.crop((x, y, x + edge, y + edge)).resize((size, size), Image.Resampling.BICUBIC)
    if rng.random() < 0.3:
        picture = ImageEnhance.Contrast(picture).enhance(rng.uniform(0.6, 1.4))
        picture = ImageEnhance.Brightness(picture).enhance(rng.uniform(0.7, 1.3))
    if rng.random() < 0.08:
        picture = ImageOps.grayscale(picture).convert("RGB")
        keeps_colour = False
    if rng.random() < 0.06:
        picture = ImageOps.posterize(picture, rng.choice((2, 3)))
    if rng.random() < 0.1:
        picture = picture.filter(ImageFilter.GaussianBlur(rng.uniform(0.8, 1.6)))
    if rng.random() < 0.15:
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=rng.randint(8, 40))
        picture = Image.open(buffer).convert("RGB")
    return picture, keeps_colour
