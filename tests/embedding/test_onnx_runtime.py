"""The ONNX Runtime path gives the same vectors as PyTorch (fp32) or very close ones (int8)."""

from __future__ import annotations

import numpy as np
import pytest

from media_index.embedding.open_clip_backend import OpenClipEmbedder
from media_index.embedding.weights import resolve_open_clip
from media_index.training.concepts import CONCEPTS_BY_KEY
from media_index.training.render import render_picture

TEXTS = ["a cute puppy", "红色的汽车", "Max, our puppy, fell asleep on the sofa after his long walk."]


@pytest.fixture(scope="module")
def pictures() -> list:
    return [render_picture([CONCEPTS_BY_KEY[key]], seed=5 + index, size=96)
            for index, key in enumerate(["dog", "car", "pizza"])]  # fmt: skip


@pytest.fixture(scope="module")
def torch_embedder() -> OpenClipEmbedder:
    return OpenClipEmbedder(resolve_open_clip("demo-clip", "demo"))


def test_onnx_fp32_matches_pytorch_within_1e_4(settings, tmp_path, torch_embedder, pictures) -> None:
    settings.MODEL_DIR = tmp_path
    onnx = OpenClipEmbedder(resolve_open_clip("demo-clip", "demo"), runtime="onnx")

    assert onnx.spec == torch_embedder.spec  # same space: the runtime is not part of its identity
    assert np.abs(onnx.embed_texts(TEXTS) - torch_embedder.embed_texts(TEXTS)).max() < 1e-4
    assert np.abs(onnx.embed_images(pictures) - torch_embedder.embed_images(pictures)).max() < 1e-4
    exported = sorted(path.name for path in (tmp_path / "onnx").glob("*/*.onnx"))
    assert exported == ["image.onnx", "text.onnx"]


def test_onnx_int8_stays_close_and_reuses_the_export(settings, tmp_path, torch_embedder, pictures) -> None:
    settings.MODEL_DIR = tmp_path
    OpenClipEmbedder(resolve_open_clip("demo-clip", "demo"), runtime="onnx")
    folder = next((tmp_path / "onnx").iterdir())
    before = (folder / "text.onnx").stat().st_mtime_ns

    int8 = OpenClipEmbedder(resolve_open_clip("demo-clip", "demo"), runtime="onnx-int8")

    assert (folder / "text.onnx").stat().st_mtime_ns == before  # cached, not exported again
    assert {path.name for path in folder.iterdir()} >= {"image.int8.onnx", "text.int8.onnx"}
    cosines = np.sum(int8.embed_texts(TEXTS) * torch_embedder.embed_texts(TEXTS), axis=1)
    assert cosines.min() > 0.99
    cosines = np.sum(int8.embed_images(pictures) * torch_embedder.embed_images(pictures), axis=1)
    assert cosines.min() > 0.98
