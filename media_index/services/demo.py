"""The demo collection: generated pictures and notes so a fresh install has something to find.

Drawn from the demo model's corpus (OpenMoji drawings of ~1,400 concepts, CC BY-SA 4.0) with
the same code as its training data, but from seeds the training never used, so searching
it is an honest (if easy) test of the model. The collection puts a dozen showcase concepts
first (each prefix of it is a good small demo), then the 52 everyday concepts and their
named colours, then one picture each of as many other concepts as fit.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from PIL import Image

from media_index.models import Item
from media_index.selectors import active_space, active_text_space
from media_index.services.calibration import space_calibration_refresh
from media_index.services.indexing import items_index
from media_index.services.uploads import item_create_image, item_create_note
from media_index.synthetic.captions import note
from media_index.synthetic.concepts import CONCEPTS, Concept
from media_index.synthetic.corpus import corpus
from media_index.synthetic.openmoji import ATTRIBUTION
from media_index.synthetic.render import TRAINING_BACKGROUNDS, render_scene

DEMO_USERNAME = "demo"
# Far from the training (0...) and evaluation (1_000_003) seeds.
DEMO_SEED = 2_000_003
# Rendered larger than the model's 64 px input so thumbnails look like something.
DEMO_PICTURE_SIZE = 192
MULTI_OBJECT_SHARE = 0.2
# The concepts the README and the browser test search for, each drawn SHOWCASE_COPIES times
# (the first copy of each comes first, so even a 12-picture collection shows them all).
SHOWCASE_KEYS = ("dog", "cat", "car", "apple", "penguin", "watermelon", "bus", "cow", "glasses", "bicycle",
                 "pizza", "rocket")  # fmt: skip
SHOWCASE_COPIES = 4
EVERYDAY_COPIES = 2
# The demo pictures' drawing style and canvases: the style the model was trained on, on
# training's background kinds ("drawings" with no backdrop is a plain canvas).
DEMO_STYLE = "openmoji"
DEMO_BACKGROUNDS = TRAINING_BACKGROUNDS
DEMO_CREDIT = ATTRIBUTION
# Camera-style names of the pictures in the camera-named variant: IMG_4700.png, ...
CAMERA_FIRST_NUMBER = 4700
# Items embedded per in-process batch with --sync, as the worker would.
SYNC_BATCH = 64
# Hand-written notes (exact codes, Chinese, a 2,000-word diary) that show lexical and
# hybrid search; the evaluation queries in eval/notes-queries.jsonl refer to them.
SHOWCASE_NOTES_DIR = Path(settings.BASE_DIR) / "eval" / "notes"


@dataclass
class DemoLoadReport:
    created: int = 0
    existing: int = 0
    item_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class DemoScene:
    """What one demo picture shows: its concepts, which emoji of each (None: any), and the
    seed that draws it."""

    concepts: tuple[Concept, ...]
    variants: tuple[int | None, ...]
    seed: int

    @property
    def main(self) -> Concept:
        return self.concepts[0]


def demo_scenes(count: int, *, seed: int = DEMO_SEED) -> list[DemoScene]:
    """The first ``count`` demo pictures' contents, in order (a function of ``seed`` only).

    Showcase concepts twice each; the everyday concepts once each; each named colour of an
    everyday concept once ("a red car" has a red car to find); the remaining showcase and
    everyday copies; then every other corpus concept once, in a seeded order. About one
    picture in five also shows one or two everyday concepts beside its own."""
    everything = corpus()
    by_key = {concept.key: concept for concept in everything}
    everyday = [by_key[concept.key] for concept in CONCEPTS]
    showcase = [by_key[key] for key in SHOWCASE_KEYS]
    # Twice round the showcase first: a small collection (the tests' 120) has several of each.
    singles: list[tuple[Concept, int | None]] = [(concept, None) for concept in showcase * 2]
    singles += [(concept, None) for concept in everyday if concept.key not in SHOWCASE_KEYS]
    singles += [(concept, variant) for concept in everyday
                for variant, colour in enumerate(concept.colours) if colour is not None]  # fmt: skip
    singles += [(concept, None) for concept in showcase] * (SHOWCASE_COPIES - 2)
    singles += [(concept, None) for concept in everyday if concept.key not in SHOWCASE_KEYS] * (EVERYDAY_COPIES - 1)
    rng = random.Random(seed)
    others = list(everything[len(CONCEPTS):])
    rng.shuffle(others)
    singles += [(concept, None) for concept in others]
    scenes = []
    for index in range(count):
        concept, variant = singles[index % len(singles)]
        concepts, variants = [concept], [variant]
        if rng.random() < MULTI_OBJECT_SHARE:
            extra = rng.sample([other for other in everyday if other.key != concept.key], rng.randint(1, 2))
            concepts += extra
            variants += [None] * len(extra)
        scenes.append(DemoScene(tuple(concepts), tuple(variants), rng.getrandbits(63)))
    return scenes


def demo_note_topics(count: int, *, seed: int = DEMO_SEED) -> list[Concept]:
    """What each of the first ``count`` generated notes is about: the pictures' concepts in
    the same order, two notes each (English, then Chinese), so a small collection's notes
    and pictures share topics."""
    topics = [scene.main for scene in demo_scenes(max(1, (count + 1) // 2), seed=seed)]
    return [topics[index // 2] for index in range(count)]


def demo_picture(scene: DemoScene) -> tuple[Image.Image, list[str | None]]:
    """The scene's picture and each object's colour name (None where it has none)."""
    return render_scene(scene.concepts, seed=scene.seed, size=DEMO_PICTURE_SIZE, variants=scene.variants,
                        style=DEMO_STYLE, backgrounds=DEMO_BACKGROUNDS)  # fmt: skip


def demo_user() -> AbstractBaseUser:
    user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
    if created:
        user.set_unusable_password()  # owns the demo items; nobody logs in as it
        user.save(update_fields=["password"])
    return user


def _picture_title(names: list[str]) -> str:
    return names[0].capitalize() if len(names) == 1 else ", ".join(names[:-1]).capitalize() + " and " + names[-1]


def demo_picture_name(index: int, *, camera_names: bool = False) -> str:
    """File name of demo picture ``index``: "demo-0007.png", or a camera's "IMG_4707.png"."""
    return f"IMG_{CAMERA_FIRST_NUMBER + index:04d}.png" if camera_names else f"demo-{index:04d}.png"


