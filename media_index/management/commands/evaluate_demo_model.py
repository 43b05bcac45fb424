"""Measure a demo-model checkpoint on held-out generated galleries (the model card's numbers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

DEFAULT_CHECKPOINT = Path(settings.BASE_DIR) / "models" / "demo-clip" / "demo-clip.safetensors"


class Command(BaseCommand):
    help = (
        "Evaluate a demo-clip checkpoint, loaded through open_clip's pretrained-weights path, on pictures "
        "rendered with a held-out seed, in sections: the whole corpus on held-out backgrounds, the 52 everyday "
        "concepts (with named queries such as 'a red car' / '红色的汽车'), the corpus on training's backgrounds, "
        "a held-out drawing style (Noto), and the concepts held out of Twemoji training drawn by Twemoji. Text->picture P@5/top-1 (en, zh), picture->picture, notes."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
        parser.add_argument("--model", default=None, help="open_clip architecture (default: the demo model's)")
        parser.add_argument("--seed", type=int, default=None, help="held-out seed (default: the model card's)")
        parser.add_argument("--stride", type=int, default=1,
                            help="evaluate every Nth corpus concept only (a quick look; the card uses 1)")
        parser.add_argument("--per-concept", action="store_true", help="add per-concept and per-group figures")
        parser.add_argument("--json", action="store_true", help="print the metrics as JSON only")

    def handle(self, *args: Any, **options: Any) -> None:
        from media_index.embedding.model_configs import DEMO_MODEL_NAME
        from media_index.synthetic.corpus import corpus
        from media_index.training.demo import evaluate_demo, input_size, load_demo_model
        from media_index.training.evaluate import HELD_OUT_SEED

        checkpoint: Path = options["checkpoint"]
        if not checkpoint.is_file():
            raise CommandError(f"No checkpoint at {checkpoint}.")
        if options["stride"] < 1:
            raise CommandError("--stride must be at least 1.")
        model, preprocess, tokenizer = load_demo_model(checkpoint, model_name=options["model"] or DEMO_MODEL_NAME)
        image_size = input_size(model)
        seed = HELD_OUT_SEED if options["seed"] is None else options["seed"]
        concepts = corpus()[:: options["stride"]]
        metrics = evaluate_demo(model, preprocess, tokenizer, image_size=image_size, concepts=concepts, seed=seed,
                                per_concept=options["per_concept"])  # fmt: skip
        if options["json"]:
            self.stdout.write(json.dumps(metrics, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{checkpoint} on held-out seed {seed} ({len(concepts)} corpus concepts)")
        for section, values in metrics.items():
            self.stdout.write(f"\n[{section}]")
            self.stdout.write(format_metrics(values))


def format_metrics(metrics: dict) -> str:
    """A two-column table: generic metrics first, then each named query."""
    lines = [f"{'metric':<28} {'value':>6}"]
    for name, value in metrics.items():
        if isinstance(value, float):
            lines.append(f"{name:<28} {value:>6.3f}")
    for name, value in metrics.get("named_p@5", {}).items():
        lines.append(f"{'P@5 ' + repr(name):<28} {value:>6.3f}")
    return "\n".join(lines)
