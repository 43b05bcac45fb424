"""An open_clip space's encoders run by ONNX Runtime in a process that never imports torch.

With ``EMBEDDING_RUNTIME=onnx`` or ``onnx-int8`` the first process to load the model (a
worker, or ``manage.py export_onnx``) exports the two encoders with PyTorch and writes,
next to them, ``meta.json``: what the rest of the pipeline needs to know without the
model: the space's identity (dimension, context length), the image preprocessing and the
text pooling. A web process that finds these files embeds queries here: tokenising with
``clip_tokenizer`` and preprocessing with Pillow and NumPy, which is what keeps its memory
at a few hundred MiB instead of PyTorch's gigabyte (``bench memory``). Where they are
missing, or the model needs something this module does not implement (a Hugging Face
tokeniser, another resize mode), ``torch_free_embedder`` answers None and the registry
loads the PyTorch path, which exports them.

Several hosts: with media in an object store (``MEDIA_STORAGE=s3``) the exporting process
also copies the export there (``share_export``, under ``model-exports/``), and a web host
whose own ``MODEL_DIR`` lacks it fetches it from there (``fetch_shared_export``) instead of
loading PyTorch to export it again.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from media_index.embedding.base import Embedder, SpaceSpec, Vectors, l2_normalize
from media_index.embedding.clip_tokenizer import ClipTokenizer
from media_index.embedding.onnx_runtime import IMAGE_FILE, TEXT_FILE, OnnxEncoders, int8_name, onnx_dir

logger = logging.getLogger(__name__)

META_FILE = "meta.json"
SHARED_PREFIX = "model-exports"
RESIZE_MODES = ("shortest", "squash")
# Pillow's filters under the names open_clip's preprocessing configuration uses.
INTERPOLATIONS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
                  "nearest": Image.Resampling.NEAREST}  # fmt: skip


@dataclass(frozen=True)
class OnnxMeta:
    """What ``meta.json`` holds (written by the PyTorch path after an export)."""

    backend: str
    model_name: str
    pretrained: str
    checkpoint_sha256: str
    dimension: int
    context_length: int
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str
    resize_mode: str
    # "argmax" / "eos" when padding after the end-of-text token may be cut (a causal CLIP
    # text tower, see text_prefix.EotPooling); None: always the full context.
    pool_type: str | None
    eos_id: int | None
    # "clip-bpe" (open_clip's SimpleTokenizer, lower-casing) or what this module cannot run.
    tokenizer: str

    def supported(self) -> bool:
        return (self.tokenizer == "clip-bpe" and self.resize_mode in RESIZE_MODES
                and self.interpolation in INTERPOLATIONS)  # fmt: skip


def write_meta(folder: Path, meta: OnnxMeta) -> None:
    """Write ``meta.json`` atomically (a web process may be looking for it)."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".json.part")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(asdict(meta), out, indent=2)
    os.replace(temporary, folder / META_FILE)


