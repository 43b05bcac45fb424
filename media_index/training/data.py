"""Datasets of (picture, caption) pairs for ``train.train``.

Both datasets yield a PIL image and a caption string (the generated one also a group id);
the training loop applies the model's own preprocess and tokenizer, so the same datasets
serve any open_clip model.
"""

import csv
import functools
import logging
import random
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TypedDict

import numpy as np
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from tqdm import tqdm

from media_index.synthetic.captions import caption, colour_caption, note, short_caption
from media_index.synthetic.concepts import COLOURS, Concept
from media_index.synthetic.render import NOTO_MODEL_BACKGROUNDS, SpriteStyle, render_scene

logger = logging.getLogger(__name__)

Pair = tuple[Image.Image, str]
# A pair plus a group id (pairs in one group show the same thing) and the indices of the
# concepts the picture shows (the class targets of train.train's concept loss).
GroupedPair = tuple[Image.Image, str, int, tuple[int, ...]]
# Soft class targets: (class index, weight) pairs whose weights sum to 1.
Targets = tuple[tuple[int, float], ...]
# A grouped pair plus the picture's and the caption's class targets (train.train's proxy loss).
TargetedPair = tuple[Image.Image, str, int, tuple[int, ...], Targets, Targets]


class Extras(TypedDict, total=False):
    """Texts for train.train's extra loss terms (each present only where it applies)."""

    # A short query and a personal note about the picture's first concept (text-pair loss).
    query: str
    note: str
    # A caption naming the single object's colour and the same words with another colour
    # (the colour hard negative): "a red car" against "a yellow car" for a red car.
    colour_caption: str
    colour_negative: str
    # Two views of one string of arbitrary words (text-view loss).
    view: str
    other_view: str


# A targeted pair plus the extra loss terms' texts.
ExtendedPair = tuple[Image.Image, str, int, tuple[int, ...], Targets, Targets, Extras]

# The share of a single coloured object's target that goes to its colour's class: enough
# that "a red car" ranks the red car above the blue one, little enough that "a car" still
# finds every car first.
COLOUR_TARGET_SHARE = 0.3


def scene_concepts(
    concepts: Sequence[Concept],
    index: int,
    seed: int,
    *,
    multi_object_probability: float,
    max_objects: int,
    schedule: Sequence[int] | None = None,
) -> tuple[list[Concept], int]:
    """The concepts shown in generated picture ``index`` and the seed that renders it.

    Picture i always shows concepts[i % len(concepts)], so every concept gets the same
    share of the pool however large it is (``schedule``, a list of concept positions, replaces
    that cycle: see ``drawing_schedule``); multi-object pictures add random others.
    """
    rng = random.Random(f"scene:{seed}:{index}")
    order = schedule or range(len(concepts))
    first = concepts[order[index % len(order)]]
    chosen = [first]
    if max_objects > 1 and rng.random() < multi_object_probability:
        others = [concept for concept in concepts if concept.key != first.key]
        chosen += rng.sample(others, rng.randint(1, max_objects - 1))
    return chosen, rng.getrandbits(63)


def drawing_schedule(
    concepts: Sequence[Concept], *, per_drawing: bool = True, weighted: Collection[str] = (), weight: int = 1
) -> list[int]:
    """Concept positions, each repeated once per drawing (emoji) of the concept when
    ``per_drawing``: a concept drawn three ways (🐶 🐕 🐩) gets three shares of the pool, so
    each of its drawings is seen as often as a one-drawing concept's. (With one share each,
    the v2 model's several-drawing concepts were among its worst: see
    models/demo-clip/README.md.) Concepts whose key is in ``weighted`` get ``weight``
    times their shares: the everyday concepts people search for most (the v2 model ranked
    dog, car and horse among its worst)."""
    if weight < 1:
        raise ValueError("weight must be at least 1")
    weighted = frozenset(weighted)
    return [
        position
        for position, concept in enumerate(concepts)
        for _ in range((max(1, len(concept.emoji)) if per_drawing else 1) * (weight if concept.key in weighted else 1))
    ]


_RENDER_CHUNK = 256


