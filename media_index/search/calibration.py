"""Calibrated relevance: raw cosines turned into one scale that means the same for pictures
and notes, for every model, with an honest "nothing matched".

Raw cosines are not comparable across kinds: in every CLIP-style space text-to-text
similarities sit far above text-to-image ones (the "modality gap"), and each model has its
own scale. So every space learns, from its own data, what *unrelated* looks like for each
(query kind, item kind) pair (words -> pictures, words -> notes, picture -> pictures,
picture -> notes):

- probe queries that match nothing by construction (random strings in several scripts,
  keyboard mashes, code-like tokens; noise, gradient and blob pictures), embedded by the
  space's own model, are compared with a sample of the space's items of that kind;
- the background is their cosines' median and robust spread (MAD): ``z = (cos - median) / spread``;
- the threshold is a high quantile of each probe's *best* z over the items (the best
  match an unrelated query finds in this very collection): a real match must beat what
  nonsense reaches here;
- ``relevance = (z - threshold) / step``, where ``step`` is the spread of those best
  matches: 0 is the line between relevant and not, 1 and more is a strong match.

Nothing here is tuned to one model: the same code sets the numbers for the demo model, a
ViT-B-32 or Visualized BGE, and they are refreshed as the collection grows.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Probe queries: enough for stable quantiles, few enough to embed in a second or two on a CPU.
TEXT_PROBES = 160
IMAGE_PROBES = 32
# Items of each kind compared with the probes (a random sample of the space's vectors).
ITEM_SAMPLE = 2000
# Share of unrelated queries that must come back with nothing relevant.
THRESHOLD_QUANTILE = 0.95
# For picture queries, the median probe's best match: a picture of nothing (a flat colour,
# a gradient) is close to every picture with a plain background, so its best matches sit
# high, and people drop real photos, not noise; the 95th percentile would hide true matches.
IMAGE_THRESHOLD_QUANTILE = 0.5
# ...and, for picture queries, a probe's *third* best match rather than its best (at most
# one rank per HUB_ITEMS_PER_RANK items, so a small collection keeps the best): one or two
# pictures that look like nothing to the model (a pink heart on stripes is the best match
# of 29 of 32 probe pictures for the OpenMoji demo model, at cosine 0.96, above every true
# dog-to-dog match but one) must not set the line for every picture query.
IMAGE_PROBE_RANK = 3
HUB_ITEMS_PER_RANK = 50
# A strong match is this many "steps" above the threshold (see ``Calibration.level``).
STRONG_STEPS = 1.0
# Floors: a tiny collection (a few items) gives noisy spreads.
MIN_SPREAD = 1e-3
MIN_STEP = 0.5
CALIBRATION_VERSION = 3

QUERY_KINDS = ("text", "image")
ITEM_KINDS = ("image", "note")


@dataclass(frozen=True)
class PairStats:
    """What unrelated looks like for one (query kind, item kind) pair in one space."""

    median: float
    spread: float
    threshold: float  # in z units
    step: float  # in z units
    samples: int

    def relevance(self, cosine: float) -> float:
        z = (cosine - self.median) / self.spread
        return (z - self.threshold) / self.step

    def cosine_at(self, relevance: float) -> float:
        """The raw cosine that reaches ``relevance`` (0: the threshold)."""
        return self.median + self.spread * (self.threshold + relevance * self.step)


@dataclass(frozen=True)
class Calibration:
    pairs: dict[str, PairStats] = field(default_factory=dict)  # "text->image", ...
    items: int = 0
    version: int = CALIBRATION_VERSION

    def stats(self, query_kind: str, item_kind: str) -> PairStats | None:
        return self.pairs.get(f"{query_kind}->{item_kind}")

    def relevance(self, query_kind: str, item_kind: str, cosine: float) -> float | None:
        stats = self.stats(query_kind, item_kind)
        return None if stats is None else stats.relevance(cosine)

    def to_json(self) -> dict:
        return {"version": self.version, "items": self.items,
                "pairs": {name: asdict(stats) for name, stats in self.pairs.items()}}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict | None) -> Calibration | None:
        if not data or data.get("version") != CALIBRATION_VERSION:
            return None
        pairs = {name: PairStats(**values) for name, values in data.get("pairs", {}).items()}
        return cls(pairs=pairs, items=int(data.get("items", 0)))


def level(relevance: float | None) -> str:
    """"strong", "good" or "weak" (below the relevance line)."""
    if relevance is None or relevance < 0:
        return "weak"
    return "strong" if relevance >= STRONG_STEPS else "good"


def pair_stats(
    probes: np.ndarray, items: np.ndarray, quantile: float = THRESHOLD_QUANTILE, rank: int = 1
) -> PairStats | None:
    """Background and threshold from probe vectors against item vectors (rows L2-normalised).
    ``rank``: each probe's ``rank``-th best match stands for what it reaches (1: its best)."""
    if len(probes) < 4 or len(items) < 1:
        return None
    cosines = probes @ items.T
    median = float(np.median(cosines))
    # 1.4826 x MAD estimates a normal distribution's standard deviation, unmoved by the few
    # true matches a probe might have.
    spread = max(float(1.4826 * np.median(np.abs(cosines - median))), MIN_SPREAD)
    rank = min(rank, cosines.shape[1])
    best = (np.partition(cosines, -rank, axis=1)[:, -rank] - median) / spread
    threshold = float(np.quantile(best, quantile))
    step = max(float(np.quantile(best, THRESHOLD_QUANTILE) - np.quantile(best, 0.5)), MIN_STEP)
    return PairStats(median=median, spread=spread, threshold=threshold, step=step, samples=int(cosines.size))


