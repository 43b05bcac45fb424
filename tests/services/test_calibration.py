"""Each space's calibration is computed from its own items and kept current by indexing."""

from __future__ import annotations

import pytest

from media_index.models import EmbeddingSpace
from media_index.search.calibration import Calibration
from media_index.services.calibration import space_calibration
from media_index.services.demo import demo_collection_load
from media_index.services.indexing import items_index
from media_index.services.uploads import item_create_note
from tests.factories import make_space

pytestmark = pytest.mark.django_db


def test_indexing_calibrates_the_space_and_recalibrates_as_it_grows(django_user_model) -> None:
    report = demo_collection_load(pictures=20, notes=8, index_now=True)
    space = EmbeddingSpace.objects.get(is_active=True)
    first = Calibration.from_json(space.calibration)

    assert first is not None and set(first.pairs) == {"text->image", "text->note", "image->image", "image->note"}
    assert first.items >= len(report.item_ids) * 0.8
    text_image = first.stats("text", "image")
    # The modality gap: what an unrelated query reaches differs between pictures and notes.
    assert text_image.cosine_at(0) != pytest.approx(first.stats("text", "note").cosine_at(0), abs=1e-3)

    owner = django_user_model.objects.create_user("writer", password="pw")
    notes = [item_create_note(owner=owner, text=f"Shopping list number {n}: milk, eggs and bread.")[0] for n in range(30)]
    items_index(item_ids=[note.pk for note in notes])

    again = Calibration.from_json(EmbeddingSpace.objects.get(pk=space.pk).calibration)
    assert again.items > first.items * 1.25 and again != first


def test_a_space_whose_model_cannot_load_is_searched_uncalibrated() -> None:
    space = make_space()  # a test backend no registry knows

    assert space_calibration(space=space) is None
