"""Embedding spaces: the record of which model made which vectors, and their HNSW indexes."""

from __future__ import annotations

import logging

from django.db import IntegrityError, connection, transaction

from media_index.embedding.base import SpaceSpec
from media_index.embedding.registry import ModelConfig, configured_model
from media_index.models import EmbeddingSpace

logger = logging.getLogger(__name__)

# pgvector's defaults (m=16, ef_construction=64) reach recall@10 of about 0.96-0.99
# at ef_search 40-100 in published runs; bench/ measures it on our data.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


def space_get_or_create(*, spec: SpaceSpec, modality: str = EmbeddingSpace.Modality.IMAGE_TEXT) -> EmbeddingSpace:
    """The space for ``spec``, created with its HNSW index the first time it is seen."""
    identity = {
        "backend": spec.backend,
        "model_name": spec.model_name,
        "pretrained": spec.pretrained,
        "checkpoint_sha256": spec.checkpoint_sha256,
    }
    space = EmbeddingSpace.objects.filter(**identity).first()
    if space is None:
        try:
            with transaction.atomic():
                space = EmbeddingSpace.objects.create(
                    **identity,
                    dimension=spec.dimension,
                    max_tokens=spec.max_tokens,
                    metric=spec.metric,
                    normalized=spec.normalized,
                    modality=modality,
                )
        except IntegrityError:  # another worker created it first
            space = EmbeddingSpace.objects.get(**identity)
    space_index_ensure(space=space)
    return space


def space_index_ensure(*, space: EmbeddingSpace) -> None:
    """Create the space's partial HNSW index if it does not exist yet.

    The index is on ``embedding::halfvec(dim)``: half the size of a float32
    index, so more of it stays in memory, while the table keeps full-precision
    vectors for exact re-ranking. Searches must use exactly this expression.
    """
    dim = int(space.dimension)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {space.index_name} ON media_index_vector "
            f"USING hnsw ((embedding::halfvec({dim})) halfvec_cosine_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
            f"WHERE space_id = {int(space.pk)}"
        )


def space_activate(*, space: EmbeddingSpace) -> EmbeddingSpace:
    """Make ``space`` the one searched by default for its modality, atomically."""
    with transaction.atomic():
        EmbeddingSpace.objects.filter(is_active=True, modality=space.modality).exclude(pk=space.pk).update(
            is_active=False
        )
        EmbeddingSpace.objects.filter(pk=space.pk).update(is_active=True)
    space.refresh_from_db()
    return space


def space_config(space: EmbeddingSpace) -> ModelConfig:
    """The model configuration that embeds into ``space`` (queries included)."""
    return ModelConfig(
        backend=space.backend,
        model_name=space.model_name,
        pretrained=space.pretrained,
        device=configured_model().device,
    )


def space_ensure_active(*, spec: SpaceSpec, modality: str = EmbeddingSpace.Modality.IMAGE_TEXT) -> EmbeddingSpace:
    """The active space of ``modality``; on a fresh install, the configured model's space becomes active."""
    active = EmbeddingSpace.objects.filter(is_active=True, modality=modality).first()
    if active is not None:
        return active
    space = space_get_or_create(spec=spec, modality=modality)
    try:
        return space_activate(space=space)
    except IntegrityError:  # a concurrent worker activated one first
        return EmbeddingSpace.objects.get(is_active=True, modality=modality)
