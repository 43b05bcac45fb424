"""Train the offline demo CLIP model on generated pictures (the checkpoint in models/demo-clip/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

DEFAULT_OUT = Path(settings.BASE_DIR) / "models" / "demo-clip"


class Command(BaseCommand):
    help = "Train the demo model from scratch (deterministic for a seed and thread count); ~45 min on 2 cores."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the checkpoint and eval.json")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--steps", type=int, default=2400)
        parser.add_argument("--batch-size", type=int, default=128)
        parser.add_argument("--lr", type=float, default=1e-3)
        parser.add_argument("--num-images", type=int, default=30_000)
        parser.add_argument("--eval-every", type=int, default=400)
        parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (results depend on it)")

    def handle(self, *args: Any, **options: Any) -> None:
        import torch

        from media_index.management.commands.evaluate_demo_model import format_metrics
        from media_index.training.demo import train_demo_model

        torch.set_num_threads(options["threads"])
        report = train_demo_model(
            options["out"], seed=options["seed"], steps=options["steps"], batch_size=options["batch_size"],
            lr=options["lr"], num_images=options["num_images"], eval_every=options["eval_every"],
        )  # fmt: skip
        self.stdout.write(format_metrics(report["metrics"]))
        self.stdout.write(self.style.SUCCESS(
            f"Saved {options['out']} ({report['checkpoint']['bytes'] / 1e6:.1f} MB) after "
            f"{report['training']['train_wall_seconds']:.0f}s of training."
        ))  # fmt: skip
