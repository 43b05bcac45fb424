"""One measurement of the memory suite, in a fresh process:
``python -m bench.memory_probe <runtime> [--random-vit-b-32]`` prints the resident size
after Django's setup, after the model's load and one query, and after 32 pictures.

The embedding modules are imported inside ``main``, after the first figure: what a web
process holds before its first search must not include them.
"""

from __future__ import annotations

import json
import sys

import psutil

from bench import setup_django


def _rss() -> int:
    return psutil.Process().memory_info().rss


def main(argv: list[str]) -> int:
    runtime, random_vit = argv[0], "--random-vit-b-32" in argv[1:]
    setup_django()
    out = {"django": _rss()}
    from dataclasses import replace

    from PIL import Image

    from bench.model import random_vit_b_32
    from media_index.embedding.registry import configured_model, get_embedder

    embedder = random_vit_b_32(runtime) if random_vit else get_embedder(replace(configured_model(), runtime=runtime))
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
