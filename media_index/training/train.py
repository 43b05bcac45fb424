"""The contrastive training loop for any open_clip model.

One loop serves both the demo model (trained from scratch on generated pairs) and
fine-tuning a pretrained model on a user's own pairs (domain adaptation): it only relies
on ``encode_image``, ``encode_text`` and ``logit_scale`` (plus ``logit_bias`` for SigLIP
models), which every open_clip model has.

Datasets yield (picture, caption) or (picture, caption, group id). Without groups the loss
is CLIP's (or SigLIP's): each picture's own caption is its only positive. With groups,
every caption of the same group is a positive too, which matters when a batch holds many
pictures of the same thing (a small set of concepts, or a user's many photos of one pet).
"""

import logging
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import Dataset
from tqdm import tqdm

from media_index.embedding.text_prefix import encode_text_prefix, eot_pooled_text_tower

logger = logging.getLogger(__name__)

Preprocess = Callable[[Image.Image], torch.Tensor]
Tokenizer = Callable[[list[str]], torch.Tensor]
EvalFn = Callable[[nn.Module], Mapping[str, float]]
Precision = Literal["fp32", "bf16"]

# CLIP's own cap on the learned temperature (logits at most 100x the cosine).
MAX_LOGIT_SCALE = math.log(100)


@dataclass
class TrainResult:
    steps: int
    wall_seconds: float
    final_loss: float
    # (step, mean loss since the previous entry)
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    # (step, metrics) for every periodic and the final evaluation
    evaluations: list[tuple[int, dict[str, float]]] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Seed every generator the loop or a dataset might touch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _Collate:
    """Turns (picture, caption) pairs into an image batch and a token batch.

    A class rather than a closure so DataLoader workers can pickle it.
    """

    def __init__(self, preprocess: Preprocess, tokenizer: Tokenizer) -> None:
        self.preprocess = preprocess
        self.tokenizer = tokenizer

    def __call__(
        self, items: Sequence[tuple]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, list[tuple[int, ...]] | None]:
        images = torch.stack([self.preprocess(item[0]) for item in items])
        texts = self.tokenizer([item[1] for item in items])
        groups = torch.tensor([item[2] for item in items]) if len(items[0]) > 2 else None
        classes = [tuple(item[3]) for item in items] if len(items[0]) > 3 else None
        return images, texts, groups, classes


def contrastive_loss(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    logit_scale: torch.Tensor,
    logit_bias: torch.Tensor | None = None,
    groups: torch.Tensor | None = None,
) -> torch.Tensor:
    """CLIP's symmetric cross-entropy, or SigLIP's sigmoid loss when there is a logit bias.

    Features are L2-normalised. Without ``groups`` this equals open_clip's ``ClipLoss`` /
    ``SigLipLoss`` on one device; with them, pairs (i, j) in the same group count as
    matches, and the cross-entropy target spreads evenly over a row's matches.
    """
    logits = logit_scale * image_features @ text_features.T
    if groups is None:
        matches = torch.eye(len(logits), device=logits.device)
    else:
        matches = (groups[:, None] == groups[None, :]).to(logits.dtype)
    if logit_bias is not None:
        signs = 2 * matches - 1
        return -F.logsigmoid(signs * (logits + logit_bias)).sum() / len(logits)
    targets = matches / matches.sum(dim=1, keepdim=True)
    # matches is symmetric, so the same targets serve the text-to-image direction.
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def concept_loss(
    image_features: torch.Tensor,
    prototype_features: torch.Tensor,
    logit_scale: torch.Tensor,
    targets: torch.Tensor,
) -> torch.Tensor:
    """Cross-entropy of each picture over many concepts' names at once.

    ``prototype_features`` are the L2-normalised embeddings of one name per concept (the
    batch's own concepts plus sampled others) and ``targets`` spreads each picture's
    probability evenly over the concepts it shows. A batch of 128 gives the CLIP loss only
    127 negatives; among ~1,400 concepts, this term shows every picture hundreds of wrong
    names per step, which is what a small model trained briefly on a CPU lacks.
    """
    logits = logit_scale * image_features @ prototype_features.T
    return F.cross_entropy(logits, targets)