def demo_note_name(index: int) -> str:
    return f"note-{index:03d}.txt"


def demo_collection_load(*, pictures: int = 300, notes: int = 60, seed: int = DEMO_SEED,
                         index_now: bool = False, camera_names: bool = False) -> DemoLoadReport:  # fmt: skip
    """Create the public demo items (idempotent: the same seed makes the same items).

    ``camera_names``: pictures are named like a phone's photos ("IMG_4707.png") and carry no
    title, so only their content can find them (the evaluation of meaning alone)."""
    owner = demo_user()
    report = DemoLoadReport()
    rng = random.Random(seed + 1)  # the notes' words
    scenes = demo_scenes(pictures, seed=seed)
    for index, scene in enumerate(scenes):
        image, _ = demo_picture(scene)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        names = [concept.en[0] for concept in scene.concepts]
        title = "" if camera_names else f"{_picture_title(names)} · {'、'.join(c.zh[0] for c in scene.concepts)}"
        item, created = item_create_image(owner=owner, data=buffer.getvalue(),
                                          filename=demo_picture_name(index, camera_names=camera_names),
                                          title=title, visibility=Item.Visibility.PUBLIC)  # fmt: skip
        report.item_ids.append(item.pk)
        report.created += created
        report.existing += not created
    for index, concept in enumerate(demo_note_topics(notes, seed=seed)):
        language = "en" if index % 2 == 0 else "zh"
        text = " ".join(note(concept, rng, language) for _ in range(rng.randint(1, 3)))
        # Named like a notes app's export; the name (not a title) keeps the note's own words first.
        item, created = item_create_note(owner=owner, text=text, filename=demo_note_name(index),
                                         visibility=Item.Visibility.PUBLIC)  # fmt: skip
        report.item_ids.append(item.pk)
        report.created += created
        report.existing += not created
    for item in showcase_notes_load(owner=owner):
        report.item_ids.append(item.pk)
    if index_now:
        for start in range(0, len(report.item_ids), SYNC_BATCH):
            items_index(item_ids=report.item_ids[start : start + SYNC_BATCH])
        # Loaded in this process: calibrate once, on the whole collection, now.
        for space in (active_space(), active_text_space()):
            if space is not None:
                space_calibration_refresh(space=space)
    return report


def showcase_notes_load(*, owner: AbstractBaseUser, folder: Path = SHOWCASE_NOTES_DIR) -> list[Item]:
    """The notes in ``folder`` (one ``.txt`` each), public, owned by ``owner``; idempotent."""
    items = []
    for path in sorted(folder.glob("*.txt")):
        item, _ = item_create_note(owner=owner, text=path.read_text(encoding="utf-8"), filename=path.name,
                                   visibility=Item.Visibility.PUBLIC)  # fmt: skip
        items.append(item)
    return items
