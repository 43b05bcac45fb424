"""One loaded model per configuration per process, loaded lazily under a lock.

Web processes load a model on their first query, workers on their first batch;
``manage.py`` commands and migrations never touch weights.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

from django.conf import settings

from media_index.embedding.base import Embedder
from media_index.errors import ModelUnavailable

_lock = threading.Lock()
_cache: dict[ModelConfig, Embedder] = {}


@dataclass(frozen=True)
class ModelConfig:
    """The settings that pick a model; the cache key."""

    backend: str
    model_name: str
    pretrained: str
    device: str


def configured_model() -> ModelConfig:
    """The model that settings name for new embedding spaces."""
    return ModelConfig(
        backend=settings.EMBEDDING_BACKEND,
        model_name=settings.OPEN_CLIP_MODEL,
        pretrained=settings.OPEN_CLIP_PRETRAINED,
        device=_device(settings.EMBEDDING_DEVICE),
    )


def _device(requested: str) -> str:
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _build(config: ModelConfig) -> Embedder:
    if config.backend == "open_clip":
        from media_index.embedding.open_clip_backend import OpenClipEmbedder
        from media_index.embedding.weights import resolve_open_clip

        return OpenClipEmbedder(resolve_open_clip(config.model_name, config.pretrained), device=config.device)
    raise ModelUnavailable(f"Unknown embedding backend '{config.backend}' (EMBEDDING_BACKEND). Known: open_clip.")


def get_embedder(config: ModelConfig | None = None) -> Embedder:
    """The cached model for ``config`` (default: the configured one), loading it on first use."""
    config = config or configured_model()
    embedder = _cache.get(config)
    if embedder is not None:
        return embedder
    with _lock:
        if config not in _cache:
            _cache[config] = _build(config)
        return _cache[config]


def is_loaded(config: ModelConfig) -> bool:
    return config in _cache


def model_status(config: ModelConfig | None = None) -> dict[str, object]:
    """Whether the model's weights are available here, without loading it."""
    config = config or configured_model()
    status: dict[str, object] = {**asdict(config), "loaded_in_this_process": is_loaded(config)}
    if config.backend != "open_clip":
        return {**status, "ok": False, "error": f"Unknown embedding backend '{config.backend}'."}
    from media_index.embedding.weights import resolve_open_clip

    try:
        weights = resolve_open_clip(config.model_name, config.pretrained)
    except ModelUnavailable as exc:
        return {**status, "ok": False, "error": exc.message}
    return {**status, "ok": True, "checkpoint": str(weights.checkpoint)}
