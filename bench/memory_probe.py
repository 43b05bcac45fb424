"""One measurement of the memory suite, in a fresh process:
``python -m bench.memory_probe <runtime> [--random-vit-b-32]`` prints the resident size
after Django's setup, after the model's load and one query, and after 32 pictures.

The embedding modules are imported inside ``main``, after the first figure: what a web
process holds before its first search must not include them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psutil

from bench import setup_django


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _exported_random_vit_b_32(runtime: str):  # noqa: ANN202 - an Embedder or None
    """The random ViT-B-32's export, found by its meta.json without making the checkpoint
    (which needs torch): what a web process would load once a worker had exported it."""
    from django.conf import settings

    from bench.weights import RANDOM_VIT_B_32_TAG
    from media_index.embedding.onnx_embedder import read_meta, torch_free_embedder
    from media_index.embedding.onnx_runtime import EXPORT_VERSION

    for folder in sorted((Path(settings.MODEL_DIR) / "onnx").glob(f"ViT-B-32__*__v{EXPORT_VERSION}")):
        meta = read_meta(folder)
        if meta is not None and meta.pretrained == RANDOM_VIT_B_32_TAG:
            return torch_free_embedder(model_name=meta.model_name, pretrained=meta.pretrained,
                                       checkpoint_sha256=meta.checkpoint_sha256, runtime=runtime)  # fmt: skip
    return None


def main(argv: list[str]) -> int:
    runtime, random_vit = argv[0], "--random-vit-b-32" in argv[1:]
    setup_django()
    out = {"django": _rss()}
    from dataclasses import replace

    from PIL import Image

    from bench.model import random_vit_b_32
    from media_index.embedding.registry import configured_model, get_embedder

    if random_vit:
        embedder = (_exported_random_vit_b_32(runtime) if runtime != "torch" else None) or random_vit_b_32(runtime)
    else:
        embedder = get_embedder(replace(configured_model(), runtime=runtime))
    embedder.embed_texts(["a cute puppy"])
    out["model_and_one_query"] = _rss()
    embedder.embed_images([Image.new("RGB", (320, 240), (200, 100, 50)) for _ in range(32)])
    out["after_batch_of_32_pictures"] = _rss()
    # Which path served it: the ONNX export without torch (a web process once a worker has
    # exported the model), or PyTorch (exporting first, for an ONNX runtime).
    print(json.dumps({"sizes": out, "embedder": type(embedder).__name__, "torch_imported": "torch" in sys.modules}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
