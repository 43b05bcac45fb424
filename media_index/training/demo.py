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
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import open_clip
import safetensors.torch
import torch

from media_index.embedding.model_configs import DEMO_MODEL_NAME, register_model_configs
from media_index.synthetic import twemoji
from media_index.synthetic.concepts import CONCEPTS, Concept
from media_index.synthetic.corpus import corpus
from media_index.synthetic.render import HELD_OUT_BACKGROUNDS, TRAINING_BACKGROUNDS

from .data import GeneratedPairs
from .evaluate import HELD_OUT_SEED, evaluate_retrieval
from .train import Precision, Preprocess, Tokenizer, TrainResult, seed_everything, train

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = f"{DEMO_MODEL_NAME}.safetensors"
METRICS_NAME = "eval.json"
# The resumable training state (weights, optimizer, generators), next to the output.
TRAINING_STATE_NAME = "training-state.pt"
# Periodic evaluations during training use every 8th corpus concept (plus the everyday
# ones): a few seconds each instead of a minute.
PERIODIC_EVAL_STRIDE = 8


def evaluate_demo(
    model: torch.nn.Module, preprocess: Preprocess, tokenizer: Tokenizer, *, image_size: int,
    concepts: tuple[Concept, ...] | None = None, seed: int = HELD_OUT_SEED, per_concept: bool = False,
) -> dict:
    """The demo model's report card, in sections (each a dict of ``evaluate_retrieval`` metrics):

    - ``corpus``: every concept, OpenMoji drawings on held-out background kinds (rings,
      plasma, scribbles: never in training) with a held-out seed;
    - ``everyday``: the 52 everyday concepts the same way, with the named queries
      ("a red car", "红色的汽车");
    - ``corpus_training_backgrounds``: every concept on training's background kinds (new
      seed): the gap to ``corpus`` is what unseen backgrounds cost;
    - ``held_out_style``: the 52 everyday concepts drawn by another artist (Noto Color
      Emoji, the font subset shipped with the code; never seen in training) on held-out
      backgrounds.
    - ``twemoji_held_out_concepts``: the corpus concepts kept out of Twemoji training
      (``twemoji_held_out``), drawn by Twemoji on held-out backgrounds: an artist the model
      knows, but only from other concepts.
    """
    concepts = concepts if concepts is not None else corpus()
    common = {"image_size": image_size, "seed": seed}
    sections = {
        "corpus": evaluate_retrieval(model, preprocess, tokenizer, concepts, style="openmoji",
                                     backgrounds=HELD_OUT_BACKGROUNDS, named_queries=False,
                                     per_concept=per_concept, **common),
        "everyday": evaluate_retrieval(model, preprocess, tokenizer, CONCEPTS, style="openmoji",
                                       backgrounds=HELD_OUT_BACKGROUNDS, **common),
        "corpus_training_backgrounds": evaluate_retrieval(model, preprocess, tokenizer, concepts, style="openmoji",
                                                          backgrounds=TRAINING_BACKGROUNDS, named_queries=False,
                                                          **common),
        "held_out_style": evaluate_retrieval(model, preprocess, tokenizer, CONCEPTS, style="noto",
                                             backgrounds=HELD_OUT_BACKGROUNDS, **common),
    }  # fmt: skip
    other_artist = twemoji_held_out(concepts)
    if other_artist:  # none among the first concepts only (the everyday ones): a short test run
        sections["twemoji_held_out_concepts"] = evaluate_retrieval(
            model, preprocess, tokenizer, other_artist, style="twemoji", backgrounds=HELD_OUT_BACKGROUNDS,
            named_queries=False, **common,
        )
    return sections


def twemoji_held_out(concepts: Sequence[Concept]) -> tuple[Concept, ...]:
    """The concepts training never draws in Twemoji's style (``twemoji.held_out``)."""
    everyday = frozenset(concept.key for concept in CONCEPTS)
    return tuple(concept for concept in concepts if twemoji.held_out(concept.key, everyday))


