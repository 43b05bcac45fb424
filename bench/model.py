"""Batched vs one-at-a-time embedding throughput, measured in one run.

    python manage.py bench model                       # the configured model
    python manage.py bench model --random-vit-b-32     # ViT-B-32 shapes, random weights (speed only)

Writes JSON to bench/results/ and prints a table; docs/BENCHMARKS.md quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from PIL import Image, ImageDraw

from bench import RESULTS_DIR, run_suite
from bench.weights import RANDOM_VIT_B_32_TAG, random_vit_b_32_checkpoint
from media_index.embedding.base import Embedder
from media_index.embedding.registry import configured_model, get_embedder

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=settings.INDEXING_BATCH_SIZE)
    parser.add_argument("--random-vit-b-32", action="store_true",
                        help="ViT-B-32 with random weights saved to a temporary checkpoint and loaded "
                             "through the normal path: the real model's speed, no meaningful vectors")  # fmt: skip
    parser.add_argument("--runtimes", default="torch",
                        help="comma-separated: torch,onnx,onnx-int8 (compared in one run)")  # fmt: skip
    parser.add_argument("--full-padding", action="store_true",
                        help="also measure texts at open_clip's 77 tokens, untrimmed (the speed trimming buys)")  # fmt: skip
    parser.add_argument("--quality", action="store_true",
                        help="also measure text->image recall@5 on the demo model's held-out gallery")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)


def run(options: dict[str, Any]) -> None:
    import torch

    runtimes = [name.strip() for name in options["runtimes"].split(",") if name.strip()]
    images, texts = _pictures(options["images"], 0), _texts(options["texts"], 1)
    batch = options["batch_size"]
    rows = []
    label = ""
    for runtime in runtimes:
        if options["random_vit_b_32"]:
            label, embedder = "ViT-B-32 (random weights, speed only)", random_vit_b_32(runtime)
        else:
            config = replace(configured_model(), runtime=runtime)
            label, embedder = f"{config.model_name}/{config.pretrained}", get_embedder(config)
        row = {
            "runtime": runtime,
            "images_per_s_single": _rate(embedder.embed_images, images, 1),
            "images_per_s_batched": _rate(embedder.embed_images, images, batch),
            "texts_per_s_single": _rate(embedder.embed_texts, texts, 1),
            "texts_per_s_batched": _rate(embedder.embed_texts, texts, batch),
        }
        row["image_speedup"] = row["images_per_s_batched"] / row["images_per_s_single"]
        row["text_speedup"] = row["texts_per_s_batched"] / row["texts_per_s_single"]
        if options["full_padding"] and hasattr(embedder, "trim_padding"):
            row.update(_untrimmed_rates(embedder, texts, batch, row))
        if options["quality"]:
            row["recall@5"] = _quality(embedder)
        rows.append(row)
    baseline = rows[0]
    for row in rows:
        for key in ("images_per_s_single", "images_per_s_batched", "texts_per_s_single", "texts_per_s_batched"):
            row[f"{key}_vs_{baseline['runtime']}"] = row[key] / baseline[key]
    result = {
        "model": label,
        "command": "python manage.py bench model "
        + " ".join(
            f"--{name.replace('_', '-')}" + ("" if value is True else f" {value}")
            for name, value in options.items()
            if name in ("images", "texts", "batch_size", "random_vit_b_32", "runtimes", "full_padding", "quality")
            and value
        ),
        "dimension": embedder.spec.dimension,
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "torch": torch.__version__,
        },  # fmt: skip
        "batch_size": batch,
        "images": len(images),
        "texts": len(texts),
        "runs": rows,
    }
    default_name = "embedding-vit-b-32-random.json" if options["random_vit_b_32"] else "embedding-configured.json"
    out = options["out"] or RESULTS_DIR / default_name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{label}, batch {batch}, {result['machine']['cpu_count']} CPUs")
    for row in rows:
        quality = f", recall@5 {row['recall@5']:.3f}" if "recall@5" in row else ""
        print(
            f"  {row['runtime']:<10} images/s {row['images_per_s_single']:.1f} single, "
            f"{row['images_per_s_batched']:.1f} batched ({row['image_speedup']:.2f}x); texts/s "
            f"{row['texts_per_s_single']:.1f} single, {row['texts_per_s_batched']:.1f} batched "
            f"({row['text_speedup']:.2f}x){quality}"
        )
        if "trim_speedup_single" in row:
            print(
                f"  {'':<10} untrimmed texts/s {row['texts_per_s_single_full_padding']:.1f} single, "
                f"{row['texts_per_s_batched_full_padding']:.1f} batched; trimming "
                f"{row['trim_speedup_single']:.2f}x single, {row['trim_speedup_batched']:.2f}x batched"
            )
    print(f"  written to {out}")


def random_vit_b_32(runtime: str = "torch") -> Embedder:
    """ViT-B-32 with seeded random weights, loaded through the normal path for ``runtime``."""
    from media_index.embedding.open_clip_backend import OpenClipEmbedder
    from media_index.embedding.weights import OpenClipWeights

    with tempfile.TemporaryDirectory() as folder:
        checkpoint = random_vit_b_32_checkpoint(Path(folder))
        return OpenClipEmbedder(OpenClipWeights("ViT-B-32", RANDOM_VIT_B_32_TAG, checkpoint), runtime=runtime)


def _untrimmed_rates(embedder: Any, texts: Sequence[str], batch: int, trimmed: dict[str, Any]) -> dict[str, float]:
    """Text throughput with every text at open_clip's full 77 tokens, and what trimming
    (``trimmed``: the rates just measured) gains over it."""
    embedder.trim_padding = False
    try:
        single, batched = _rate(embedder.embed_texts, texts, 1), _rate(embedder.embed_texts, texts, batch)
    finally:
        embedder.trim_padding = True
    return {
        "texts_per_s_single_full_padding": single,
        "texts_per_s_batched_full_padding": batched,
        "trim_speedup_single": trimmed["texts_per_s_single"] / single,
        "trim_speedup_batched": trimmed["texts_per_s_batched"] / batched,
    }


def _quality(embedder: Embedder, k: int = 5) -> float:
    """Mean text->image recall@k of "a cute <x>" / "可爱的<x>" over the demo model's held-out
    gallery (5 OpenMoji pictures per everyday concept on held-out backgrounds, so recall@5 =
    precision@5): the gallery of the model card's "everyday" section, embedded through this
    embedder (and so this runtime)."""
    import numpy as np

    from media_index.synthetic.concepts import CONCEPTS
    from media_index.synthetic.render import HELD_OUT_BACKGROUNDS
    from media_index.training.evaluate import HELD_OUT_SEED, en_query, held_out_gallery, zh_query

    gallery, labels, _ = held_out_gallery(CONCEPTS, images_per_concept=5, seed=HELD_OUT_SEED, image_size=64,
                                          style="openmoji", backgrounds=HELD_OUT_BACKGROUNDS)  # fmt: skip
    pictures = embedder.embed_images(gallery)
    recalls = []
    for make_query in (en_query, zh_query):
        queries = embedder.embed_texts([make_query(concept) for concept in CONCEPTS])
        top = np.argsort(-(queries @ pictures.T), axis=1)[:, :k]
        for row, concept in enumerate(CONCEPTS):
            recalls.append(sum(labels[index] == concept.key for index in top[row]) / 5)
    return float(np.mean(recalls))


def main(argv: list[str] | None = None) -> int:
    return run_suite(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
