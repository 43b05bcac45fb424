"""Where a configured model's weights live on disk, and how they get there.

Nothing here downloads at run time: loading reads only local files, and
``manage.py download_models`` (the one place that touches the network) puts
them where :func:`resolve_open_clip` looks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from media_index.errors import ModelUnavailable

# The checkpoint the project trains and commits (see models/demo-clip/README.md).
DEMO_PRETRAINED = "demo"
DEMO_MODEL_DIR = Path(settings.BASE_DIR) / "models" / "demo-clip"
DEMO_CHECKPOINT = DEMO_MODEL_DIR / "demo-clip.safetensors"
# File names open_clip's hub repositories use, best first.
HUB_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


@dataclass(frozen=True)
class OpenClipWeights:
    """A resolved open_clip checkpoint plus the preprocessing its tag prescribes."""

    model_name: str
    pretrained: str
    checkpoint: Path
    image_mean: tuple[float, ...] | None = None
    image_std: tuple[float, ...] | None = None
    image_interpolation: str | None = None
    image_resize_mode: str | None = None
    quick_gelu: bool = False


def local_model_dir(family: str, model_name: str) -> Path:
    """``model_name`` as a folder: an absolute path as given, else MODEL_DIR/<family>/<model_name>."""
    path = Path(model_name)
    return path if path.is_absolute() else Path(settings.MODEL_DIR) / family / model_name


def existing_model_dir(folder: Path, *, label: str, download_flag: str, alternative: str) -> Path:
    """``folder`` if it exists; else ModelUnavailable naming the download command for it."""
    if not folder.is_dir():
        raise ModelUnavailable(
            f"No {label} model at {folder}. Fetch it where a network exists with "
            f"'python manage.py download_models {download_flag}', or {alternative}."
        )
    return folder


def open_clip_dir(model_name: str, pretrained: str) -> Path:
    """The folder under MODEL_DIR that holds one (architecture, tag) pair."""
    return Path(settings.MODEL_DIR) / "open_clip" / f"{model_name}__{pretrained}"


def _looks_like_path(pretrained: str) -> bool:
    return "/" in pretrained or pretrained.endswith((".pt", ".pth", ".bin", ".safetensors"))


def file_sha256(path: Path) -> str:
    """A checkpoint's identity (part of its space's): the sha256 of the file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_open_clip_checkpoint(model_name: str, pretrained: str) -> Path | None:
    """The checkpoint file of ``model_name``/``pretrained`` found without importing open_clip
    (whose package imports torch): the demo model, a path, or a downloaded tag's hub file.
    None when only open_clip's pretrained table could say (``resolve_open_clip`` does)."""
    if pretrained == DEMO_PRETRAINED:
        return DEMO_CHECKPOINT if DEMO_CHECKPOINT.is_file() else None
    if _looks_like_path(pretrained):
        path = Path(pretrained)
        path = path if path.is_absolute() else Path(settings.MODEL_DIR) / path
        return path if path.is_file() else None
    folder = open_clip_dir(model_name, pretrained)
    return next((folder / name for name in HUB_WEIGHT_FILES if (folder / name).is_file()), None)


def resolve_open_clip(model_name: str, pretrained: str) -> OpenClipWeights:
    """Find the local checkpoint for ``model_name``/``pretrained`` or say exactly what is missing.

    ``pretrained`` is ``"demo"`` (the shipped demo model), a checkpoint path
    (absolute, or relative to MODEL_DIR), or an open_clip pretrained tag such as
    ``laion2b_s34b_b79k`` whose files ``download_models`` fetched.
    """
    if pretrained == DEMO_PRETRAINED:
        if not DEMO_CHECKPOINT.exists():
            raise ModelUnavailable(
                f"The demo model checkpoint {DEMO_CHECKPOINT} is missing. It is part of the "
                "repository; restore it with 'git checkout -- models/' or retrain it with "
                "'python manage.py train_demo_model'."
            )
        return OpenClipWeights(model_name, pretrained, DEMO_CHECKPOINT)
    if _looks_like_path(pretrained):
        path = Path(pretrained)
        path = path if path.is_absolute() else Path(settings.MODEL_DIR) / path
        if not path.is_file():
            raise ModelUnavailable(f"Checkpoint file {path} (OPEN_CLIP_PRETRAINED) does not exist.")
        return OpenClipWeights(model_name, pretrained, path)

    import open_clip  # only a pretrained tag needs open_clip's table (and so torch)

    cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
    if not cfg:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(model_name)) or "none"
        raise ModelUnavailable(
            f"open_clip has no pretrained tag '{pretrained}' for model '{model_name}'. Known tags: {known}."
        )
    folder = open_clip_dir(model_name, pretrained)
    candidates = [folder / name for name in HUB_WEIGHT_FILES]
    if cfg.get("url"):
        candidates.append(folder / Path(cfg["url"]).name)
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        raise ModelUnavailable(
            f"Weights for {model_name}/{pretrained} are not in {folder} (looked for "
            f"{', '.join(p.name for p in candidates)}). Run 'python manage.py download_models' "
            "on a machine with network access (then copy MODEL_DIR here if needed), or set "
            "OPEN_CLIP_PRETRAINED=demo to use the bundled demo model."
        )
    return OpenClipWeights(
        model_name,
        pretrained,
        found,
        image_mean=tuple(cfg["mean"]) if cfg.get("mean") else None,
        image_std=tuple(cfg["std"]) if cfg.get("std") else None,
        image_interpolation=cfg.get("interpolation"),
        image_resize_mode=cfg.get("resize_mode"),
        quick_gelu=bool(cfg.get("quick_gelu", False)),
    )


def installed_models() -> list[tuple[str, str, str]]:
    """(backend, model name, pretrained) of every model whose weights are on this machine:
    the shipped demo model and what ``download_models`` put under MODEL_DIR. What the
    admin's re-index form offers."""
    found = [("open_clip", "demo-clip", DEMO_PRETRAINED)] if DEMO_CHECKPOINT.is_file() else []
    root = Path(settings.MODEL_DIR)
    for folder in sorted((root / "open_clip").glob("*__*")) if (root / "open_clip").is_dir() else []:
        if folder.is_dir() and any(folder.iterdir()):
            architecture, _, tag = folder.name.partition("__")
            found.append(("open_clip", architecture, tag))
    for family in ("visualized_bge", "bge_m3"):
        for folder in sorted((root / family).iterdir()) if (root / family).is_dir() else []:
            if folder.is_dir() and any(folder.iterdir()):
                found.append((family, folder.name, "local"))
    return found
