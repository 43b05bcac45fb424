"""The demo collection: generated pictures and notes so a fresh install has something to find.

Rendered with the same code as the demo model's training data, but from seeds the
training never used, so searching it is an honest (if easy) test of the model.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser

from media_index.models import Item
from media_index.selectors import active_space, active_text_space
from media_index.services.calibration import space_calibration_refresh
from media_index.services.indexing import items_index
from media_index.services.uploads import item_create_image, item_create_note
from media_index.synthetic.captions import note
from media_index.synthetic.concepts import CONCEPTS
from media_index.synthetic.render import render_picture

DEMO_USERNAME = "demo"
# Far from the training (0...) and evaluation (1_000_003) seeds.
DEMO_SEED = 2_000_003
# Rendered larger than the model's 64 px input so thumbnails look like something.
DEMO_PICTURE_SIZE = 192
MULTI_OBJECT_SHARE = 0.2
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
    rng = random.Random(seed)
    for index in range(pictures):
        chosen = [CONCEPTS[index % len(CONCEPTS)]]
        if rng.random() < MULTI_OBJECT_SHARE:
            chosen += rng.sample([c for c in CONCEPTS if c is not chosen[0]], rng.randint(1, 2))
        image = render_picture(chosen, seed=rng.getrandbits(63), size=DEMO_PICTURE_SIZE)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        names = [concept.en[0] for concept in chosen]
        title = "" if camera_names else f"{_picture_title(names)} · {'、'.join(concept.zh[0] for concept in chosen)}"
        item, created = item_create_image(owner=owner, data=buffer.getvalue(),
                                          filename=demo_picture_name(index, camera_names=camera_names),
                                          title=title, visibility=Item.Visibility.PUBLIC)  # fmt: skip
        report.item_ids.append(item.pk)
        report.created += created
        report.existing += not created
    for index in range(notes):
        concept = CONCEPTS[(index * 7) % len(CONCEPTS)]
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
