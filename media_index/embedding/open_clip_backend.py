"""open_clip models (CLIP ViT family, the bundled demo model) as an :class:`Embedder`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from PIL import Image

from media_index.embedding.base import Embedder, SpaceSpec, Vectors, l2_normalize
from media_index.embedding.text_prefix import encode_text_prefix, eot_pooled_text_tower
from media_index.embedding.weights import OpenClipWeights, file_sha256

BACKEND = "open_clip"


class OpenClipEmbedder(Embedder):
    """Loads the checkpoint once; callers batch (see ``services.indexing``).

    ``trim_padding`` (on unless a benchmark turns it off) cuts each batch's tokens after its
    longest text when the text tower allows it exactly (see :class:`~media_index.embedding.text_prefix.EotPooling`)."""

    def __init__(self, weights: OpenClipWeights, *, device: str = "cpu", runtime: str = "torch") -> None:
        import open_clip
        import torch

        from media_index.embedding.model_configs import register_model_configs

        register_model_configs()
        self._torch = torch
        self._device = device
        model, _, preprocess = open_clip.create_model_and_transforms(
            weights.model_name,
            pretrained=str(weights.checkpoint),
            device=device,
            force_quick_gelu=weights.quick_gelu,
            image_mean=weights.image_mean,
            image_std=weights.image_std,
            image_interpolation=weights.image_interpolation,
            image_resize_mode=weights.image_resize_mode,
        )
        model.eval()
        self._model = model
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(weights.model_name)
        with torch.inference_mode():
            probe = model.encode_text(self._tokenizer(["probe"]).to(device))
        self.spec = SpaceSpec(
            backend=BACKEND,
            model_name=weights.model_name,
            pretrained=weights.pretrained,
            checkpoint_sha256=file_sha256(weights.checkpoint),
            dimension=int(probe.shape[-1]),
            max_tokens=int(self._tokenizer.context_length),
        )
        self.runtime = runtime
        self.trim_padding = True
        causal = eot_pooled_text_tower(model)
        self._text_tower, self._pooling = causal or (None, None)
        self._onnx = None
        if runtime != "torch":
            from media_index.embedding.onnx_runtime import load_onnx_encoders

            size = model.visual.image_size
            encode_text = None if causal is None else partial(encode_text_prefix, *causal)
            self._onnx = load_onnx_encoders(model, self._tokenizer, int(size[0] if isinstance(size, tuple) else size),
                                            weights.model_name, self.spec.checkpoint_sha256, runtime,
                                            encode_text=encode_text)  # fmt: skip
            _write_onnx_meta(model, self._tokenizer, self.spec, causal[1] if causal else None)
            # ONNX Runtime computes every vector from here on: free the PyTorch weights.
            self._model = self._text_tower = None

    def embed_images(self, images: Sequence[Image.Image]) -> Vectors:
        if not images:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        batch = self._torch.stack([self._preprocess(image.convert("RGB")) for image in images])
        if self._onnx is not None:
            return l2_normalize(self._onnx.encode_image(batch.numpy()))
        with self._torch.inference_mode():
            features = self._model.encode_image(batch.to(self._device))
        return l2_normalize(features.float().cpu().numpy())

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        tokens = self._tokenizer(list(texts))
        if self.trim_padding and self._pooling is not None:
            tokens = self._pooling.trim(tokens)
        if self._onnx is not None:
            return l2_normalize(self._onnx.encode_text(tokens.numpy()))
        with self._torch.inference_mode():
            if self._text_tower is not None:
                features = encode_text_prefix(self._text_tower, self._pooling, tokens.to(self._device))
            else:
                features = self._model.encode_text(tokens.to(self._device))
        return l2_normalize(features.float().cpu().numpy())

    def count_tokens(self, text: str) -> int:
        inner = getattr(self._tokenizer, "tokenizer", None)  # HF tokenizers wrap the real one
        if inner is not None:
            return len(inner(text, add_special_tokens=True)["input_ids"])
        # CLIP's BPE: the text's tokens plus start- and end-of-text markers.
        return len(self._tokenizer.encode(text)) + 2


def _write_onnx_meta(model: Any, tokenizer: Any, spec: SpaceSpec, pooling: Any) -> None:
    """What a process without torch needs to use the export (``onnx_embedder``); shared
    with other hosts through the media storage when that is an object store."""
    import open_clip

    from media_index.embedding.onnx_embedder import OnnxMeta, share_export, write_meta
    from media_index.embedding.onnx_runtime import onnx_dir

    cfg = model.visual.preprocess_cfg
    size = cfg["size"][0] if isinstance(cfg["size"], (tuple, list)) else cfg["size"]
    plain_bpe = type(tokenizer) is open_clip.SimpleTokenizer and getattr(tokenizer, "reduction_fn", None) is None
    clean = getattr(getattr(tokenizer, "clean_fn", None), "__name__", "")
    folder = onnx_dir(spec.model_name, spec.checkpoint_sha256)
    write_meta(folder, OnnxMeta(
        backend=spec.backend, model_name=spec.model_name, pretrained=spec.pretrained,
        checkpoint_sha256=spec.checkpoint_sha256, dimension=spec.dimension, context_length=spec.max_tokens,
        image_size=int(size), mean=tuple(cfg["mean"]), std=tuple(cfg["std"]), interpolation=cfg["interpolation"],
        resize_mode=cfg["resize_mode"], pool_type=pooling.pool_type if pooling else None,
        eos_id=pooling.eos_id if pooling else None,
        tokenizer="clip-bpe" if plain_bpe and clean == "_clean_lower" else type(tokenizer).__name__,
    ))  # fmt: skip
    share_export(folder)  # other hosts (web processes) fetch it instead of exporting
