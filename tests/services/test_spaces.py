"""Switching models: re-index into a new space in the background, activate it, drop the old one.

Space B is the shipped demo model with slightly perturbed weights (a different checkpoint,
so a different space, that still understands the same things).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from rest_framework.test import APIClient

from media_index.embedding.registry import ModelConfig, get_embedder
from media_index.embedding.weights import DEMO_CHECKPOINT
from media_index.models import EmbeddingSpace, Item, Vector
from media_index.services.demo import demo_user, showcase_notes_load
from media_index.services.indexing import items_index, space_embed_items
from media_index.services.spaces import (
    space_activate_checked,
    space_drop,
    space_for_model,
    space_missing_item_ids,
    space_progress,
)
from media_index.services.uploads import item_create_image, item_create_note
from tests.factories import index_definition
from tests.test_tasks import wait_until_settled


def perturbed_demo_checkpoint(folder: Path, scale: float = 2e-3) -> Path:
    """The demo weights plus a little seeded noise: another checkpoint of the same model."""
    import safetensors.torch
    import torch

    generator = torch.Generator().manual_seed(7)
    state = safetensors.torch.load_file(str(DEMO_CHECKPOINT))
    noisy = {
        name: (tensor.float() + scale * torch.randn(tensor.shape, generator=generator)).to(tensor.dtype)
        if tensor.is_floating_point() else tensor
        for name, tensor in state.items()
    }  # fmt: skip
    path = folder / "demo-clip-b.safetensors"
    safetensors.torch.save_file(noisy, str(path))
    return path


def config_b(path: Path) -> ModelConfig:
    return ModelConfig("open_clip", "demo-clip", str(path), "cpu")


def index_name_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [name])
        return cursor.fetchone() is not None


def demo_pictures(owner, count: int) -> list[Item]:  # noqa: ANN001
    import io

    from media_index.synthetic.concepts import CONCEPTS
    from media_index.synthetic.render import render_picture

    items = []
    for index in range(count):
        buffer = io.BytesIO()
        render_picture([CONCEPTS[index % len(CONCEPTS)]], seed=31_000 + index, size=96).save(buffer, "PNG")
        title = CONCEPTS[index % len(CONCEPTS)].en[0]
        items.append(item_create_image(owner=owner, data=buffer.getvalue(), filename=f"{title}-{index}.png",
                                       title=title, visibility="public")[0])  # fmt: skip
    return items


@pytest.mark.django_db(transaction=True)  # as in production: no long transaction around CREATE INDEX
@pytest.mark.slow
def test_a_space_is_filled_checked_activated_and_dropped(tmp_path) -> None:
    owner = demo_user()
    items = showcase_notes_load(owner=owner) + demo_pictures(owner, 6)
    items_index(item_ids=[item.pk for item in items])
    space_a = EmbeddingSpace.objects.get(is_active=True)

    space_b = space_for_model(config=config_b(perturbed_demo_checkpoint(tmp_path)))

    assert space_b.pk != space_a.pk and not space_b.is_active
    assert index_name_exists(space_b.index_name)
    assert sorted(space_missing_item_ids(space_b)) == sorted(item.pk for item in items)
    with pytest.raises(Exception, match="still misses 20 item"):
        space_activate_checked(space=space_b)

    assert space_embed_items(space_id=space_b.pk, item_ids=[item.pk for item in items]) == 20
    assert space_progress(space_b) == (20, 20)
    # Notes are chunked in B by B's tokenizer: the diary has many chunks there too.
    assert Vector.objects.filter(space=space_b, item__original_name="road-trip-diary.txt").count() > 20

    space_activate_checked(space=space_b)
    space_a.refresh_from_db()
    assert EmbeddingSpace.objects.get(is_active=True).pk == space_b.pk and not space_a.is_active
    with pytest.raises(Exception, match="is active"):
        space_drop(space=space_b)
    assert space_drop(space=space_a) > 20
    assert not EmbeddingSpace.objects.filter(pk=space_a.pk).exists()
    assert not index_name_exists(space_a.index_name)
    assert Item.objects.count() == 20  # the items stay


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_reindexed_space_gets_its_index_in_one_build_once_it_is_full(tmp_path) -> None:
    from media_index.services.spaces import space_index_build_when_complete, space_reindex_begin

    owner = demo_user()
    items = showcase_notes_load(owner=owner) + demo_pictures(owner, 4)
    items_index(item_ids=[item.pk for item in items])

    # The batches (and the index build behind them) go to the broker; no worker runs here.
    space_b, sent = space_reindex_begin(backend="open_clip", model_name="demo-clip",
                                        pretrained=str(perturbed_demo_checkpoint(tmp_path)), batch_size=8)  # fmt: skip

    assert sent == len(items) and space_b.is_building
    assert not index_name_exists(space_b.index_name)  # no graph grown row by row
    assert space_index_build_when_complete(space_id=space_b.pk) is False  # items still missing
    space_embed_items(space_id=space_b.pk, item_ids=[item.pk for item in items[:-1]])
    assert space_index_build_when_complete(space_id=space_b.pk) is False
    space_embed_items(space_id=space_b.pk, item_ids=[items[-1].pk])
    assert space_index_build_when_complete(space_id=space_b.pk) is True
    assert index_name_exists(space_b.index_name)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_activating_a_space_early_builds_its_index_first(tmp_path) -> None:
    from media_index.services.spaces import space_reindex_begin

    owner = demo_user()
    items = showcase_notes_load(owner=owner)
    items_index(item_ids=[item.pk for item in items])
    space_b, _ = space_reindex_begin(backend="open_clip", model_name="demo-clip",
                                     pretrained=str(perturbed_demo_checkpoint(tmp_path)))  # fmt: skip

    space_activate_checked(space=space_b, force=True)

    assert index_name_exists(space_b.index_name)
    assert APIClient().get("/api/v1/search/", {"q": "puppy", "mode": "dense"}).status_code == 200


@pytest.mark.slow
def test_reindex_while_searching_then_switch_without_a_failed_request(live_worker, tmp_path) -> None:
    # Given a collection indexed by a real worker into space A
    owner = demo_user()
    items = showcase_notes_load(owner=owner) + demo_pictures(owner, 30)
    ids = [item.pk for item in items]
    assert {item.status for item in wait_until_settled(ids).values()} == {Item.Status.READY}
    space_a = EmbeddingSpace.objects.get(is_active=True)
    client = APIClient()
    statuses: list[int] = []

    def search(query: str) -> dict:
        response = client.get("/api/v1/search/", {"q": query, "mode": "dense"})
        statuses.append(response.status_code)
        return response.json()

    # When a re-index into space B runs in the background
    checkpoint = perturbed_demo_checkpoint(tmp_path)
    call_command("reindex", "--backend", "open_clip", "--model", "demo-clip", "--pretrained", str(checkpoint),
                 "--batch-size", "4", "--no-wait")  # fmt: skip
    space_b = EmbeddingSpace.objects.get(is_building=True)
    assert not index_name_exists(space_b.index_name)  # built once B is full, not row by row
    assert search("a cute puppy")["space"]["id"] == space_a.pk
    late, _ = item_create_note(owner=owner, text="A late note about a kitten, uploaded during the re-index.",
                               visibility="public")  # fmt: skip
    deadline = time.monotonic() + 180
    while space_progress(space_b)[0] < space_progress(space_b)[1] or Item.objects.get(pk=late.pk).status != "ready":
        # Then searches keep answering from space A the whole time
        body = search("a cute puppy")
        assert body["space"]["id"] == space_a.pk and body["results"]
        assert time.monotonic() < deadline, space_progress(space_b)
    # And the upload made during the build went into both spaces
    assert set(Vector.objects.filter(item=late).values_list("space_id", flat=True)) == {space_a.pk, space_b.pk}
    # And the worker builds B's index once B is full (the task queued behind the batches)
    while not index_name_exists(space_b.index_name):
        assert time.monotonic() < deadline + 60, "the index of the full space was not built"
        time.sleep(0.5)

    # When B is activated
    with pytest.raises(CommandError, match="There is no space"):
        call_command("activate_space", "999999")
    call_command("activate_space", str(space_b.pk))

    # Then searches use B: its model embeds the query and only B's vectors are compared
    body = search("a cute puppy")
    assert body["space"]["id"] == space_b.pk
    query = get_embedder(config_b(checkpoint)).embed_texts(["a cute puppy"])[0]
    expected = {}
    for item_id, embedding in Vector.objects.filter(space=space_b).values_list("item_id", "embedding"):
        expected[item_id] = max(expected.get(item_id, -1.0), float(np.dot(query, np.asarray(embedding))))
    for hit in body["results"]:
        assert hit["dense_score"] == pytest.approx(expected[hit["id"]], abs=1e-4)
    assert statuses and set(statuses) == {200}

    # And the spaces endpoint reports both, B complete and active
    spaces = {space["id"]: space for space in APIClient().get("/api/v1/spaces/").json()}
    assert spaces[space_b.pk]["is_active"] and spaces[space_b.pk]["complete"]
    assert spaces[space_b.pk]["item_count"] == spaces[space_b.pk]["eligible_items"] == len(items) + 1
    assert not spaces[space_a.pk]["is_active"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_a_space_large_enough_gets_a_denser_graph(tmp_path, settings) -> None:
    from media_index.services.spaces import hnsw_parameters, space_index_build_when_complete, space_reindex_begin

    settings.HNSW_LARGE_VECTORS = 1_000_000
    assert hnsw_parameters(999_999) == (16, 64) and hnsw_parameters(1_000_000) == (24, 128)
    owner = demo_user()
    items = showcase_notes_load(owner=owner)
    items_index(item_ids=[item.pk for item in items])
    active = EmbeddingSpace.objects.get(is_active=True)
    assert "m='16'" in index_definition(active.index_name)  # a new install plans for a small library

    # The re-indexed space holds as many vectors as the threshold (lowered to this library's size).
    space_b, _ = space_reindex_begin(backend="open_clip", model_name="demo-clip",
                                     pretrained=str(perturbed_demo_checkpoint(tmp_path)))  # fmt: skip
    space_embed_items(space_id=space_b.pk, item_ids=[item.pk for item in items])
    settings.HNSW_LARGE_VECTORS = Vector.objects.filter(space=space_b).count()
    assert space_index_build_when_complete(space_id=space_b.pk) is True

    definition = index_definition(space_b.index_name)
    assert "m='24'" in definition and "ef_construction='128'" in definition, definition
