"""One loaded model per configuration per process, loaded lazily under a lock.

Web processes load a model on their first query, workers on their first batch;
``manage.py`` commands and migrations never touch weights.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

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


@dataclass(frozen=True)
class Backend:
    """One embedding backend: everything the rest of the code needs to know about it.

    The builders import their heavy dependencies (torch, FlagEmbedding) when called, so
    reading the table costs nothing.
    """

    name: str
    label: str
    # What its spaces hold: "image_text" (pictures and notes) or "text" (notes only).
    modality: str
    # The model a new space gets when none is named, from settings.
    default_model: Callable[[], str]
    # "local": weights in a folder under MODEL_DIR; otherwise the setting's open_clip tag.
    default_pretrained: Callable[[], str]
    # Ways of computing its vectors (the same space whichever is used).
    runtimes: tuple[str, ...]
    build: Callable[[ModelConfig], Embedder]
    # The weights file or folder, found without loading (health, download hints).
    weights: Callable[[ModelConfig], Path]


def _build_open_clip(config: ModelConfig) -> Embedder:
    from media_index.embedding.weights import local_open_clip_checkpoint, resolve_open_clip

    if config.runtime != "torch":
        # An ONNX export already in the cache: no torch in this process (web processes).
        from media_index.embedding.onnx_embedder import torch_free_embedder
        from media_index.embedding.weights import file_sha256

        checkpoint = local_open_clip_checkpoint(config.model_name, config.pretrained)
        if checkpoint is not None:
            embedder = torch_free_embedder(
                model_name=config.model_name, pretrained=config.pretrained,
                checkpoint_sha256=file_sha256(checkpoint), runtime=config.runtime,
            )
            if embedder is not None:
                return embedder
    from media_index.embedding.open_clip_backend import OpenClipEmbedder

    return OpenClipEmbedder(resolve_open_clip(config.model_name, config.pretrained), device=config.device,
                            runtime=config.runtime)  # fmt: skip


def _weights_open_clip(config: ModelConfig) -> Path:
    from media_index.embedding.weights import resolve_open_clip

    return Path(resolve_open_clip(config.model_name, config.pretrained).checkpoint)


def _build_bge_m3(config: ModelConfig) -> Embedder:
    from media_index.embedding.bge_m3_backend import BgeM3Embedder, resolve_bge_m3

    return BgeM3Embedder(resolve_bge_m3(config.model_name), device=config.device,
                         max_tokens=settings.TEXT_EMBEDDING_MAX_TOKENS)  # fmt: skip


def _weights_bge_m3(config: ModelConfig) -> Path:
    from media_index.embedding.bge_m3_backend import resolve_bge_m3

    return Path(resolve_bge_m3(config.model_name).folder)


def _build_visualized_bge(config: ModelConfig) -> Embedder:
    from media_index.embedding.visualized_bge_backend import VisualizedBgeEmbedder, resolve_visualized_bge

    return VisualizedBgeEmbedder(resolve_visualized_bge(config.model_name), device=config.device)


def _weights_visualized_bge(config: ModelConfig) -> Path:
    from media_index.embedding.visualized_bge_backend import resolve_visualized_bge

    return Path(resolve_visualized_bge(config.model_name).weights_file)


# The one table of backends: names appear nowhere else as a list.
BACKENDS: dict[str, Backend] = {
    backend.name: backend
    for backend in (
        Backend("open_clip", "open_clip (CLIP models, the demo model)", "image_text",
                lambda: settings.OPEN_CLIP_MODEL, lambda: settings.OPEN_CLIP_PRETRAINED,
                ("torch", "onnx", "onnx-int8"), _build_open_clip, _weights_open_clip),
        Backend("visualized_bge", "Visualized BGE (pictures and words read together)", "image_text",
                lambda: settings.VISUALIZED_BGE_MODEL, lambda: "local", ("torch",),
                _build_visualized_bge, _weights_visualized_bge),
        Backend("bge_m3", "BGE-M3 (notes only, dense and sparse)", "text",
                lambda: settings.TEXT_EMBEDDING_MODEL, lambda: "local", ("torch",), _build_bge_m3, _weights_bge_m3),
    )
}  # fmt: skip


def backend_for(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ModelUnavailable(f"Unknown embedding backend '{name}'. Known: {', '.join(BACKENDS)}.") from None


def config_for(backend: str, *, model_name: str | None = None, pretrained: str | None = None) -> ModelConfig:
    """A configuration for ``backend`` on this machine's device, with the backend's defaults
    for what is not given, and the configured runtime where the backend has it."""
    entry = backend_for(backend)
    runtime = settings.EMBEDDING_RUNTIME if settings.EMBEDDING_RUNTIME in entry.runtimes else "torch"
    # ONNX Runtime runs on the CPU here: asking torch about CUDA would import it for nothing.
    device = _device(settings.EMBEDDING_DEVICE) if runtime == "torch" else "cpu"
    return ModelConfig(backend=entry.name, model_name=model_name or entry.default_model(),
                       pretrained=pretrained or entry.default_pretrained(), device=device,
                       runtime=runtime)  # fmt: skip


class SpaceModel(Protocol):
    """What names a space's model (an ``EmbeddingSpace`` row); the registry needs no model import."""

    backend: str
    model_name: str
    pretrained: str


def config_for_space(space: SpaceModel) -> ModelConfig:
    """The model configuration that embeds into ``space`` (its items and its queries alike)."""
    return config_for(space.backend, model_name=space.model_name, pretrained=space.pretrained)


def configured_model() -> ModelConfig:
    """The model that settings name for new embedding spaces."""
    return config_for(settings.EMBEDDING_BACKEND)


def configured_text_model() -> ModelConfig | None:
    """The text-only model settings name (TEXT_EMBEDDING_BACKEND), or None."""
    if not settings.TEXT_EMBEDDING_BACKEND:
        return None
    return config_for(settings.TEXT_EMBEDDING_BACKEND)


def _device(requested: str) -> str:
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _build(config: ModelConfig) -> Embedder:
    return backend_for(config.backend).build(config)


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
    try:
        config = config or configured_model()
    except ModelUnavailable as exc:  # an unknown EMBEDDING_BACKEND
        return {"ok": False, "error": exc.message}
    status: dict[str, object] = {**asdict(config), "loaded_in_this_process": is_loaded(config)}
    try:
        checkpoint = backend_for(config.backend).weights(config)
    except ModelUnavailable as exc:
        return {**status, "ok": False, "error": exc.message}
    return {**status, "ok": True, "checkpoint": str(checkpoint)}
