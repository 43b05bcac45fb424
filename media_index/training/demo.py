"""Train, evaluate and save the project's offline demo CLIP model.

    python -m media_index.training.demo --out models/demo-clip

The checkpoint is stored in fp16 safetensors (the model is kept small enough to commit)
and loads like any pretrained open_clip weights::

    register_model_configs()
    open_clip.create_model_and_transforms("demo-clip", pretrained="models/demo-clip/demo-clip.safetensors")

``eval.json`` holds the metrics of the saved file itself (re-loaded through that path),
not of the in-memory fp32 model.
"""

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import open_clip
import safetensors.torch
import torch

from media_index.embedding.model_configs import DEMO_MODEL_NAME, register_model_configs

from .concepts import CONCEPTS
from .data import GeneratedPairs
from .evaluate import evaluate_retrieval
from .train import Precision, Preprocess, Tokenizer, seed_everything, train

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = f"{DEMO_MODEL_NAME}.safetensors"
METRICS_NAME = "eval.json"


def save_checkpoint(model: torch.nn.Module, path: Path) -> None:
    """Write the weights as fp16 safetensors; open_clip copies them into its fp32 model."""
    state = {name: tensor.detach().to(torch.float16).contiguous() for name, tensor in model.state_dict().items()}
    safetensors.torch.save_file(state, str(path))


def load_demo_model(checkpoint: str | Path) -> tuple[torch.nn.Module, Preprocess, Tokenizer]:
    """(model, eval preprocess, tokenizer) through open_clip's standard loading path."""
    register_model_configs()
    model, _, preprocess = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=str(checkpoint))
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(DEMO_MODEL_NAME)


def train_demo_model(
    out_dir: str | Path,
    *,
    seed: int = 0,
    steps: int = 2400,
    batch_size: int = 128,
    lr: float = 1e-3,
    weight_decay: float = 0.1,
    num_images: int = 30_000,
    precision: Precision = "fp32",
    eval_every: int = 400,
    progress: bool = True,
) -> dict:
    """Generate data, train the demo model from scratch, save it and its metrics.

    Returns the dict written to ``eval.json``: the held-out metrics of the saved
    checkpoint plus how it was trained.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    register_model_configs()
    seed_everything(seed)
    model, preprocess_train, preprocess_eval = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=None)
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    image_size = model.visual.image_size[0] if isinstance(model.visual.image_size, tuple) else model.visual.image_size

    dataset = GeneratedPairs(CONCEPTS, num_images=num_images, seed=seed, image_size=image_size, progress=progress)

    def periodic_eval(trained: torch.nn.Module) -> dict:
        # The same held-out gallery as the final evaluation (a few seconds per call).
        return evaluate_retrieval(trained, preprocess_eval, tokenizer, CONCEPTS, image_size=image_size)

    result = train(
        model,
        preprocess_train,
        tokenizer,
        dataset,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        seed=seed,
        precision=precision,
        eval_fn=periodic_eval if eval_every else None,
        eval_every=eval_every,
        progress=progress,
    )

    checkpoint = out / CHECKPOINT_NAME
    save_checkpoint(model, checkpoint)
    shipped, preprocess, shipped_tokenizer = load_demo_model(checkpoint)
    metrics = evaluate_retrieval(
        shipped, preprocess, shipped_tokenizer, CONCEPTS, image_size=image_size, per_concept=True
    )

    report = {
        "model": DEMO_MODEL_NAME,
        "metrics": metrics,
        "training": {
            "seed": seed,
            "steps": steps,
            "batch_size": batch_size,
            "lr": lr,
            "weight_decay": weight_decay,
            "precision": precision,
            "num_images": num_images,
            "num_concepts": len(CONCEPTS),
            "train_wall_seconds": round(result.wall_seconds, 1),
            "final_loss": round(result.final_loss, 4),
            "loss_history": [(step, round(loss, 4)) for step, loss in result.loss_history],
            "torch_threads": torch.get_num_threads(),
        },
        "checkpoint": {
            "file": CHECKPOINT_NAME,
            "bytes": checkpoint.stat().st_size,
            "parameters": sum(param.numel() for param in shipped.parameters()),
            "dtype": "float16",
        },
        "environment": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "open_clip": open_clip.__version__,
            "machine": platform.machine(),
        },
    }
    (out / METRICS_NAME).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the offline demo CLIP model on generated pictures.")
    parser.add_argument("--out", default="models/demo-clip", help="output folder for the checkpoint and eval.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=2400)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--num-images", type=int, default=30_000)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--eval-every", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (results depend on it)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    report = train_demo_model(
        args.out,
        seed=args.seed,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        num_images=args.num_images,
        precision=args.precision,
        eval_every=args.eval_every,
    )
    metrics = {name: value for name, value in report["metrics"].items() if isinstance(value, float)}
    print(json.dumps({"metrics": metrics, "total_wall_seconds": round(time.monotonic() - started, 1)}, indent=2))


if __name__ == "__main__":
    main()