def train_demo_model(
    out_dir: str | Path,
    *,
    model_name: str = DEMO_MODEL_NAME,
    seed: int = 0,
    steps: int = 4000,
    batch_size: int = 128,
    lr: float = 2e-3,
    weight_decay: float = 0.1,
    num_images: int = 100_000,
    precision: Precision = "fp32",
    eval_every: int = 1000,
    checkpoint_every: int = 250,
    resume: bool = False,
    concept_limit: int | None = None,
    concept_weight: float = 0.0,
    proxy_weight: float = 1.0,
    device: str = "cpu",
    init_from: str | Path | None = None,
    per_drawing: bool = False,
    everyday_weight: int = 1,
    second_artist: bool = False,
    average_with: str | Path | None = None,
    average_weight: float = 0.3,
    text_pair_weight: float = 0.0,
    colour_negative_weight: float = 0.0,
    text_view_weight: float = 0.0,
    progress: bool = True,
) -> dict:
    """Train the demo model on the whole OpenMoji corpus (~1,400 concepts, English and
    Chinese, mixed drawing styles, training backgrounds, photo-like damage), save it and its
    report card (``evaluate_demo``) as ``eval.json``. ``concept_limit`` (tests) trains on the
    first concepts only; ``concept_weight`` 0 turns the concept loss off (plain group-aware
    CLIP loss), for ablations. ``init_from``: start from these weights (a warm start, e.g.
    the shipped model) instead of a random initialisation. ``per_drawing``: one share of
    the pool per drawing of a concept instead of one per concept (``data.drawing_schedule``);
    ``everyday_weight``: that many times the shares for the 52 everyday concepts.
    ``second_artist``: Twemoji draws a quarter of the objects of the concepts not held out
    of it (``render.SECOND_ARTIST_STYLES``). ``average_with``: before saving, mix the
    trained weights with these (``average_weight`` of theirs, see ``average_weights``).
    ``text_pair_weight``: weight of the query-to-note loss (``train.text_pair_loss``; 0: off);
    ``colour_negative_weight``: of the colour-swapped hard negatives (``train.hard_negative_loss``);
    ``text_view_weight``: of the two-views loss over strings of arbitrary words (``data.text_views``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    register_model_configs()
    seed_everything(seed)
    model, preprocess_train, preprocess_eval = open_clip.create_model_and_transforms(model_name, pretrained=None)
    if init_from is not None:
        warm_start(model, init_from)
    tokenizer = open_clip.get_tokenizer(model_name)
    image_size = input_size(model)
    concepts = corpus()[:concept_limit] if concept_limit else corpus()

    dataset = GeneratedPairs(concepts, num_images=num_images, seed=seed, image_size=image_size, style=None,
                             backgrounds=TRAINING_BACKGROUNDS, augment=True, progress=progress,
                             workers=os.cpu_count() or 1, per_drawing=per_drawing,
                             weighted={concept.key for concept in CONCEPTS}, weight=everyday_weight,
                             second_artist=second_artist, text_pairs=text_pair_weight > 0,
                             colour_negatives=colour_negative_weight > 0,
                             text_views=text_view_weight > 0)  # fmt: skip
    sampled = tuple(dict.fromkeys(CONCEPTS[: min(len(CONCEPTS), len(concepts))]
                                  + concepts[len(CONCEPTS)::PERIODIC_EVAL_STRIDE]))  # fmt: skip

    other_artist = twemoji_held_out(concepts)[::PERIODIC_EVAL_STRIDE]

    def periodic_eval(trained: torch.nn.Module) -> dict:
        common = {"image_size": image_size, "backgrounds": HELD_OUT_BACKGROUNDS, "named_queries": False,
                  "images_per_concept": 5, "notes_per_concept": 2}  # fmt: skip
        metrics = evaluate_retrieval(trained, preprocess_eval, tokenizer, sampled, style="openmoji", **common)
        if other_artist:
            held_out = evaluate_retrieval(trained, preprocess_eval, tokenizer, other_artist, style="twemoji", **common)
            metrics.update({f"twemoji_{name}": value for name, value in held_out.items()
                            if name in ("en_p@5", "zh_p@5", "image_to_image_p@5")})  # fmt: skip
        return metrics

    result = train(
        model, preprocess_train, tokenizer, dataset, steps=steps, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, seed=seed, precision=precision,
        eval_fn=periodic_eval if eval_every else None, eval_every=eval_every, progress=progress,
        checkpoint_path=out / TRAINING_STATE_NAME, checkpoint_every=checkpoint_every, resume=resume,
        class_names=dataset.class_names() if concept_weight else None, concept_weight=concept_weight,
        num_classes=dataset.num_classes if proxy_weight else 0, proxy_weight=proxy_weight, device=device,
        text_pair_weight=text_pair_weight, colour_negative_weight=colour_negative_weight,
        text_view_weight=text_view_weight,
    )  # fmt: skip
    model.to("cpu")
    if average_with is not None:
        average_weights(model, average_with, weight=average_weight)

    checkpoint = out / CHECKPOINT_NAME
    save_checkpoint(model, checkpoint)
    shipped, preprocess, shipped_tokenizer = load_demo_model(checkpoint, model_name=model_name)
    metrics = evaluate_demo(shipped, preprocess, shipped_tokenizer, image_size=image_size, concepts=concepts,
                            per_concept=True)  # fmt: skip
    training = {
        "seed": seed, "steps": steps, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
        "precision": precision, "num_images": num_images, "num_concepts": len(concepts),
        "styles": ("openmoji 50% / twemoji 26% (openmoji for its held-out concepts) / line art 12% / flat colour 12%"
                   if second_artist else "openmoji 76% / line art 12% / flat colour 12%"), "augment": True,
        "concept_weight": concept_weight, "proxy_weight": proxy_weight, "device": device,
        "init_from": Path(init_from).name if init_from is not None else None, "per_drawing": per_drawing,
        "everyday_weight": everyday_weight, "backgrounds": list(TRAINING_BACKGROUNDS),
        "second_artist": second_artist,
        "average_with": Path(average_with).name if average_with is not None else None,
        "average_weight": average_weight if average_with is not None else None,
        "text_pair_weight": text_pair_weight, "colour_negative_weight": colour_negative_weight,
        "text_view_weight": text_view_weight,
        "periodic_evaluations": [(step, {k: round(v, 4) for k, v in m.items() if isinstance(v, float)})
                                 for step, m in result.evaluations],
    }  # fmt: skip
    return _write_report(out, model_name, metrics, training, result, shipped)


def warm_start(model: torch.nn.Module, checkpoint: str | Path) -> int:
    """Copy into ``model`` every tensor of ``checkpoint`` whose name and shape match (a grown
    tower keeps its new layers' random initialisation); returns how many were copied."""
    state = safetensors.torch.load_file(str(checkpoint))
    own = model.state_dict()
    matching = {name: tensor.float() for name, tensor in state.items()
                if name in own and own[name].shape == tensor.shape}  # fmt: skip
    if not matching:
        raise ValueError(f"{checkpoint}: no tensor matches the model's names and shapes")
    model.load_state_dict(matching, strict=False)
    logger.info("warm start from %s: %d of %d tensors", checkpoint, len(matching), len(own))
    return len(matching)


def average_weights(model: torch.nn.Module, checkpoint: str | Path, *, weight: float) -> None:
    """Replace ``model``'s weights by ``(1 - weight) * own + weight * checkpoint's``, tensor by
    tensor (BatchNorm statistics too). With the weights a fine-tuning run started from, this
    is WiSE-FT (Wortsman et al., 2022): the average gives back some of what the fine-tuning
    wore down while keeping most of what it added (measured in models/demo-clip/README.md,
    "Stage 3: trained, not shipped")."""
    if not 0 <= weight <= 1:
        raise ValueError("weight must be between 0 and 1")
    state = safetensors.torch.load_file(str(checkpoint))
    own = model.state_dict()
    if set(state) != set(own) or any(own[name].shape != tensor.shape for name, tensor in state.items()):
        raise ValueError(f"{checkpoint}: not the same architecture as the trained model")
    mixed = {name: ((1 - weight) * own[name].float() + weight * state[name].float()).to(own[name].dtype)
             for name in own}  # fmt: skip
    model.load_state_dict(mixed)


def save_checkpoint(model: torch.nn.Module, path: Path) -> None:
    """Write the weights as fp16 safetensors; open_clip copies them into its fp32 model."""
    state = {name: tensor.detach().to(torch.float16).contiguous() for name, tensor in model.state_dict().items()}
    safetensors.torch.save_file(state, str(path))


def input_size(model: torch.nn.Module) -> int:
    """The picture side the model's image tower takes (open_clip gives an int or a pair)."""
    size = model.visual.image_size
    return size[0] if isinstance(size, tuple) else size


def load_demo_model(
    checkpoint: str | Path, *, model_name: str = DEMO_MODEL_NAME
) -> tuple[torch.nn.Module, Preprocess, Tokenizer]:
    """(model, eval preprocess, tokenizer) through open_clip's standard loading path."""
    register_model_configs()
    model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=str(checkpoint))
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(model_name)


