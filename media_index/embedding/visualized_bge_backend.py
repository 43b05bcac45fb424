"""Visualized BGE (FlagEmbedding 1.2.11 ``Visualized_BGE``): pictures in the BGE text space.

An EVA-CLIP vision tower turns a picture into tokens that the BGE text encoder reads,
so pictures, texts and picture+text compositions ("this dress, but in red") share BGE's
space. Two released variants exist: ``Visualized_base_en_v1.5.pth`` on bge-base-en-v1.5
(768-d, English) and ``Visualized_m3.pth`` on bge-m3 (1,024-d, multilingual).

Local files only. A model folder (``MODEL_DIR/visualized_bge/<name>/`` or an absolute
path) holds the BGE model's config and tokenizer files (from ``BAAI/bge-base-en-v1.5`` or
``BAAI/bge-m3``) and the one ``Visualized_*.pth`` weight file; ``download_models
--visualized-bge`` fills it where a network exists. The package's two gaps are handled by
``media_index.embedding.eva_clip_setup`` (run at install).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from media_index.embedding.base import Embedder, SpaceSpec, Vectors, l2_normalize
from media_index.embedding.eva_clip_setup import CONFIGS_DIR, eva_clip_bpe_path
from media_index.embedding.weights import existing_model_dir, local_model_dir
from media_index.errors import ModelUnavailable

BACKEND = "visualized_bge"
# Visualized_BGE picks its vision tower from the BGE model's name; hidden size tells them apart.
BGE_NAME_BY_HIDDEN = {768: "BAAI/bge-base-en-v1.5", 1024: "BAAI/bge-m3"}


@dataclass(frozen=True)
class VisualizedBgeWeights:
    model_name: str
    folder: Path
    weights_file: Path
    bge_name: str


def visualized_bge_dir(model_name: str) -> Path:
    return local_model_dir("visualized_bge", model_name)


def resolve_visualized_bge(model_name: str) -> VisualizedBgeWeights:
    """The local Visualized BGE folder for ``model_name``, or exactly what is missing."""
    folder = existing_model_dir(visualized_bge_dir(model_name), label="Visualized BGE",
                                download_flag="--visualized-bge", alternative="name a local folder")  # fmt: skip
    weights = sorted(folder.glob("Visualized_*.pth"))
    if len(weights) != 1:
        raise ModelUnavailable(f"{folder} must hold exactly one Visualized_*.pth weight file, not {len(weights)}.")
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelUnavailable(f"{folder} lacks the BGE model's config.json (and tokenizer files).")
    hidden = json.loads(config_path.read_text()).get("hidden_size")
    if hidden not in BGE_NAME_BY_HIDDEN:
        raise ModelUnavailable(f"{config_path}: hidden size {hidden} is neither bge-base-en-v1.5 (768) nor bge-m3 (1024).")
    return VisualizedBgeWeights(model_name, folder, weights[0], BGE_NAME_BY_HIDDEN[hidden])


def _prepare_eva_clip() -> None:
    bpe = eva_clip_bpe_path()
    if bpe is None or not bpe.exists():
        raise ModelUnavailable(
            "FlagEmbedding's Visualized BGE is missing its BPE vocabulary file; run "
            "'python -m media_index.embedding.eva_clip_setup' (make install does)."
        )
    from FlagEmbedding.visual.eva_clip import add_model_config, list_models

    if "EVA02-CLIP-B-16" not in list_models() or "EVA02-CLIP-L-14" not in list_models():
        add_model_config(CONFIGS_DIR)


class VisualizedBgeEmbedder(Embedder):
    """Pictures, texts and picture+text queries in one BGE space."""

    def __init__(self, weights: VisualizedBgeWeights, *, device: str = "cpu") -> None:
        import torch

        from media_index.embedding.weights import file_sha256

        _prepare_eva_clip()
        from FlagEmbedding.visual.modeling import Visualized_BGE

        class _VisualizedBge(Visualized_BGE):
            # FlagEmbedding builds the attention mask in fp16 (it was written for GPUs);
            # PyTorch's attention on a CPU in fp32 refuses a half-precision mask, so the
            # mask is made in the model's own dtype.
            def get_extended_attention_mask(self, attention_mask, input_shape, device=None, dtype=None):  # noqa: ANN001, ANN202
                own = next(self.parameters()).dtype
                return super().get_extended_attention_mask(attention_mask, input_shape, device, dtype=own)

        self._torch = torch
        self._model = _VisualizedBge(model_name_bge=weights.bge_name, model_weight=str(weights.weights_file),
                                     from_pretrained=str(weights.folder))  # fmt: skip
        self._model.to(device).eval()
        self._model.device = torch.device(device)
        self._device = device
        self._tokenizer = self._model.tokenizer
        limit = int(self._model.bge_embeddings.position_embeddings.num_embeddings)
        # XLM-R (bge-m3) reserves two position slots; BERT does not.
        self.max_tokens = min(512, limit - 2 if weights.bge_name.endswith("m3") else limit)
        self.spec = SpaceSpec(
            backend=BACKEND,
            model_name=weights.model_name,
            pretrained=weights.weights_file.name,
            checkpoint_sha256=file_sha256(weights.weights_file),
            dimension=int(self._model.hidden_dim),
            max_tokens=self.max_tokens,
        )

    def _tokens(self, texts: Sequence[str]):  # noqa: ANN202 - a BatchEncoding on the device
        return self._tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True,
                               max_length=self.max_tokens).to(self._device)  # fmt: skip

    def _pixels(self, images: Sequence[Image.Image]):  # noqa: ANN202 - a tensor on the device
        return self._torch.stack([self._model.preprocess_val(image.convert("RGB")) for image in images]).to(
            self._device
        )

    def embed_images(self, images: Sequence[Image.Image]) -> Vectors:
        if not images:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        with self._torch.no_grad():
            return l2_normalize(self._model.encode_image(self._pixels(images)).float().cpu().numpy())

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        with self._torch.no_grad():
            return l2_normalize(self._model.encode_text(self._tokens(texts)).float().cpu().numpy())

    def embed_composed(self, images: Sequence[Image.Image], texts: Sequence[str]) -> Vectors:
        """One vector per (picture, words) pair: the picture's tokens and the words read together."""
        with self._torch.no_grad():
            features = self._model.encode_mm(self._pixels(images), self._tokens(texts))
        return l2_normalize(features.float().cpu().numpy())

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])
