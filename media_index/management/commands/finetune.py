"""Adapt an open_clip model to your own pictures and captions (domain adaptation).

    python manage.py finetune --pairs pairs.csv [--steps 300] [--out path.safetensors]

pairs.csv has the header ``image,caption``; relative image paths are read from
the CSV's folder. The loop is the one that trains the demo model. The result is
a new checkpoint, hence a new embedding space (its vectors are never compared
with the old model's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from media_index.errors import ModelUnavailable


class Command(BaseCommand):
    help = "Fine-tune the configured open_clip model on (image, caption) pairs from a CSV file."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--pairs", type=Path, required=True, help="CSV with columns image,caption")
        parser.add_argument("--model", default=None, help="open_clip architecture (default: OPEN_CLIP_MODEL)")
        parser.add_argument("--pretrained", default=None, help="starting weights (default: OPEN_CLIP_PRETRAINED)")
        parser.add_argument("--steps", type=int, default=300)
        parser.add_argument("--batch-size", type=int, default=32)
        # Small: large steps on a few pairs forget what the pretrained model knew.
        parser.add_argument("--lr", type=float, default=1e-5)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--out", type=Path, default=None, help="checkpoint to write (.safetensors)")

    def handle(self, *args: Any, **options: Any) -> None:
        import open_clip

        from media_index.embedding.model_configs import register_model_configs
        from media_index.embedding.weights import resolve_open_clip
        from media_index.training.data import CsvPairs
        from media_index.training.demo import save_checkpoint
        from media_index.training.train import train

        model_name = options["model"] or settings.OPEN_CLIP_MODEL
        pretrained = options["pretrained"] or settings.OPEN_CLIP_PRETRAINED
        try:
            weights = resolve_open_clip(model_name, pretrained)
            pairs = CsvPairs(options["pairs"])
        except (ModelUnavailable, ValueError, OSError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from exc
        register_model_configs()
        model, preprocess_train, _ = open_clip.create_model_and_transforms(
            model_name, pretrained=str(weights.checkpoint), force_quick_gelu=weights.quick_gelu,
            image_mean=weights.image_mean, image_std=weights.image_std,
            image_interpolation=weights.image_interpolation, image_resize_mode=weights.image_resize_mode,
        )  # fmt: skip
        tokenizer = open_clip.get_tokenizer(model_name)
        result = train(model, preprocess_train, tokenizer, pairs, steps=options["steps"],
                       batch_size=min(options["batch_size"], len(pairs)), lr=options["lr"], seed=options["seed"])  # fmt: skip
        out = options["out"] or Path(settings.MODEL_DIR) / "finetuned" / (
            f"{model_name}__{Path(pretrained).stem}__{options['pairs'].stem}.safetensors"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(model, out)
        self.stdout.write(self.style.SUCCESS(
            f"Fine-tuned {model_name}/{pretrained} on {len(pairs)} pairs for {result.steps} steps "
            f"({result.wall_seconds:.0f}s, final loss {result.final_loss:.3f}); saved {out}.\n"
            f"It is a new embedding space: move a collection into it with 'manage.py reindex --backend open_clip "
            f"--model {model_name} --pretrained {out}', then 'manage.py activate_space'."
        ))  # fmt: skip
