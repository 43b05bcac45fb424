"""Visualized BGE: loading checks, pictures, texts and composed queries through search.

The model is tests/embedding/tiny_visualized_bge.py (the architecture at toy size with
random weights, built locally: the released weights cannot be downloaded here). It proves
the loading code, the packaging fix and the search plumbing, not retrieval quality.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import AnonymousUser

from media_index.embedding.registry import ModelConfig, get_embedder
from media_index.embedding.visualized_bge_backend import resolve_visualized_bge
from media_index.errors import ModelUnavailable
from media_index.search.service import search_by_query
from media_index.services.demo import demo_user
from media_index.services.indexing import items_index, space_embed_items
from media_index.services.spaces import space_for_model
from media_index.services.uploads import item_create_image, item_create_note
from tests import media
from tests.embedding.tiny_visualized_bge import build_tiny_visualized_bge


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vbge")
    return build_tiny_visualized_bge(root / "tiny-visualized-bge", root / "eva-configs")


def config(folder: Path) -> ModelConfig:
    return ModelConfig("visualized_bge", str(folder), "local", "cpu")


def test_a_folder_without_weights_or_config_is_refused(tmp_path) -> None:
    with pytest.raises(ModelUnavailable, match="download_models --visualized-bge"):
        resolve_visualized_bge(str(tmp_path / "absent"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="exactly one Visualized_"):
        resolve_visualized_bge(str(tmp_path / "empty"))


def test_pictures_texts_and_compositions_are_unit_vectors_of_one_space(tiny_model) -> None:
    embedder = get_embedder(config(tiny_model))
    from PIL import Image

    picture = Image.open(io.BytesIO(media.image_bytes("red", size=(80, 60))))
    image = embedder.embed_images([picture])
    text = embedder.embed_texts(["a red square"])
    composed = embedder.embed_composed([picture], ["a red square"])

    assert embedder.spec.backend == "visualized_bge" and embedder.spec.dimension == 768
    for vectors in (image, text, composed):
        assert vectors.shape == (1, 768) and abs(float(np.linalg.norm(vectors)) - 1) < 1e-5
    assert not np.allclose(composed, image, atol=1e-3) and not np.allclose(composed, text, atol=1e-3)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_visualized_bge_space_is_filled_and_searched_with_composed_queries(tiny_model) -> None:
    owner = demo_user()
    note, _ = item_create_note(owner=owner, text="a red square on a white page", visibility="public")
    picture, _ = item_create_image(owner=owner, data=media.image_bytes("red"), visibility="public")
    items_index(item_ids=[note.pk, picture.pk])  # into the active (demo) space first
    space = space_for_model(config=config(tiny_model))

    assert space_embed_items(space_id=space.pk, item_ids=[note.pk, picture.pk]) == 2

    words = search_by_query(viewer=AnonymousUser(), text="a red square on a white page", space_id=space.pk,
                            mode="dense")  # fmt: skip
    assert words.space.pk == space.pk and words.hits[0].item_id == note.pk
    assert words.hits[0].dense_score == pytest.approx(1.0, abs=1e-4)
    composed = search_by_query(viewer=AnonymousUser(), text="a red square", image=media.image_bytes("red"),
                               space_id=space.pk, mode="dense")  # fmt: skip
    from PIL import Image

    expected = get_embedder(config(tiny_model)).embed_composed(
        [Image.open(io.BytesIO(media.image_bytes("red")))], ["a red square"]
    )[0]
    scores = {hit.item_id: hit.dense_score for hit in composed.hits + composed.weaker}
    picture_vector = np.asarray(picture.vectors.get(space=space).embedding)
    assert scores[picture.pk] == pytest.approx(float(expected @ picture_vector), abs=1e-4)