def _concept_batch(
    classes: Sequence[tuple[int, ...]], class_names: Sequence[Sequence[str]], size: int, rng: random.Random
) -> tuple[list[str], torch.Tensor]:
    """One name per concept for the batch's concepts plus random others (``size`` in all),
    and the pictures' target distributions over them."""
    present = list(dict.fromkeys(index for scene in classes for index in scene))
    taken = set(present)
    others = [index for index in range(len(class_names)) if index not in taken]
    chosen = present + rng.sample(others, max(0, min(len(others), size - len(present))))
    column = {index: position for position, index in enumerate(chosen)}
    targets = torch.zeros(len(classes), len(chosen))
    for row, scene in enumerate(classes):
        for index in scene:
            targets[row, column[index]] = 1.0 / len(scene)
    # Any of a concept's names (English or Chinese, primary or synonym) stands for it.
    return [rng.choice(class_names[index]) for index in chosen], targets


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    # As open_clip's own training: no decay on gains, biases, norms and the temperature.
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        exempt = param.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name
        (no_decay if exempt else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _warmup_cosine(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _save_training_state(
    path: str | Path, *, model: nn.Module, optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler, step: int, pass_generator: torch.Tensor, next_batch: int,
    result: TrainResult, wall_seconds: float,
) -> None:
    """Everything ``train(resume=True)`` needs; written to a temporary file, then renamed, so
    a run killed while saving keeps the previous checkpoint."""
    state = {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "step": step, "pass_generator": pass_generator, "next_batch": next_batch,
        "python_rng": random.getstate(), "numpy_rng": np.random.get_state(), "torch_rng": torch.get_rng_state(),
        "loss_history": result.loss_history, "evaluations": result.evaluations, "wall_seconds": wall_seconds,
    }  # fmt: skip
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    torch.save(state, partial)
    partial.replace(target)
    logger.info("checkpoint at step %d: %s", step, target)


def _encode_texts(model: nn.Module, text_tower: tuple | None, tokens: torch.Tensor) -> torch.Tensor:
    if text_tower is not None:
        tower, pooling = text_tower
        return F.normalize(encode_text_prefix(tower, pooling, pooling.trim(tokens)), dim=-1)
    return model.encode_text(tokens, normalize=True)


def train(
    model: nn.Module,
    preprocess: Preprocess,
    tokenizer: Tokenizer,
    dataset: Dataset[tuple],
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    weight_decay: float = 0.1,
    warmup_steps: int | None = None,
    grad_clip_norm: float | None = 1.0,
    precision: Precision = "fp32",
    eval_fn: EvalFn | None = None,
    eval_every: int = 0,
    log_every: int = 50,
    device: str | torch.device = "cpu",
    progress: bool = True,
    checkpoint_path: str | Path | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    class_names: Sequence[Sequence[str]] | None = None,
    concept_weight: float = 1.0,
    concepts_per_step: int = 512,
) -> TrainResult:
    """Train ``model`` contrastively on ``dataset`` for ``steps`` optimizer steps.

    ``preprocess`` is applied to every picture (pass open_clip's training transform for its
    mild augmentation, or the eval transform), ``tokenizer`` to every caption. The run is
    deterministic for a given seed, dataset, thread count and machine: the seed fixes the
    initial state of Python, NumPy and torch generators and the sampler's order.
    ``eval_fn`` is called every ``eval_every`` steps (0: only at the end) with the model in
    eval mode. ``precision="bf16"`` runs the towers under bfloat16 autocast (weights and
    optimizer stay fp32), meant for accelerators: on this project's 2-core CPU it was only
    ~8% faster for the demo model (0.84 vs 0.91 s forward+backward per batch of 128).

    With ``checkpoint_path`` and ``checkpoint_every``, the whole training state (weights,
    optimizer, schedule, generators, the position in the current pass over the data) is
    saved every ``checkpoint_every`` steps; ``resume=True`` continues from that file, and
    the resumed run takes exactly the steps the uninterrupted one would have.

    With ``class_names`` (one tuple of names per class) and a dataset whose items also carry
    the class indices they show, every step adds ``concept_weight`` times ``concept_loss``
    over ``concepts_per_step`` classes (the batch's own and random others), each named by a
    random one of its names.

    Captions are cut after each batch's longest text when the text tower allows it exactly
    (a causal CLIP tower: see ``embedding.open_clip_backend.EotPooling``): the same
    gradients, for a fraction of the 77-token cost.
    """
    if steps < 1 or batch_size < 2:
        raise ValueError("need at least one step and a batch of two (contrastive loss)")
    size = len(dataset)  # type: ignore[arg-type]
    if size < batch_size:
        raise ValueError(f"dataset has {size} pairs, fewer than one batch of {batch_size}")
    seed_everything(seed)
    model.to(device)

    generator = torch.Generator().manual_seed(seed)
    collate = _Collate(preprocess, tokenizer)
    optimizer = torch.optim.AdamW(_param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.98), eps=1e-6)
    warmup = warmup_steps if warmup_steps is not None else max(1, steps // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_cosine(warmup, steps))
    text_tower = eot_pooled_text_tower(model)

    result = TrainResult(steps=steps, wall_seconds=0.0, final_loss=float("nan"))
    step, skip_batches, elapsed_before = 0, 0, 0.0
    if resume and checkpoint_path is not None and Path(checkpoint_path).is_file():
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, skip_batches = state["step"], state["next_batch"]
        generator.set_state(state["pass_generator"])
        random.setstate(state["python_rng"])
        np.random.set_state(state["numpy_rng"])
        torch.set_rng_state(state["torch_rng"])
        result.loss_history = [tuple(entry) for entry in state["loss_history"]]
        result.evaluations = [tuple(entry) for entry in state["evaluations"]]
        elapsed_before = state["wall_seconds"]
        logger.info("resumed from %s at step %d", checkpoint_path, step)

    def evaluate(at_step: int) -> None:
        if eval_fn is None:
            return
        model.eval()
        with torch.inference_mode():
            metrics = dict(eval_fn(model))
        model.train()
        result.evaluations.append((at_step, metrics))
        summary = ", ".join(f"{name}={value:.3f}" for name, value in metrics.items() if isinstance(value, float))
        tqdm.write(f"step {at_step}: {summary}")

    device_type = torch.device(device).type
    started = time.monotonic()
    model.train()
    bar = tqdm(total=steps, initial=step, desc="training", disable=not progress)
    window: list[float] = []
    while step < steps:
        # One pass: a fresh permutation (sampling without replacement); its generator state is
        # what a checkpoint records, with how many of its batches were taken.
        pass_generator = generator.get_state()
        order = torch.randperm(size, generator=generator).tolist()
        batch_starts = range(skip_batches * batch_size, size - batch_size + 1, batch_size)
        skip_batches = 0
        for batch_index, start in enumerate(batch_starts, start=batch_starts.start // batch_size):
            images, texts, groups, classes = collate([dataset[index] for index in order[start:start + batch_size]])
            images, texts = images.to(device), texts.to(device)
            prototypes = None
            if class_names is not None and classes is not None:
                # The module-level generator: seeded and checkpointed with the rest of the state.
                names, concept_targets = _concept_batch(classes, class_names, concepts_per_step, random)  # type: ignore[arg-type]
                prototypes = tokenizer(names).to(device)
            with torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                image_features = model.encode_image(images, normalize=True)
                text_features = _encode_texts(model, text_tower, texts)
                prototype_features = _encode_texts(model, text_tower, prototypes) if prototypes is not None else None
            # The loss stays fp32: bf16 keeps ~3 significant digits, too coarse for logits up
            # to 100 whose differences matter in the second decimal.
            scale = model.logit_scale.exp()
            loss = contrastive_loss(
                image_features.float(),
                text_features.float(),
                scale,
                # SigLIP models learn a logit bias (sigmoid loss); CLIP models have None.
                getattr(model, "logit_bias", None),
                None if groups is None else groups.to(device),
            )
            if prototype_features is not None:
                loss = loss + concept_weight * concept_loss(
                    image_features.float(), prototype_features.float(), scale, concept_targets.to(device)
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip_norm)
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

            step += 1
            window.append(loss.item())
            result.final_loss = window[-1]
            bar.update(1)
            lr_now = scheduler.get_last_lr()[0]
            bar.set_postfix(loss=f"{window[-1]:.3f}", lr=f"{lr_now:.2e}", scale=f"{scale.item():.1f}")
            if step % log_every == 0 or step == steps:
                result.loss_history.append((step, sum(window) / len(window)))
                window = []
            if eval_every and step % eval_every == 0 and step < steps:
                evaluate(step)
            if checkpoint_path is not None and checkpoint_every and step % checkpoint_every == 0 and step < steps:
                _save_training_state(checkpoint_path, model=model, optimizer=optimizer, scheduler=scheduler,
                                     step=step, pass_generator=pass_generator, next_batch=batch_index + 1,
                                     result=result, wall_seconds=elapsed_before + time.monotonic() - started)  # fmt: skip
            if step == steps:
                break
    bar.close()
    result.wall_seconds = elapsed_before + time.monotonic() - started
    evaluate(steps)
    model.eval()
    logger.info("trained %d steps in %.0f s, final loss %.3f", steps, result.wall_seconds, result.final_loss)
    return result