def _render_chunk(
    scenes: Sequence[tuple[list[Concept], int]], options: dict
) -> list[tuple[np.ndarray, list[str | None]]]:
    rendered = []
    for chosen, render_seed in scenes:
        picture, colours = render_scene(chosen, render_seed, **options)
        rendered.append((np.asarray(picture), colours))
    return rendered


class _InProcess:
    """``map`` in this process: the one-worker case, and no pool to start."""

    def __enter__(self) -> "_InProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @staticmethod
    def map(function, *iterables):  # type: ignore[no-untyped-def]
        return map(function, *iterables)


def _renderers(workers: int):  # type: ignore[no-untyped-def]
    if workers <= 1:
        return _InProcess()
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # fork: the workers inherit the loaded drawings and fonts instead of re-importing them.
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"))


class GeneratedPairs(Dataset[TargetedPair]):
    """A fixed pool of rendered pictures, each paired with many different captions.

    Rendering costs about 0.9 ms per 64 px picture on one core (1,170/s measured), which
    would compete with training for the CPU, so the pool is rendered once up front and kept as one uint8 array (12 KiB
    per 64 px picture). Item ``i`` is picture ``i % num_images`` with caption variant
    ``i // num_images``, drawn from a generator seeded by (seed, i): a shuffled pass over
    the dataset shows every picture ``captions_per_image`` times, with different words, in
    an order fixed by the sampler's seed.

    Items carry a group id, equal for pictures of the same set of concepts (and, for one
    object, the same named colour): with ~50
    concepts a batch of 128 holds several pictures of each, and without the ids the loss
    would treat "a cute puppy" as wrong for every puppy but one.
    """

    def __init__(
        self,
        concepts: Sequence[Concept],
        *,
        num_images: int,
        seed: int,
        image_size: int = 64,
        captions_per_image: int = 16,
        multi_object_probability: float = 0.25,
        max_objects: int = 3,
        note_probability: float = 0.3,
        style: SpriteStyle | None = "noto",
        backgrounds: Sequence[str] = NOTO_MODEL_BACKGROUNDS,
        augment: bool = False,
        progress: bool = True,
        workers: int = 1,
        per_drawing: bool = False,
        weighted: Collection[str] = (),
        weight: int = 1,
        second_artist: bool = False,
        text_pairs: bool = False,
        colour_negatives: bool = False,
        text_views: bool = False,
    ) -> None:
        if num_images < 1 or captions_per_image < 1:
            raise ValueError("num_images and captions_per_image must be positive")
        self.concepts = list(concepts)
        self.num_images = num_images
        self.seed = seed
        self.captions_per_image = captions_per_image
        self.note_probability = note_probability
        self.text_pairs = text_pairs
        self.colour_negatives = colour_negatives
        self.text_views = text_views
        self.scenes: list[list[Concept]] = []
        self.colours: list[list[str | None]] = []
        self.groups: list[int] = []
        group_ids: dict[tuple[frozenset[str], str | None], int] = {}
        self.pixels = np.empty((num_images, image_size, image_size, 3), dtype=np.uint8)
        position = {concept.key: index for index, concept in enumerate(self.concepts)}
        self.classes: list[tuple[int, ...]] = []
        # "Other drawings behind": any concept's drawings, faded into the background.
        backdrop = [glyph for concept in self.concepts for glyph in concept.emoji] if style != "noto" else []
        schedule = drawing_schedule(self.concepts, per_drawing=per_drawing, weighted=weighted, weight=weight)
        scenes = [
            scene_concepts(self.concepts, index, seed, multi_object_probability=multi_object_probability,
                           max_objects=max_objects, schedule=schedule)
            for index in range(num_images)
        ]  # fmt: skip
        options = {"size": image_size, "style": style, "backgrounds": tuple(backgrounds), "augment": augment,
                   "second_artist": second_artist,
                   "backdrop": backdrop}  # fmt: skip
        jobs = [scenes[start:start + _RENDER_CHUNK] for start in range(0, num_images, _RENDER_CHUNK)]
        bar = tqdm(total=num_images, desc="rendering pictures", disable=not progress)
        index = 0
        # Each picture depends only on its own seed, so rendering in worker processes gives the
        # very same pool, ~``workers`` times faster (it is the slowest part of a short run).
        with _renderers(workers) as pool:
            for rendered in pool.map(_render_chunk, jobs, [options] * len(jobs)):
                for (chosen, _), (pixels, colours) in zip(scenes[index:index + len(rendered)], rendered):
                    self.scenes.append(chosen)
                    self.classes.append(tuple(position[concept.key] for concept in chosen))
                    self.colours.append(colours)
                    # A red car and a blue car are different groups: their captions may name the colour.
                    signature = (frozenset(concept.key for concept in chosen),
                                 colours[0] if len(chosen) == 1 else None)  # fmt: skip
                    self.groups.append(group_ids.setdefault(signature, len(group_ids)))
                    self.pixels[index] = pixels
                    index += 1
                bar.update(len(rendered))
        bar.close()

    def __len__(self) -> int:
        return self.num_images * self.captions_per_image

    def __getitem__(self, index: int) -> TargetedPair | ExtendedPair:
        image_index = index % self.num_images
        rng = random.Random(f"caption:{self.seed}:{index}")
        text = caption(
            self.scenes[image_index], rng, note_probability=self.note_probability, colours=self.colours[image_index]
        )
        picture = Image.fromarray(self.pixels[image_index], "RGB")
        classes = self.classes[image_index]
        colour = self.colours[image_index][0] if len(classes) == 1 else None
        image_targets = self._targets(classes, colour)
        # The caption's targets name the colour only when its words do ("a red car").
        named = colour if colour is not None and _names_colour(text, colour) else None
        text_targets = image_targets if named == colour else self._targets(classes, None)
        item = (picture, text, self.groups[image_index], classes, image_targets, text_targets)
        if not (self.text_pairs or self.colour_negatives or self.text_views):
            return item
        # The extras come from their own generators: the main caption stays what it was without them.
        extras: Extras = {}
        if self.text_pairs:
            extras["query"], extras["note"] = self.text_pair(image_index, index)
        if self.colour_negatives and colour is not None:
            extras["colour_caption"], extras["colour_negative"] = self.colour_pair(image_index, index, colour)
        if self.text_views:
            extras["view"], extras["other_view"] = text_views(random.Random(f"text-view:{self.seed}:{index}"))
        return (*item, extras)

    def text_pair(self, image_index: int, index: int) -> tuple[str, str]:
        """A short query and a personal note about the picture's first concept, each in a
        random language: the pair the text-pair loss pulls together (and away from the
        batch's other concepts' notes), which picture-caption pairs alone do not ask for."""
        rng = random.Random(f"text-pair:{self.seed}:{index}")
        concept = self.scenes[image_index][0]
        query = short_caption(concept, rng, rng.choice(("en", "zh")))
        return query, note(concept, rng, rng.choice(("en", "zh")))

    def colour_pair(self, image_index: int, index: int, colour: str) -> tuple[str, str]:
        """A caption naming the picture's colour and the very same caption with another
        colour (same template, name and adjective, in the same language): a negative that
        shares every word but the colour, so only the colour can tell them apart. In a
        batch of 128 among 1,400 concepts a red car rarely meets a yellow one, so the
        contrastive loss alone lets the shape outweigh the colour (NegCLIP's swapped
        captions, Yuksekgonul et al. 2023, for the same reason)."""
        rng = random.Random(f"colour-negative:{self.seed}:{index}")
        concept = self.scenes[image_index][0]
        language = rng.choice(("en", "zh"))
        other = rng.choice([name for name in COLOURS if name != colour])
        state = rng.getstate()
        positive = colour_caption(concept, colour, rng, language)
        rng.setstate(state)
        return positive, colour_caption(concept, other, rng, language)

    @property
    def num_classes(self) -> int:
        """Concept classes, then one class per colour name (``COLOURS`` order)."""
        return len(self.concepts) + len(COLOURS)

    def _targets(self, classes: tuple[int, ...], colour: str | None) -> Targets:
        if colour is None:
            return tuple((index, 1.0 / len(classes)) for index in classes)
        colour_class = len(self.concepts) + list(COLOURS).index(colour)
        return ((classes[0], 1.0 - COLOUR_TARGET_SHARE), (colour_class, COLOUR_TARGET_SHARE))

    def class_names(self) -> list[tuple[str, ...]]:
        """Every concept's names (English, then Chinese), in class-index order: what
        train.train's concept loss encodes as the class prototypes."""
        return [concept.en + concept.zh for concept in self.concepts]


