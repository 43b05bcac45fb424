"""Measure a demo-model checkpoint on the held-out generated gallery (the model card's numbers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

DEFAULT_CHECKPOINT = Path(settings.BASE_DIR) / "models" / "demo-clip" / "demo-clip.safetensors"


class Command(BaseCommand):
    help = (
        "Evaluate a demo-clip checkpoint, loaded through open_clip's pretrained-weights path, on "
        "pictures rendered with a held-out seed: text->image (generic and named queries such as "
        "'a red car' / '红色的汽车'), image->image, and note retrieval, as precision@5."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
        parser.add_argument("--seed", type=int, default=None, help="held-out seed (default: the model card's)")
        parser.add_argument("--json", action="store_true", help="print the metrics as JSON only")

    def handle(self, *args: Any, **options: Any) -> None:
        from media_index.synthetic.concepts import CONCEPTS
        from media_index.training.demo import load_demo_model
        from media_index.training.evaluate import HELD_OUT_SEED, evaluate_retrieval

        checkpoint: Path = options["checkpoint"]
        if not checkpoint.is_file():
            raise CommandError(f"No checkpoint at {checkpoint}.")
        model, preprocess, tokenizer = load_demo_model(checkpoint)
        seed = HELD_OUT_SEED if options["seed"] is None else options["seed"]
        metrics = evaluate_retrieval(model, preprocess, tokenizer, CONCEPTS, seed=seed)
        if options["json"]:
            self.stdout.write(json.dumps(metrics, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{checkpoint} on held-out seed {seed} ({len(CONCEPTS)} concepts)")
        self.stdout.write(format_metrics(metrics))


def format_metrics(metrics: dict) -> str:
    """A two-column table: generic metrics first, then each named query."""
    lines = [f"{'metric':<28} {'value':>6}"]
    for name, value in metrics.items():
        if isinstance(value, float):
            lines.append(f"{name:<28} {value:>6.3f}")
    for name, value in metrics.get("named_p@5", {}).items():
        lines.append(f"{'P@5 ' + repr(name):<28} {value:>6.3f}")
    return "\n".join(lines)
