"""BGE-M3 (FlagEmbedding's ``BGEM3FlagModel``) as a text-only space for notes.

One forward pass gives a dense vector (1,024-d for the released model) and learned
lexical weights (one weight per input token, the "sparse" output the BGE-M3 paper
combines with dense). Both are stored: dense in ``Vector.embedding``, the weights as a
pgvector ``sparsevec`` over the tokenizer's vocabulary in ``Vector.sparse``.

Weights are read from a local folder only (``resolve_bge_m3``); ``download_models
--bge-m3`` fetches the released ``BAAI/bge-m3`` where a network exists. FlagEmbedding
itself falls back to downloading when a path does not exist, so the folder is checked
here first, and so are the two head files (``colbert_linear.pt``, ``sparse_linear.pt``):
without them FlagEmbedding silently initialises random heads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from media_index.embedding.base import Embedder, SpaceSpec, Vectors, l2_normalize
from media_index.embedding.weights import existing_model_dir, local_model_dir
from media_index.errors import ModelUnavailable

BACKEND = "bge_m3"
# What a BGE-M3 folder must hold (the released repository has these and more).
REQUIRED_FILES = ("config.json", "colbert_linear.pt", "sparse_linear.pt")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "sentencepiece.bpe.model")

SparseWeights = dict[int, float]


@dataclass(frozen=True)
class BgeM3Weights:
    model_name: str
    folder: Path
    weights_file: Path


def bge_m3_dir(model_name: str) -> Path:
    return local_model_dir("bge_m3", model_name)


def resolve_bge_m3(model_name: str) -> BgeM3Weights:
    """The local BGE-M3 folder for ``model_name``, or exactly what is missing."""
    folder = existing_model_dir(bge_m3_dir(model_name), label="BGE-M3", download_flag="--bge-m3",
                                alternative="set TEXT_EMBEDDING_MODEL to a local folder")  # fmt: skip
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    weights = next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)
    if weights is None:
        missing.append(" or ".join(WEIGHT_FILES))
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        missing.append(" or ".join(TOKENIZER_FILES))
    if missing:
        raise ModelUnavailable(f"The BGE-M3 folder {folder} lacks {', '.join(missing)}.")
    assert weights is not None
    return BgeM3Weights(model_name=model_name, folder=folder, weights_file=weights)


def _folder_sha256(weights: BgeM3Weights) -> str:
    """A digest of the encoder and both heads: any changed file is a different space."""
    digest = hashlib.sha256()
    for path in (weights.weights_file, weights.folder / "colbert_linear.pt", weights.folder / "sparse_linear.pt"):
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class BgeM3Embedder(Embedder):
    """Dense vectors and learned lexical weights for texts; no pictures."""

    def __init__(self, weights: BgeM3Weights, *, device: str = "cpu", max_tokens: int = 512) -> None:
        from FlagEmbedding import BGEM3FlagModel

        self._model = BGEM3FlagModel(str(weights.folder), use_fp16=False, device=device)
        self._tokenizer = self._model.tokenizer
        model_limit = int(self._model.model.model.config.max_position_embeddings) - 2  # XLM-R reserves 2 positions
        self.max_tokens = min(max_tokens, model_limit)
        probe = self._model.encode(["probe"], return_dense=True)["dense_vecs"]
        self.spec = SpaceSpec(
            backend=BACKEND,
            model_name=weights.model_name,
            pretrained="local",
            checkpoint_sha256=_folder_sha256(weights),
            dimension=int(probe.shape[-1]),
            max_tokens=self.max_tokens,
        )

    def embed_images(self, images: Sequence[Image.Image]) -> Vectors:
        raise ModelUnavailable("BGE-M3 is a text model: pictures are embedded by the image-text space.")

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        return self.embed_texts_with_sparse(texts)[0]

    def embed_texts_with_sparse(self, texts: Sequence[str]) -> tuple[Vectors, list[SparseWeights]]:
        """Dense rows (L2-normalised) and, per text, {token id: weight} for the tokens it holds."""
        if not texts:
            return np.zeros((0, self.spec.dimension), dtype=np.float32), []
        output = self._model.encode(list(texts), batch_size=16, max_length=self.max_tokens,
                                    return_dense=True, return_sparse=True)  # fmt: skip
        dense = l2_normalize(np.asarray(output["dense_vecs"], dtype=np.float32).reshape(len(texts), -1))
        sparse = [{int(token): float(weight) for token, weight in weights.items() if weight > 0}
                  for weights in output["lexical_weights"]]  # fmt: skip
        return dense, sparse

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    @property
    def vocab_size(self) -> int:
        return int(self._model.model.vocab_size)