@functools.cache
def _vocabulary_words() -> tuple[str, ...]:
    """Whole English words of the CLIP BPE vocabulary (three letters or more; ~32,000)."""
    from open_clip.tokenizer import SimpleTokenizer

    return tuple(sorted(token[:-4] for token in SimpleTokenizer().encoder
                        if token.endswith("</w>") and token[:-4].isascii() and token[:-4].isalpha()
                        and len(token) >= 7))  # fmt: skip


@functools.cache
def _chinese_characters() -> tuple[str, ...]:
    """The characters of the corpus's Chinese names (the ones people's notes use too)."""
    from media_index.synthetic.corpus import corpus

    return tuple(sorted({char for concept in corpus() for name in concept.zh for char in name
                         if "\u4e00" <= char <= "\u9fff"}))  # fmt: skip


def text_views(rng: random.Random) -> tuple[str, str]:
    """Two views of one string of arbitrary words (English words of the vocabulary, or
    Chinese characters): the string, and the same with one word left out and the case
    changed now and then. Contrasted with the batch's other strings (SimCSE's idea, Gao et
    al. 2021), they teach the text tower to keep apart texts it has no concept for. Trained
    on names alone, it maps every such text (a note about the flat's wifi, a keyboard
    mash) to one "unknown" region, so nonsense reached unrelated notes as closely as "pizza"
    reached the pizza note and the relevance line had to rise above both. (1,000 steps of
    it did not change that: models/demo-clip/README.md, "Stage 4".)"""
    if rng.random() < 0.7:
        words = [rng.choice(_vocabulary_words()) for _ in range(rng.randint(1, 8))]
        joiner = " "
    else:
        words = [rng.choice(_chinese_characters()) for _ in range(rng.randint(2, 10))]
        joiner = ""
    other = list(words)
    if len(other) > 2:
        del other[rng.randrange(len(other))]
    view = joiner.join(other)
    if rng.random() < 0.3:
        view = view.capitalize() if rng.random() < 0.5 else view.upper()
    return joiner.join(words), view


