"""Trimmed text padding: the text tower runs on each batch's longest text, with the same vectors."""

from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch

from media_index.embedding import open_clip_backend
from media_index.embedding.base import l2_normalize
from media_index.embedding.open_clip_backend import OpenClipEmbedder
from media_index.embedding.text_prefix import eot_pooled_text_tower
from media_index.embedding.weights import resolve_open_clip

LONG = "Max, our puppy, fell asleep on the sofa after his long walk in the park. " * 5
TEXTS = ["a cute puppy", "红色的汽车", "一只在沙滩上奔跑的小狗", LONG[:300], LONG]  # 5 to 77 tokens, the last cut at 77


@pytest.fixture(scope="module")
def embedder() -> OpenClipEmbedder:
    return OpenClipEmbedder(resolve_open_clip("demo-clip", "demo"))


def full_padding_vectors(embedder: OpenClipEmbedder, texts: list[str]) -> np.ndarray:
    """open_clip's own encode_text on its 77-token rows: what trimming must reproduce."""
    with torch.inference_mode():
        return l2_normalize(embedder._model.encode_text(embedder._tokenizer(texts)).numpy())


def test_trimmed_vectors_equal_the_full_77_token_ones(embedder) -> None:
    lengths = [embedder.count_tokens(text) for text in TEXTS]
    assert lengths[0] == 5 and 70 <= lengths[3] <= 77 and lengths[4] > 77  # the cases the batch covers

    vectors = embedder.embed_texts(TEXTS)

    np.testing.assert_allclose(vectors, full_padding_vectors(embedder, TEXTS), atol=1e-5)
    for text, vector in zip(TEXTS, vectors, strict=True):  # alone, each text is trimmed to its own length
        np.testing.assert_allclose(embedder.embed_texts([text])[0], vector, atol=1e-5)


def test_a_short_query_reaches_the_text_tower_trimmed(embedder, monkeypatch) -> None:
    seen = []
    encode = open_clip_backend.encode_text_prefix
    monkeypatch.setattr(open_clip_backend, "encode_text_prefix",
                        lambda tower, pooling, tokens: seen.append(tuple(tokens.shape)) or encode(tower, pooling, tokens))  # fmt: skip

    embedder.embed_texts(["a cute puppy"])
    embedder.embed_texts(["a cute puppy", LONG[:100]])
    embedder.trim_padding = False
    try:
        embedder.embed_texts(["a cute puppy"])
    finally:
        embedder.trim_padding = True

    assert seen == [(1, 5), (2, embedder.count_tokens(LONG[:100])), (1, 77)]


def tiny_custom_text_clip(**text_cfg: object) -> torch.nn.Module:
    torch.manual_seed(0)
    vision = open_clip.CLIPVisionCfg(layers=1, width=32, head_width=16, patch_size=8, image_size=32)
    text = open_clip.CLIPTextCfg(width=32, heads=2, layers=2, **text_cfg)
    return open_clip.CustomTextCLIP(embed_dim=16, vision_cfg=vision, text_cfg=text).eval()


def test_custom_text_clip_with_a_causal_tower_trims_exactly() -> None:
    model = tiny_custom_text_clip()
    tokens = open_clip.get_tokenizer("ViT-B-32")(TEXTS)
    tower, pooling = eot_pooled_text_tower(model)

    with torch.inference_mode():
        trimmed = open_clip_backend.encode_text_prefix(tower, pooling, pooling.trim(tokens))
        full = model.encode_text(tokens)

    assert pooling.trim(tokens).shape[1] == 77  # the longest text fills the context
    np.testing.assert_allclose(trimmed.numpy(), full.numpy(), atol=1e-5)
    with torch.inference_mode():
        short = open_clip_backend.encode_text_prefix(tower, pooling, pooling.trim(tokens[:3]))
    assert pooling.trim(tokens[:3]).shape[1] < 77
    np.testing.assert_allclose(short.numpy(), full[:3].numpy(), atol=1e-5)


@pytest.mark.parametrize("text_cfg", [{"no_causal_mask": True}, {"embed_cls": True}, {"pool_type": "last"}])
def test_towers_that_see_the_padding_keep_the_full_context(text_cfg) -> None:
    assert eot_pooled_text_tower(tiny_custom_text_clip(**text_cfg)) is None
