"""The interface every embedding backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Vectors = NDArray[np.float32]


@dataclass(frozen=True)
class SpaceSpec:
    """What identifies an embedding space: vectors from different specs never meet."""

    backend: str
    model_name: str
    pretrained: str
    # sha256 of the checkpoint file: two files under one tag are two spaces.
    checkpoint_sha256: str
    dimension: int
    max_tokens: int
    metric: str = "cosine"
    normalized: bool = True


class Embedder(ABC):
    """A loaded model that maps images and texts into one space.

    Implementations return L2-normalised float32 rows, so cosine distance and
    inner product rank the same way.
    """

    spec: SpaceSpec

    @abstractmethod
    def embed_images(self, images: Sequence[Image.Image]) -> Vectors:
        """One row per image, in order; images are RGB."""

    @abstractmethod
    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        """One row per text, in order; texts must fit ``spec.max_tokens`` (chunk first)."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in the model's input, special tokens included."""


# Capabilities some backends add to Embedder, declared so callers check them by type
# (``isinstance(embedder, SparseTextEmbedder)``) rather than by probing attribute names.


@runtime_checkable
class SparseTextEmbedder(Protocol):
    """Also returns lexical (sparse) weights per text (BGE-M3): {token id: weight}."""

    @property
    def vocab_size(self) -> int: ...

    def embed_texts_with_sparse(self, texts: Sequence[str]) -> tuple[Vectors, list[dict[int, float]]]: ...


@runtime_checkable
class ComposedEmbedder(Protocol):
    """Reads a picture and words together into one vector (Visualized BGE)."""

    def embed_composed(self, images: Sequence[Image.Image], texts: Sequence[str]) -> Vectors: ...


def l2_normalize(rows: NDArray[np.floating]) -> Vectors:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    # An all-zero row stays zero instead of becoming NaN.
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)