def _write_report(out: Path, model_name: str, metrics: dict, training: dict, result: TrainResult,
                  shipped: torch.nn.Module) -> dict:  # fmt: skip
    """``eval.json``: the saved checkpoint's metrics, how it was trained, the file, the machine."""
    checkpoint = out / CHECKPOINT_NAME
    report = {
        "model": model_name,
        "metrics": metrics,
        "training": {
            **training,
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


# The shipped model's folder: where a training run writes by default.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "models" / "demo-clip"


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The one definition of the training command line, shared by ``python -m
    media_index.training.demo`` and ``manage.py train_demo_model``."""
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the checkpoint and eval.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--num-images", type=int, default=100_000)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (results depend on it)")
    parser.add_argument("--model-name", default=DEMO_MODEL_NAME, help="open_clip architecture to train")
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--resume", action="store_true", help="continue from OUT/training-state.pt")
    parser.add_argument("--concept-limit", type=int, default=None, help="train on the first N concepts only")
    parser.add_argument("--concept-weight", type=float, default=0.0,
                        help="weight of the names-based all-concepts loss (0: off; an ablation)")
    parser.add_argument("--proxy-weight", type=float, default=1.0,
                        help="weight of the learned class-proxy loss (0: off)")
    parser.add_argument("--device", default="cpu", help="torch device for training (cuda on a GPU machine)")
    parser.add_argument("--init-from", type=Path, default=None,
                        help="start from these weights (e.g. models/demo-clip/demo-clip.safetensors)")
    parser.add_argument("--per-drawing", action="store_true",
                        help="one share of the pool per drawing of a concept, not one per concept")
    parser.add_argument("--everyday-weight", type=int, default=1,
                        help="times the pool shares of the 52 everyday concepts (1: as any other)")
    parser.add_argument("--second-artist", action="store_true",
                        help="Twemoji draws a quarter of the objects of half the concepts (the other half is held out)")
    parser.add_argument("--average-with", type=Path, default=None,
                        help="mix the trained weights with these before saving (e.g. the --init-from file)")
    parser.add_argument("--average-weight", type=float, default=0.3,
                        help="the share of --average-with's weights in the mix")
    parser.add_argument("--text-pair-weight", type=float, default=0.0,
                        help="weight of the query-to-note loss between texts of the same concept (0: off)")
    parser.add_argument("--colour-negative-weight", type=float, default=0.0,
                        help="weight of the loss between a colour caption and its colour-swapped twin (0: off)")
    parser.add_argument("--text-view-weight", type=float, default=0.0,
                        help="weight of the two-views loss over strings of arbitrary words (0: off)")


def run_training(options: dict) -> dict:
    """Train as the command line says; returns the report written to eval.json."""
    torch.set_num_threads(options["threads"])
    return train_demo_model(
        options["out"], model_name=options["model_name"], seed=options["seed"], steps=options["steps"],
        batch_size=options["batch_size"], lr=options["lr"], num_images=options["num_images"],
        precision=options["precision"], eval_every=options["eval_every"],
        checkpoint_every=options["checkpoint_every"], resume=options["resume"],
        concept_limit=options["concept_limit"], concept_weight=options["concept_weight"],
        proxy_weight=options["proxy_weight"], device=options["device"], init_from=options["init_from"],
        per_drawing=options["per_drawing"], everyday_weight=options["everyday_weight"],
        second_artist=options["second_artist"], average_with=options["average_with"],
        average_weight=options["average_weight"], text_pair_weight=options["text_pair_weight"],
        colour_negative_weight=options["colour_negative_weight"], text_view_weight=options["text_view_weight"],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the offline demo CLIP model on generated pictures.")
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    report = run_training(vars(args))
    summary = {section: ({k: round(v, 3) for k, v in values.items() if isinstance(v, float)}
                         if isinstance(values, dict) else values)
               for section, values in report["metrics"].items() if isinstance(values, (dict, float))}  # fmt: skip
    print(json.dumps({"metrics": summary, "total_wall_seconds": round(time.monotonic() - started, 1)}, indent=2))


if __name__ == "__main__":
    main()
