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
    # torch, onnx or onnx-int8 (open_clip only): how vectors are computed, not which space.
    runtime: str = "torch"


def configured_model() -> ModelConfig:
    """The model that settings name for new embedding spaces."""
    if settings.EMBEDDING_BACKEND == "visualized_bge":
        return ModelConfig("visualized_bge", settings.VISUALIZED_BGE_MODEL, "local", _device(settings.EMBEDDING_DEVICE))
    return ModelConfig(
        backend=settings.EMBEDDING_BACKEND,
        model_name=settings.OPEN_CLIP_MODEL,
        pretrained=settings.OPEN_CLIP_PRETRAINED,
        device=_device(settings.EMBEDDING_DEVICE),
        runtime=settings.EMBEDDING_RUNTIME,
    )


def configured_text_model() -> ModelConfig | None:
    """The text-only model settings name (TEXT_EMBEDDING_BACKEND), or None."""
    if not settings.TEXT_EMBEDDING_BACKEND:
        return None
    return ModelConfig(
        backend=settings.TEXT_EMBEDDING_BACKEND,
        model_name=settings.TEXT_EMBEDDING_MODEL,
        pretrained="local",
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

        return OpenClipEmbedder(resolve_open_clip(config.model_name, config.pretrained), device=config.device,
                                runtime=config.runtime)  # fmt: skip
    if config.backend == "bge_m3":
        from media_index.embedding.bge_m3_backend import BgeM3Embedder, resolve_bge_m3

        return BgeM3Embedder(resolve_bge_m3(config.model_name), device=config.device,
                             max_tokens=settings.TEXT_EMBEDDING_MAX_TOKENS)  # fmt: skip
    if config.backend == "visualized_bge":
        from media_index.embedding.visualized_bge_backend import VisualizedBgeEmbedder, resolve_visualized_bge

        return VisualizedBgeEmbedder(resolve_visualized_bge(config.model_name), device=config.device)
    raise ModelUnavailable(f"Unknown embedding backend '{config.backend}'. Known: open_clip, bge_m3, visualized_bge.")


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
    from media_index.embedding.bge_m3_backend import resolve_bge_m3
    from media_index.embedding.weights import resolve_open_clip

    try:
        if config.backend == "open_clip":
            checkpoint = resolve_open_clip(config.model_name, config.pretrained).checkpoint
        elif config.backend == "bge_m3":
            checkpoint = resolve_bge_m3(config.model_name).folder
        elif config.backend == "visualized_bge":
            from media_index.embedding.visualized_bge_backend import resolve_visualized_bge

            checkpoint = resolve_visualized_bge(config.model_name).weights_file
        else:
            return {**status, "ok": False, "error": f"Unknown embedding backend '{config.backend}'."}
    except ModelUnavailable as exc:
        return {**status, "ok": False, "error": exc.message}
    return {**status, "ok": True, "checkpoint": str(checkpoint)}
