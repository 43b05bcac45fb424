"""A query's vector in the searched space: words, a picture, or both.

A query is always embedded by the model of the space it searches (``config_for_space``), so
vectors of two spaces are never compared.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from PIL import Image

from media_index.embedding.base import ComposedEmbedder, Vectors
from media_index.embedding.registry import ModelConfig, config_for_space, get_embedder
from media_index.errors import InvalidInput
from media_index.models import EmbeddingSpace
from media_index.services.images import decode_query_image

QUERY_MAX_CHARS = 1000
QUERY_CACHE_SIZE = 1024


def normalize_words(text: str) -> str:
    """The query's words, whitespace collapsed; refused when too long."""
    words = " ".join(text.split())
    if len(words) > QUERY_MAX_CHARS:
        raise InvalidInput(f"The query is {len(words)} characters long; the limit is {QUERY_MAX_CHARS}.")
    return words


@functools.lru_cache(maxsize=QUERY_CACHE_SIZE)
def _cached_text_vector(config: ModelConfig, text: str) -> Vectors:
    vector = get_embedder(config).embed_texts([text])[0]
    vector.setflags(write=False)  # shared between callers through the cache
    return vector


def embed_text_query(*, space: EmbeddingSpace, text: str) -> Vectors:
    """The query's vector in ``space``; repeated queries come from a per-process cache."""
    text = normalize_words(text)
    if not text:
        raise InvalidInput("Type something to search for, or use a picture.")
    embedder = get_embedder(config_for_space(space))
    # A query longer than the model's limit would be cut by its tokenizer; say so instead.
    if embedder.count_tokens(text) > space.max_tokens:
        raise InvalidInput(f"The query is too long for this model ({space.max_tokens} tokens at most).")
    return _cached_text_vector(config_for_space(space), text)


def embed_image_query(*, space: EmbeddingSpace, data: bytes) -> Vectors:
    return embed_decoded_query_image(space=space, image=decode_query_image(data))


def embed_decoded_query_image(*, space: EmbeddingSpace, image: Image.Image) -> Vectors:
    """A query picture already decoded (under ``decode_query_image``'s limits)."""
    return get_embedder(config_for_space(space)).embed_images([image])[0]


def combine_queries(vectors: Sequence[Vectors]) -> Vectors:
    """A picture and words together: the normalised mean of their vectors."""
    mean = np.mean(np.stack(vectors), axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def query_vector(*, space: EmbeddingSpace, words: str, image: bytes | None) -> Vectors:
    """The query in ``space``: words, a picture, or both. A model that reads a picture and
    words together (Visualized BGE) composes them itself; otherwise the two vectors are
    averaged (normalised mean)."""
    if image is not None and words:
        embedder = get_embedder(config_for_space(space))
        if isinstance(embedder, ComposedEmbedder):
            embed_text_query(space=space, text=words)  # the same checks on the words (length, tokens)
            return embedder.embed_composed([decode_query_image(image)], [words])[0]
    vectors = []
    if image is not None:
        vectors.append(embed_image_query(space=space, data=image))
    if words or image is None:
        vectors.append(embed_text_query(space=space, text=words))
    return vectors[0] if len(vectors) == 1 else combine_queries(vectors)