def read_meta(folder: Path) -> OnnxMeta | None:
    try:
        raw = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        return OnnxMeta(**{**raw, "mean": tuple(raw["mean"]), "std": tuple(raw["std"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def preprocess(image: Image.Image, meta: OnnxMeta) -> np.ndarray:
    """open_clip's evaluation transform (Resize, CenterCrop, ToTensor, Normalize) in
    Pillow and NumPy: CHW float32. torchvision resizes a Pillow image with Pillow's own
    filter, so the pixels are the same; the tests compare the vectors."""
    image = image.convert("RGB")
    size = meta.image_size
    filter_ = INTERPOLATIONS[meta.interpolation]
    if meta.resize_mode == "squash":
        image = image.resize((size, size), filter_)
    else:  # shortest side to size, then the centre square (torchvision's rounding)
        width, height = image.size
        if width <= height:
            new = (size, int(size * height / width))
        else:
            new = (int(size * width / height), size)
        if new != image.size:
            image = image.resize(new, filter_)
        width, height = image.size
        top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
        image = image.crop((left, top, left + size, top + size))
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    pixels = (pixels - np.asarray(meta.mean, dtype=np.float32)) / np.asarray(meta.std, dtype=np.float32)
    return pixels.transpose(2, 0, 1)


class OnnxOpenClipEmbedder(Embedder):
    """Queries and items embedded by the exported encoders; no torch import anywhere."""

    def __init__(self, folder: Path, meta: OnnxMeta, *, int8: bool) -> None:
        self._meta = meta
        self._encoders = OnnxEncoders(folder, int8=int8)
        self._tokenizer = ClipTokenizer(meta.context_length)
        self.runtime = "onnx-int8" if int8 else "onnx"
        self.spec = SpaceSpec(backend=meta.backend, model_name=meta.model_name, pretrained=meta.pretrained,
                              checkpoint_sha256=meta.checkpoint_sha256, dimension=meta.dimension,
                              max_tokens=meta.context_length)  # fmt: skip

    def embed_images(self, images: Sequence[Image.Image]) -> Vectors:
        if not images:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        return l2_normalize(self._encoders.encode_image(np.stack([preprocess(image, self._meta) for image in images])))

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        tokens = self._tokenizer(list(texts))
        if self._meta.pool_type == "argmax":
            tokens = tokens[:, : int(tokens.argmax(axis=-1).max()) + 1]
        elif self._meta.pool_type == "eos":
            tokens = tokens[:, : int((tokens == self._meta.eos_id).argmax(axis=-1).max()) + 1]
        return l2_normalize(self._encoders.encode_text(tokens))

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text)) + 2


def torch_free_embedder(*, model_name: str, pretrained: str, checkpoint_sha256: str,
                        runtime: str) -> OnnxOpenClipEmbedder | None:  # fmt: skip
    """The torch-free embedder for this checkpoint when its export and ``meta.json`` are
    in the cache and describe something this module can run; else None."""
    folder = onnx_dir(model_name, checkpoint_sha256)
    int8 = runtime == "onnx-int8"
    files = [folder / (int8_name(name) if int8 else name) for name in (IMAGE_FILE, TEXT_FILE)]
    if read_meta(folder) is None or not all(path.is_file() for path in files):
        fetch_shared_export(folder)
    meta = read_meta(folder)
    if meta is None or not all(path.is_file() for path in files):
        return None
    if not meta.supported() or (meta.model_name, meta.pretrained) != (model_name, pretrained):
        logger.info("The ONNX export in %s needs the PyTorch path (%s)", folder, meta)
        return None
    return OnnxOpenClipEmbedder(folder, meta, int8=int8)


def _shared(folder: Path) -> str | None:
    """The export's prefix in the media storage when that storage is shared between hosts."""
    from django.conf import settings

    return f"{SHARED_PREFIX}/{folder.name}" if settings.MEDIA_STORAGE == "s3" else None


def share_export(folder: Path) -> None:
    """Copy the export's files that the shared storage lacks there, ``meta.json`` last (a
    reader that finds it finds the encoders too). A failure is logged: each host can still
    export for itself."""
    from django.core.files import File
    from django.core.files.storage import default_storage

    prefix = _shared(folder)
    if prefix is None:
        return
    try:
        paths = sorted((path for path in folder.iterdir() if path.suffix in (".onnx", ".json")),
                       key=lambda path: path.name == META_FILE)  # fmt: skip
        for path in paths:
            name = f"{prefix}/{path.name}"
            if path.name == META_FILE or not default_storage.exists(name):
                with path.open("rb") as handle:
                    default_storage.save(name, File(handle))
    except Exception:  # noqa: BLE001 - sharing is an optimisation
        logger.exception("Could not copy the ONNX export %s to the media storage", folder)


def fetch_shared_export(folder: Path) -> bool:
    """Copy an export another host shared into this host's ``folder``; whether one was there."""
    from django.core.files.storage import default_storage

    prefix = _shared(folder)
    if prefix is None:
        return False
    try:
        if not default_storage.exists(f"{prefix}/{META_FILE}"):
            return False
        _, names = default_storage.listdir(prefix)
        folder.mkdir(parents=True, exist_ok=True)
        for name in sorted(names, key=lambda name: name == META_FILE):
            handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
            with os.fdopen(handle, "wb") as out, default_storage.open(f"{prefix}/{name}", "rb") as source:
                for block in iter(lambda: source.read(1 << 20), b""):
                    out.write(block)
            os.replace(temporary, folder / Path(name).name)
        logger.info("Fetched the ONNX export %s from the media storage", folder.name)
        return True
    except Exception:  # noqa: BLE001 - fall back to exporting here
        logger.exception("Could not fetch the ONNX export %s from the media storage", folder.name)
        return False
