"""open_clip models (CLIP ViT family, the bundled demo model) as an :class:`Embedder`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from media_index.embedding.base import Embedder, SpaceSpec, Vectors, l2_normalize
from media_index.embedding.weights import OpenClipWeights

if TYPE_CHECKING:
    import torch

BACKEND = "open_clip"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class EotPooling:
    """Where a causal text tower reads each row's vector: at its end-of-text token (EOT).

    Cutting the token matrix after the batch's last pooled column is exact, not an
    approximation: the causal mask lets position i attend only to positions <= i, so no
    column after a row's EOT reaches that row's vector. open_clip pads every text to 77
    tokens; a 3-word query needs 5 of them.
    """

    pool_type: str  # "argmax": the EOT id is the row's largest; "eos": the first ``eos_id``
    eos_id: int | None

    def trim(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.pool_type == "argmax":
            pooled = tokens.argmax(dim=-1)
        else:
            pooled = (tokens == self.eos_id).int().argmax(dim=-1)
        return tokens[:, : int(pooled.max()) + 1]


def eot_pooled_text_tower(model: Any) -> tuple[Any, EotPooling] | None:
    """``model``'s text tower and its pooling when trimming padding leaves every vector
    unchanged: a causal mask and EOT pooling, as in CLIP. None (keep the full context) for
    bidirectional or pad-masked towers, CoCa's CLS token, 'first'/'last' pooling and
    Hugging Face text towers."""
    import open_clip
    from open_clip.transformer import TextTransformer

    if isinstance(model, open_clip.CLIP):
        tower, pooling = model, EotPooling(model.text_pool_type, model.text_eos_id)
    elif isinstance(text := getattr(model, "text", None), TextTransformer) and text.cls_emb is None:
        tower, pooling = text, EotPooling(text.pool_type, text.eos_id)
    else:
        return None
    # No causal mask (SigLIP-style towers, and their optional pad mask): every token sees the padding.
    if tower.attn_mask is None or pooling.pool_type not in ("argmax", "eos"):
        return None
    return tower, pooling


def encode_text_prefix(tower: Any, pooling: EotPooling, tokens: torch.Tensor) -> torch.Tensor:
    """The text features of ``tower`` (see :func:`eot_pooled_text_tower`) for a token matrix
    shorter than its context length. open_clip 3.3 cannot run one: ``CLIP.encode_text`` adds
    all 77 positional embeddings and both it and ``TextTransformer`` pass the 77x77 causal
    mask; otherwise these are the same operations, and the tests compare the vectors."""
    import torch
    from open_clip.transformer import text_global_pool

    length = tokens.shape[1]
    cast_dtype = tower.transformer.get_cast_dtype()
    x = tower.token_embedding(tokens).to(cast_dtype) + tower.positional_embedding[:length].to(cast_dtype)
    x = tower.ln_final(tower.transformer(x, attn_mask=tower.attn_mask[:length, :length]))
    x = text_global_pool(x, tokens, pooling.pool_type, eos_token_id=pooling.eos_id)
    projection = tower.text_projection
    if projection is None:
        return x
    return projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection


class OpenClipEmbedder(Embedder):
    """Loads the checkpoint once; callers batch (see ``services.indexing``).

    ``trim_padding`` (on unless a benchmark turns it off) cuts each batch's tokens after its
    longest text when the text tower allows it exactly (see :class:`EotPooling`)."""

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
