"""Batched vs one-at-a-time embedding throughput, measured in one run.

    python manage.py bench_embedding                       # the configured model
    python manage.py bench_embedding --random-vit-b-32     # ViT-B-32 shapes, random weights (speed only)

Writes JSON to bench/results/ and prints a table; docs/BENCHMARKS.md quotes it.
"""

from __future__ import annotations

import json
import os
import platform
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw

from media_index.embedding.base import Embedder
from media_index.embedding.registry import configured_model, get_embedder

RESULTS_DIR = Path(settings.BASE_DIR) / "bench" / "results"
WORDS = "puppy kitten red car small house tree beach sunset pizza guitar robot rocket moon flower".split()


def _pictures(count: int, seed: int) -> list[Image.Image]:
    rng = random.Random(seed)
    pictures = []
    for _ in range(count):
        image = Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x, y = rng.randrange(280), rng.randrange(200)
            draw.ellipse((x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 120)),
                         fill=tuple(rng.randrange(256) for _ in range(3)))  # fmt: skip
        pictures.append(image)
    return pictures


def _texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 16))) for _ in range(count)]


def _rate(embed: Callable[[Sequence[Any]], Any], rows: Sequence[Any], batch: int) -> float:
    embed(rows[:batch])  # warm-up: first calls allocate
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        embed(rows[start : start + batch])
    return len(rows) / (time.perf_counter() - started)


class Command(BaseCommand):
    help = "Measure batched vs one-at-a-time embedding throughput of a model."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--images", type=int, default=128)
        parser.add_argument("--texts", type=int, default=256)
        parser.add_argument("--batch-size", type=int, default=settings.INDEXING_BATCH_SIZE)
        parser.add_argument("--random-vit-b-32", action="store_true",
                            help="ViT-B-32 with random weights saved to a temporary checkpoint and loaded "
                                 "through the normal path: the real model's speed, no meaningful vectors")  # fmt: skip
        parser.add_argument("--out", type=Path, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        import torch

        if options["random_vit_b_32"]:
            label, embedder = "ViT-B-32 (random weights, speed only)", self._random_vit_b_32()
        else:
            config = configured_model()
            label, embedder = f"{config.model_name}/{config.pretrained}", get_embedder(config)
        images, texts = _pictures(options["images"], 0), _texts(options["texts"], 1)
        batch = options["batch_size"]
        result = {
            "model": label,
            "dimension": embedder.spec.dimension,
            "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                        "platform": platform.platform(), "torch": torch.__version__},  # fmt: skip
            "batch_size": batch,
            "images": len(images),
            "texts": len(texts),
            "images_per_s_single": _rate(embedder.embed_images, images, 1),
            "images_per_s_batched": _rate(embedder.embed_images, images, batch),
            "texts_per_s_single": _rate(embedder.embed_texts, texts, 1),
            "texts_per_s_batched": _rate(embedder.embed_texts, texts, batch),
        }
        result["image_speedup"] = result["images_per_s_batched"] / result["images_per_s_single"]
        result["text_speedup"] = result["texts_per_s_batched"] / result["texts_per_s_single"]
        out = options["out"] or RESULTS_DIR / ("embedding-vit-b-32-random.json" if options["random_vit_b_32"]
                                               else "embedding-configured.json")  # fmt: skip
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        self.stdout.write(
            f"{label}, batch {batch}, {result['machine']['cpu_count']} CPUs\n"
            f"  images/s: one at a time {result['images_per_s_single']:.1f}, batched "
            f"{result['images_per_s_batched']:.1f} ({result['image_speedup']:.2f}x)\n"
            f"  texts/s:  one at a time {result['texts_per_s_single']:.1f}, batched "
            f"{result['texts_per_s_batched']:.1f} ({result['text_speedup']:.2f}x)\n"
            f"  written to {out}"
        )

    def _random_vit_b_32(self) -> Embedder:
        import open_clip
        import torch

        from media_index.embedding.open_clip_backend import OpenClipEmbedder
        from media_index.embedding.weights import OpenClipWeights

        model = open_clip.create_model("ViT-B-32", pretrained=None)
        with tempfile.TemporaryDirectory() as folder:
            checkpoint = Path(folder) / "random-vit-b-32.pt"
            torch.save(model.state_dict(), checkpoint)
            return OpenClipEmbedder(OpenClipWeights("ViT-B-32", "random-for-benchmark", checkpoint))
