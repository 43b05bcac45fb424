"""The ONNX Runtime path gives the same vectors as PyTorch (fp32) or very close ones (int8)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from media_index.embedding.base import l2_normalize
from media_index.embedding.open_clip_backend import OpenClipEmbedder
from media_index.embedding.text_prefix import encode_text_prefix, eot_pooled_text_tower
from media_index.embedding.weights import resolve_open_clip
from media_index.synthetic.concepts import CONCEPTS_BY_KEY
from media_index.synthetic.render import render_picture

TEXTS = ["a cute puppy", "红色的汽车", "Max, our puppy, fell asleep on the sofa after his long walk."]
LONG_TEXT = "Max, our puppy, fell asleep on the sofa after his long walk. " * 6  # over 77 tokens: cut


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


def test_onnx_text_runs_trimmed_tokens_and_skips_old_exports(settings, tmp_path, torch_embedder) -> None:
    settings.MODEL_DIR = tmp_path
    sha = torch_embedder.spec.checkpoint_sha256
    stale = tmp_path / "onnx" / f"demo-clip__{sha[:16]}"  # the folder before EXPORT_VERSION: 77 tokens only
    stale.mkdir(parents=True)
    (stale / "text.onnx").write_bytes(b"not a model")

    onnx = OpenClipEmbedder(resolve_open_clip("demo-clip", "demo"), runtime="onnx")

    assert not (stale / "image.onnx").exists()  # exported anew, into onnx_dir's versioned folder
    assert onnx._onnx._session("text.onnx").get_inputs()[0].shape == ["batch", "length"]
    texts = [*TEXTS, LONG_TEXT]
    tokens = torch_embedder._tokenizer(texts)
    tower, pooling = eot_pooled_text_tower(torch_embedder._model)
    for length in (5, 77):  # exported from 77-token rows: no length may be baked into the graph
        with torch.inference_mode():
            expected = encode_text_prefix(tower, pooling, tokens[:, :length]).numpy()
        np.testing.assert_allclose(onnx._onnx.encode_text(tokens[:, :length].numpy()), expected, atol=1e-5)
    with torch.inference_mode():
        full_padding = l2_normalize(torch_embedder._model.encode_text(tokens).numpy())
    np.testing.assert_allclose(onnx.embed_texts(texts), full_padding, atol=1e-5)
