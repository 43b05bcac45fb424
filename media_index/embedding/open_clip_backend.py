"""open_clip models (CLIP ViT family, the bundled demo model) as an :class:`Embedder`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from media_index.embedding.base import Embedder, SpaceSpec, Vectors, l2_normalize
from media_index.embedding.weights import OpenClipWeights

BACKEND = "open_clip"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class OpenClipEmbedder(Embedder):
    """Loads the checkpoint once; callers batch (see ``services.indexing``)."""

    def __init__(self, weights: OpenClipWeights, *, device: str = "cpu") -> None:
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

    def embed_images(self, images: Sequence[Image.Image]) -> Vectors:
        if not images:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        batch = self._torch.stack([self._preprocess(image.convert("RGB")) for image in images]).to(self._device)
        with self._torch.inference_mode():
            features = self._model.encode_image(batch)
        return l2_normalize(features.float().cpu().numpy())

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        tokens = self._tokenizer(list(texts)).to(self._device)
        with self._torch.inference_mode():
            features = self._model.encode_text(tokens)
        return l2_normalize(features.float().cpu().numpy())

    def count_tokens(self, text: str) -> int:
        inner = getattr(self._tokenizer, "tokenizer", None)  # HF tokenizers wrap the real one
        if inner is not None:
            return len(inner(text, add_special_tokens=True)["input_ids"])
        # CLIP's BPE: the text's tokens plus start- and end-of-text markers.
        return len(self._tokenizer.encode(text)) + 2
