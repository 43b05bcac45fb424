"""Train the offline demo CLIP model on generated pictures (the checkpoint in models/demo-clip/).

The same command line as ``python -m media_index.training.demo`` (one definition:
``training.demo.add_training_arguments``).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Train the demo model from scratch on the OpenMoji corpus, as shipped (deterministic for a seed and "
            "thread count; resumable with --resume).")

    def add_arguments(self, parser: Any) -> None:
        from media_index.training.demo import add_training_arguments

        add_training_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        from media_index.management.commands.evaluate_demo_model import format_metrics
        from media_index.training.demo import run_training

        report = run_training(options)
        metrics = report["metrics"]
        self.stdout.write(format_metrics(metrics.get("corpus", metrics) if isinstance(metrics, dict) else metrics))
        self.stdout.write(self.style.SUCCESS(
            f"Saved {options['out']} ({report['checkpoint']['bytes'] / 1e6:.1f} MB) after "
            f"{report['training']['train_wall_seconds']:.0f}s of training."
        ))  # fmt: skip