def calibrate(
    *,
    embed_texts: Callable[[list[str]], np.ndarray],
    embed_images: Callable[[list[Image.Image]], np.ndarray] | None,
    items_by_kind: dict[str, np.ndarray],
    seed: int = 0,
) -> Calibration:
    """A space's calibration from its model (the two embed functions) and item vectors."""
    probes = {"text": np.asarray(embed_texts(text_probes(TEXT_PROBES, seed)), dtype=np.float32)}
    if embed_images is not None:
        probes["image"] = np.asarray(embed_images(image_probes(IMAGE_PROBES, seed)), dtype=np.float32)
    pairs = {}
    for query_kind, vectors in probes.items():
        for item_kind, items in items_by_kind.items():
            if query_kind == "image":
                rank = min(IMAGE_PROBE_RANK, max(1, len(items) // HUB_ITEMS_PER_RANK))
                stats = pair_stats(vectors, items, IMAGE_THRESHOLD_QUANTILE, rank)
            else:
                stats = pair_stats(vectors, items, THRESHOLD_QUANTILE)
            if stats is not None:
                pairs[f"{query_kind}->{item_kind}"] = stats
    return Calibration(pairs=pairs, items=int(sum(len(items) for items in items_by_kind.values())))


# --- Probes ------------------------------------------------------------------------------

_LATIN = "abcdefghijklmnopqrstuvwxyz"
_CONSONANTS = "bcdfghjklmnpqrstvwxz"
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# Blocks of rarely combined characters: strings of them name nothing.
_SCRIPTS = ("\u4e00\u9fff", "\u0400\u044f", "\u0370\u03ff", "\u3041\u3096", "\uac00\ud7a3", "\u0600\u06ff")


def text_probes(count: int, seed: int) -> list[str]:
    """Strings that name nothing: random letters, consonant runs, keyboard mashes, codes,
    random characters of several scripts; short and long."""
    rng = random.Random(f"text-probes:{seed}")
    makers: Sequence[Callable[[], str]] = (
        lambda: "".join(rng.choice(_LATIN) for _ in range(rng.randint(2, 12))),
        lambda: "".join(rng.choice(_CONSONANTS) for _ in range(rng.randint(3, 7))),
        lambda: "".join(row[start : start + rng.randint(3, 5)]
                        for row in [rng.choice(_ROWS)] for start in [rng.randint(0, 4)]),  # fmt: skip
        lambda: f"{''.join(rng.choice(_LATIN) for _ in range(rng.randint(2, 3))).upper()}-{rng.randint(10, 99999)}",
        lambda: "".join(chr(rng.randint(ord(low), ord(high)))
                        for low, high in [rng.choice(_SCRIPTS)] for _ in range(rng.randint(2, 6))),  # fmt: skip
        lambda: " ".join("".join(rng.choice(_LATIN) for _ in range(rng.randint(3, 8))) for _ in range(rng.randint(2, 4))),
    )
    return [makers[index % len(makers)]() for index in range(count)]


def image_probes(count: int, seed: int, size: int = 128) -> list[Image.Image]:
    """Pictures of nothing: noise, gradients, flat colours, blurred blobs."""
    rng = random.Random(f"image-probes:{seed}")
    np_rng = np.random.default_rng(rng.getrandbits(32))
    pictures = []
    for index in range(count):
        kind = index % 4
        if kind == 0:
            array = np_rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            pictures.append(Image.fromarray(array, "RGB"))
        elif kind == 1:
            start, end = np_rng.integers(0, 256, 3), np_rng.integers(0, 256, 3)
            t = np.linspace(0, 1, size)[None, :, None]
            array = (start + (end - start) * t).repeat(size, axis=0).astype(np.uint8)
            pictures.append(Image.fromarray(array, "RGB"))
        elif kind == 2:
            pictures.append(Image.new("RGB", (size, size), tuple(int(v) for v in np_rng.integers(0, 256, 3))))
        else:
            image = Image.new("RGB", (size, size), tuple(int(v) for v in np_rng.integers(0, 256, 3)))
            draw = ImageDraw.Draw(image)
            for _ in range(rng.randint(2, 5)):
                x, y, r = rng.randint(0, size), rng.randint(0, size), rng.randint(size // 8, size // 3)
                draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(v) for v in np_rng.integers(0, 256, 3)))
            pictures.append(image.filter(ImageFilter.GaussianBlur(size / 20)))
    return pictures