def _names_colour(text: str, colour: str) -> bool:
    english, chinese = COLOURS[colour]
    return chinese in text or english in text.lower().split()


class CsvPairs(Dataset[Pair]):
    """A user's own pictures and captions, listed in a CSV file with header ``image,caption``.

    Relative image paths are resolved against the CSV's folder, so a folder of pictures
    and its pairs file can be moved together. Every row is checked when the dataset is
    built, so a typo fails before a long training run starts rather than in the middle.
    """

    def __init__(self, csv_path: str | Path) -> None:
        self.csv_path = Path(csv_path)
        base = self.csv_path.parent
        self.rows: list[tuple[Path, str]] = []
        with self.csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"image", "caption"} - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"{self.csv_path}: missing column(s) {sorted(missing)}; expected header image,caption")
            for line, row in enumerate(reader, start=2):
                image_path = Path(row["image"] or "")
                text = (row["caption"] or "").strip()
                if not text:
                    raise ValueError(f"{self.csv_path}:{line}: empty caption")
                if not image_path.is_absolute():
                    image_path = base / image_path
                if not image_path.is_file():
                    raise ValueError(f"{self.csv_path}:{line}: no image file at {image_path}")
                self.rows.append((image_path, text))
        if not self.rows:
            raise ValueError(f"{self.csv_path}: no pairs")
        logger.info("loaded %d pairs from %s", len(self.rows), self.csv_path)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> Pair:
        image_path, text = self.rows[index]
        try:
            with Image.open(image_path) as image:
                return image.convert("RGB"), text
        except (OSError, UnidentifiedImageError) as error:
            raise ValueError(f"{self.csv_path}: cannot read image {image_path}: {error}") from error
