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


def test_indexing_calibrates_the_space_and_recalibrates_as_it_grows(django_user_model, monkeypatch) -> None:
    from django.core.cache import cache

    from media_index import dispatch
    from media_index.tasks import refresh_calibration

    report = demo_collection_load(pictures=20, notes=8, index_now=True)
    cache.clear()  # the per-space debounce of refresh requests (the load's batches asked too)
    space = EmbeddingSpace.objects.get(is_active=True)
    first = Calibration.from_json(space.calibration)

    assert first is not None and set(first.pairs) == {"text->image", "text->note", "image->image", "image->note"}
    assert first.items >= len(report.item_ids) * 0.8
    text_image = first.stats("text", "image")
    # The modality gap: what an unrelated query reaches differs between pictures and notes.
    assert text_image.cosine_at(0) != pytest.approx(first.stats("text", "note").cosine_at(0), abs=1e-3)

    # The collection grows by more than a quarter: indexing asks the maintenance queue to
    # recalibrate (once, however many batches) instead of spending the upload's time on it.
    sent: list[tuple[str, tuple]] = []
    monkeypatch.setattr(dispatch, "send", lambda task, *args: sent.append((task, args)))
    owner = django_user_model.objects.create_user("writer", password="pw")
    notes = [item_create_note(owner=owner, text=f"Shopping list number {n}: milk, eggs and bread.")[0] for n in range(30)]
    items_index(item_ids=[note.pk for note in notes[:15]])
    items_index(item_ids=[note.pk for note in notes[15:]])

    assert sent == [(dispatch.REFRESH_CALIBRATION, (space.pk,))]
    assert Calibration.from_json(EmbeddingSpace.objects.get(pk=space.pk).calibration) == first
    assert refresh_calibration(space.pk) is True  # what the maintenance worker runs
    again = Calibration.from_json(EmbeddingSpace.objects.get(pk=space.pk).calibration)
    assert again.items > first.items * 1.25 and again != first
    assert refresh_calibration(space.pk) is False  # current now: nothing to do
    assert refresh_calibration() is False  # the periodic sweep over active spaces: nothing either


def test_with_the_broker_down_indexing_recalibrates_itself(django_user_model, monkeypatch) -> None:
    from django.core.cache import cache

    from media_index import dispatch

    demo_collection_load(pictures=8, notes=4, index_now=True)
    cache.clear()
    space = EmbeddingSpace.objects.get(is_active=True)
    first = Calibration.from_json(space.calibration)

    def broker_down(task: str, *args: object) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(dispatch, "send", broker_down)
    owner = django_user_model.objects.create_user("writer", password="pw")
    notes = [item_create_note(owner=owner, text=f"Note {n} about the weekend hike.")[0] for n in range(20)]
    items_index(item_ids=[note.pk for note in notes])

    again = Calibration.from_json(EmbeddingSpace.objects.get(pk=space.pk).calibration)
    assert again.items > first.items * 1.25


def test_a_space_whose_model_cannot_load_is_searched_uncalibrated() -> None:
    space = make_space()  # a test backend no registry knows

    assert space_calibration(space=space) is None
