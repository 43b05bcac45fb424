"""BGE-M3 as a text-only space: loading checks, the pipeline's dense + sparse rows, search plumbing.

The model here is tests/embedding/tiny_bge_m3.py: BGE-M3's architecture and file layout,
random weights, built locally (real BGE-M3 weights cannot be downloaded on these
machines). It proves the loading code, storage and search paths, not retrieval quality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import AnonymousUser

from media_index.embedding.bge_m3_backend import BgeM3Embedder, resolve_bge_m3
from media_index.errors import ModelUnavailable
from media_index.models import EmbeddingSpace, Item, Vector
from media_index.search.service import _text_space_lists, search_by_query
from media_index.search.types import SearchFilters
from media_index.services.demo import demo_user
from media_index.services.indexing import items_index
from media_index.services.uploads import item_create_image, item_create_note
from tests import media
from tests.embedding.tiny_bge_m3 import build_tiny_bge_m3


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_bge_m3(tmp_path_factory.mktemp("bge") / "tiny-bge-m3")


def test_a_missing_folder_says_how_to_get_the_weights(tmp_path) -> None:
    with pytest.raises(ModelUnavailable, match="download_models --bge-m3"):
        resolve_bge_m3(str(tmp_path / "absent"))


def test_a_folder_without_the_heads_is_refused(tiny_model, tmp_path) -> None:
    # FlagEmbedding would silently use random heads; the loader refuses instead.
    partial = tmp_path / "partial"
    partial.mkdir()
    for path in tiny_model.iterdir():
        if path.name != "sparse_linear.pt":
            (partial / path.name).write_bytes(path.read_bytes())

    with pytest.raises(ModelUnavailable, match="sparse_linear.pt"):
        resolve_bge_m3(str(partial))


def test_the_embedder_gives_unit_dense_rows_and_token_weights(tiny_model) -> None:
    embedder = BgeM3Embedder(resolve_bge_m3(str(tiny_model)))

    dense, sparse = embedder.embed_texts_with_sparse(["a puppy on the sofa", "我家的小狗"])

    assert embedder.spec.backend == "bge_m3" and embedder.spec.dimension == dense.shape[1] == 32
    assert np.allclose(np.linalg.norm(dense, axis=1), 1.0, atol=1e-5)
    # (Random heads may weigh every token of a text at zero; the released model does not.)
    assert any(sparse) and all(isinstance(token, int) and weight > 0 for row in sparse for token, weight in row.items())
    assert embedder.count_tokens("a puppy") >= 3  # <s> ... </s>
    with pytest.raises(ModelUnavailable, match="text model"):
        embedder.embed_images([])


@pytest.mark.django_db
@pytest.mark.slow
def test_notes_get_dense_and_sparse_rows_in_the_text_space_and_search_uses_them(tiny_model, settings) -> None:
    settings.TEXT_EMBEDDING_BACKEND = "bge_m3"
    settings.TEXT_EMBEDDING_MODEL = str(tiny_model)
    owner = demo_user()
    note, _ = item_create_note(owner=owner, text="Invoice INV-2024-0042 for the new bicycle.", visibility="public")
    other, _ = item_create_note(owner=owner, text="我家的小狗每天早上都在公园里跑来跑去。", visibility="public")
    picture, _ = item_create_image(owner=owner, data=media.image_bytes("blue"), visibility="public")

    items_index(item_ids=[note.pk, other.pk, picture.pk])

    text_space = EmbeddingSpace.objects.get(modality=EmbeddingSpace.Modality.TEXT, is_active=True)
    image_space = EmbeddingSpace.objects.get(modality=EmbeddingSpace.Modality.IMAGE_TEXT, is_active=True)
    assert set(Item.objects.values_list("status", flat=True)) == {Item.Status.READY}
    assert text_space.backend == "bge_m3" and text_space.dimension == 32
    in_text_space = Vector.objects.filter(space=text_space)
    assert set(in_text_space.values_list("item_id", flat=True)) == {note.pk, other.pk}  # notes only
    assert all(row.sparse is not None for row in in_text_space)
    assert any(np.count_nonzero(row.sparse.to_numpy()) for row in in_text_space)
    assert not Vector.objects.filter(space=image_space, sparse__isnull=False).exists()

    # A query embedded by the text model: its own text is nearest to itself in that space.
    lists = _text_space_lists(text="Invoice INV-2024-0042 for the new bicycle.", viewer=AnonymousUser(),
                              filters=SearchFilters(),
                              mode="hybrid")  # fmt: skip
    assert [ranked.signal for ranked in lists] == ["dense", "lexical"]
    assert lists[0].hits[0].item_id == note.pk and lists[0].hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert note.pk in {hit.item_id for hit in lists[1].hits}
    # And the full hybrid search fuses them with the image-text space and BM25.
    result = search_by_query(viewer=AnonymousUser(), text="INV-2024-0042")
    assert result.hits[0].item_id == note.pk


@pytest.mark.django_db
def test_a_text_model_that_cannot_load_does_not_stop_uploads(settings, tmp_path, caplog) -> None:
    settings.TEXT_EMBEDDING_BACKEND = "bge_m3"
    settings.TEXT_EMBEDDING_MODEL = str(tmp_path / "missing")
    note, _ = item_create_note(owner=demo_user(), text="A note while the text model is missing.")

    report = items_index(item_ids=[note.pk])

    assert report.ready == [note.pk]
    assert not EmbeddingSpace.objects.filter(modality=EmbeddingSpace.Modality.TEXT).exists()
    assert "cannot be loaded" in caplog.text


@pytest.mark.django_db
@pytest.mark.slow
def test_with_both_spaces_calibrated_a_note_takes_the_better_reading_on_one_scale(tiny_model, settings) -> None:
    """The text space's cosines are turned into relevance by its own calibration and a note
    keeps the better of its two readings: one calibrated list with a relevance line, not
    reciprocal rank fusion (whose scores have none)."""
    from media_index.search.calibration import Calibration, PairStats
    from media_index.services.calibration import space_calibrate, space_calibration

    settings.TEXT_EMBEDDING_BACKEND = "bge_m3"
    settings.TEXT_EMBEDDING_MODEL = str(tiny_model)
    owner = demo_user()
    text = "Invoice INV-2024-0042 for the new bicycle."
    notes = [item_create_note(owner=owner, text=body, visibility="public")[0] for body in (
        text, "我家的小狗每天早上都在公园里跑来跑去。", "The kids watched the rocket launch on TV.",
        "Router password for the holiday flat: sunflower-7731.", "Friday dinner: pizza with olives.")]  # fmt: skip
    pictures = [item_create_image(owner=owner, data=media.image_bytes(colour), visibility="public")[0]
                for colour in ("blue", "red", "green")]  # fmt: skip
    items_index(item_ids=[item.pk for item in notes + pictures])
    text_space = EmbeddingSpace.objects.get(modality=EmbeddingSpace.Modality.TEXT, is_active=True)
    image_space = EmbeddingSpace.objects.get(modality=EmbeddingSpace.Modality.IMAGE_TEXT, is_active=True)
    for space in (text_space, image_space):
        space_calibrate(space=space)
    text_calibration, image_calibration = space_calibration(space=text_space), space_calibration(space=image_space)
    assert text_calibration.stats("text", "note") is not None

    for mode in ("dense", "hybrid"):
        result = search_by_query(viewer=AnonymousUser(), text=text, mode=mode)
        hits = result.hits + result.weaker
        assert hits and all(hit.relevance is not None for hit in hits), mode  # the calibrated path
        assert {hit.kind for hit in hits} == {"image", "note"}

    # A random tiny model cannot separate anything (its own calibration says so: the exact
    # text reads at the line). Give its space the calibration of a model that does, as a
    # trained text model's would be: then the note's relevance is that reading.
    sharp = Calibration(pairs={"text->note": PairStats(median=0.0, spread=0.1, threshold=2.0, step=1.0, samples=100)},
                        items=text_calibration.items)  # fmt: skip
    EmbeddingSpace.objects.filter(pk=text_space.pk).update(calibration=sharp.to_json())
    result = search_by_query(viewer=AnonymousUser(), text=text, mode="dense")
    first = next(hit for hit in result.hits + result.weaker if hit.item_id == notes[0].pk)
    image_reading = image_calibration.relevance("text", "note", first.dense_score)
    assert first.relevance == pytest.approx(8.0, abs=1e-3)  # cosine 1 in the text space: (10 - 2) / 1
    assert first.relevance > image_reading
    assert result.hits[0].item_id == notes[0].pk and "dense" in first.signals
