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


# Extra texts every item carries when their loss term is on: ``data.Extras`` key -> ``Batch``
# field. (The colour pair is only on single-coloured pictures: see ``_Collate._extras``.)
_EVERY_ITEM_EXTRAS = {"query": "queries", "note": "notes", "view": "views", "other_view": "other_views"}


class _Collate:
    """Turns (picture, caption) pairs into an image batch and a token batch.

    A class rather than a closure so DataLoader workers can pickle it.
    """

    def __init__(self, preprocess: Preprocess, tokenizer: Tokenizer) -> None:
        self.preprocess = preprocess
        self.tokenizer = tokenizer

    def __call__(self, items: Sequence[tuple]) -> "Batch":
        images = torch.stack([self.preprocess(item[0]) for item in items])
        texts = self.tokenizer([item[1] for item in items])
        width = len(items[0])
        return Batch(
            images=images,
            texts=texts,
            groups=torch.tensor([item[2] for item in items]) if width > 2 else None,
            classes=[tuple(item[3]) for item in items] if width > 3 else None,
            image_targets=[item[4] for item in items] if width > 5 else None,
            text_targets=[item[5] for item in items] if width > 5 else None,
            **(self._extras([item[6] for item in items]) if width > 6 else {}),
        )

    def _extras(self, extras: Sequence[Mapping[str, str]]) -> dict:
        """Token batches of the extra loss terms' texts (``data.Extras``)."""
        batch: dict = {}
        for key, name in _EVERY_ITEM_EXTRAS.items():
            if all(key in extra for extra in extras):
                batch[name] = self.tokenizer([extra[key] for extra in extras])
        rows = [row for row, extra in enumerate(extras) if "colour_caption" in extra]
        if rows:
            batch["colour_rows"] = rows
            batch["colour_captions"] = self.tokenizer([extras[row]["colour_caption"] for row in rows])
            batch["colour_negatives"] = self.tokenizer([extras[row]["colour_negative"] for row in rows])
        return batch


@dataclass
class Batch:
    images: torch.Tensor
    texts: torch.Tensor
    groups: torch.Tensor | None = None
    # The class indices each picture shows (the names-based concept loss).
    classes: list[tuple[int, ...]] | None = None
    # Soft (class, weight) targets of each picture and each caption (the proxy loss).
    image_targets: list[tuple[tuple[int, float], ...]] | None = None
    text_targets: list[tuple[tuple[int, float], ...]] | None = None
    # A short query and a note about each picture's first concept (the text-pair loss).
    queries: torch.Tensor | None = None
    notes: torch.Tensor | None = None
    # The single-coloured pictures' rows, their colour captions and the colour-swapped ones.
    colour_rows: list[int] | None = None
    colour_captions: torch.Tensor | None = None
    colour_negatives: torch.Tensor | None = None
    # Two views of one string of arbitrary words per item (the text-view loss).
    views: torch.Tensor | None = None
    other_views: torch.Tensor | None = None


class ClassProxies(nn.Module):
    """One learned unit vector per class, shared by both towers: pictures and captions of a
    class are each pulled to its proxy (cross-entropy over every class at once).

    The proxies are training scaffolding, not part of the model: a checkpoint holds only
    the towers, which meet in the space because each learned to hit the same proxies.
    Against ~1,400 classes this costs one (batch x classes) product per tower, where the
    names-based ``concept_loss`` ran the text tower on hundreds of names every step.
    """

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_classes, dim) / math.sqrt(dim))

    def forward(self) -> torch.Tensor:
        return F.normalize(self.weight, dim=-1)


def _dense_targets(targets: Sequence[Sequence[tuple[int, float]]], num_classes: int) -> torch.Tensor:
    dense = torch.zeros(len(targets), num_classes)
    for row, pairs in enumerate(targets):
        for index, weight in pairs:
            dense[row, index] += weight
    return dense


def proxy_loss(
    features: torch.Tensor, proxies: torch.Tensor, logit_scale: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy of L2-normalised ``features`` over every class proxy (soft targets)."""
    return F.cross_entropy(logit_scale * features @ proxies.T, targets)


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


def text_pair_loss(
    query_features: torch.Tensor, note_features: torch.Tensor, logit_scale: torch.Tensor, concepts: torch.Tensor
) -> torch.Tensor:
    """CLIP's symmetric loss between queries and notes (L2-normalised), the pairs of the
    same concept counting as matches: what dense search over notes needs, a short query
    nearer its concept's notes than any other concept's. Always softmax-based (no bias):
    both sides are text, so SigLIP's sigmoid calibration for pictures does not apply."""
    return contrastive_loss(query_features, note_features, logit_scale, None, concepts)


def hard_negative_loss(
    image_features: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy of each picture between its own caption and one hard negative caption
    (row for row, L2-normalised): the picture must be nearer the caption that is right."""
    logits = logit_scale * torch.stack(
        [(image_features * positives).sum(dim=-1), (image_features * negatives).sum(dim=-1)], dim=1
    )
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))


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
    path: str | Path, *, model: nn.Module, proxies: nn.Module | None, optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler, step: int, pass_generator: torch.Tensor, next_batch: int,
    result: TrainResult, wall_seconds: float,
) -> None:
    """Everything ``train(resume=True)`` needs; written to a temporary file, then renamed, so
    a run killed while saving keeps the previous checkpoint."""
    state = {
        "model": model.state_dict(), "proxies": proxies.state_dict() if proxies is not None else None,
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
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


def _embed_dim(model: nn.Module) -> int:
    """The shared space's dimension (every open_clip model has a text projection)."""
    projection = getattr(model, "text_projection", None)
    if isinstance(projection, torch.Tensor):
        return projection.shape[1]
    if isinstance(projection, nn.Linear):
        return projection.out_features
    return model.encode_text(torch.zeros(1, 77, dtype=torch.long)).shape[-1]


# Captions are encoded in length buckets of this many rows (see ``_encode_texts``).
TEXT_BUCKET_ROWS = 64


def _encode_texts(model: nn.Module, text_tower: tuple | None, tokens: torch.Tensor) -> torch.Tensor:
    """Normalised text features. With a causal EOT-pooled tower, the rows are sorted by
    length and encoded in buckets, each cut after its own longest text: exact (see
    ``EotPooling``), and a batch whose median caption has 15 tokens but whose longest has
    70 (Chinese notes, byte-level tokens) costs about a third of one 70-column pass."""
    if text_tower is None:
        return model.encode_text(tokens, normalize=True)
    tower, pooling = text_tower
    if len(tokens) <= TEXT_BUCKET_ROWS:
        return F.normalize(encode_text_prefix(tower, pooling, pooling.trim(tokens)), dim=-1)
    order = pooling.lengths(tokens).argsort()
    parts = [
        encode_text_prefix(tower, pooling, pooling.trim(tokens[rows]))
        for rows in order.split(TEXT_BUCKET_ROWS)
    ]
    features = torch.empty(len(tokens), parts[0].shape[-1], dtype=parts[0].dtype, device=parts[0].device)
    features[order] = torch.cat(parts)
    return F.normalize(features, dim=-1)


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
    num_classes: int = 0,
    proxy_weight: float = 1.0,
    proxy_lr_scale: float = 10.0,
    text_pair_weight: float = 0.0,
    colour_negative_weight: float = 0.0,
    text_view_weight: float = 0.0,
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

    With ``num_classes`` and a dataset whose items also carry soft class targets for the
    picture and for the caption (``data.GeneratedPairs``), every step adds ``proxy_weight``
    times ``proxy_loss`` of both towers against learned ``ClassProxies`` (learning rate
    ``proxy_lr_scale`` times the towers'); the proxies are saved in the training state, not
    in the model.

    With ``text_pair_weight`` and a dataset whose items also carry a query and a note about
    the picture's first concept (``data.GeneratedPairs(text_pairs=True)``), every step adds
    that times ``text_pair_loss``: queries and notes of the same concept are matches, the
    batch's other notes are not. Picture-caption pairs alone only tie words and notes to
    pictures, and a long fine-tuning on them lets the word-to-note distances drift (the
    demo model's dense "pizza" lost the pizza note; what this term did and did not mend is
    measured in models/demo-clip/README.md, "Stage 4").

    With ``colour_negative_weight`` and items carrying colour captions and their
    colour-swapped twins (``GeneratedPairs(colour_negatives=True)``), every step adds that
    times ``hard_negative_loss`` of each single-coloured picture between the two.

    With ``text_view_weight`` and items carrying two views of a string of arbitrary words
    (``GeneratedPairs(text_views=True)``, ``data.text_views``), every step adds that times
    CLIP's loss between the views (each string its own match): texts the model has no
    concept for stay apart instead of collapsing onto one point.

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
    groups = _param_groups(model, weight_decay)
    proxies: ClassProxies | None = None
    if num_classes:
        proxies = ClassProxies(num_classes, _embed_dim(model)).to(device)
        # Proxies move faster than the towers: each gets a gradient only from its own class's
        # few pictures and captions per step.
        groups.append({"params": list(proxies.parameters()), "weight_decay": 0.0, "lr": lr * proxy_lr_scale})
    optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.98), eps=1e-6)
    warmup = warmup_steps if warmup_steps is not None else max(1, steps // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_cosine(warmup, steps))
    text_tower = eot_pooled_text_tower(model)

    result = TrainResult(steps=steps, wall_seconds=0.0, final_loss=float("nan"))
    step, skip_batches, elapsed_before = 0, 0, 0.0
    if resume and checkpoint_path is not None and Path(checkpoint_path).is_file():
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        if proxies is not None:
            proxies.load_state_dict(state["proxies"])
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

    def encode_extra_texts(first: torch.Tensor, second: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both token batches of an extra loss term in one pass of the text tower (fp32 out)."""
        with torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            features = _encode_texts(model, text_tower, torch.cat([first, second]).to(device))
        return features.float().split(len(first))

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
            batch = collate([dataset[index] for index in order[start:start + batch_size]])
            images, texts = batch.images.to(device), batch.texts.to(device)
            prototypes = None
            if class_names is not None and batch.classes is not None:
                # The module-level generator: seeded and checkpointed with the rest of the state.
                names, concept_targets = _concept_batch(batch.classes, class_names, concepts_per_step, random)  # type: ignore[arg-type]
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
                None if batch.groups is None else batch.groups.to(device),
            )
            if prototype_features is not None:
                loss = loss + concept_weight * concept_loss(
                    image_features.float(), prototype_features.float(), scale, concept_targets.to(device)
                )
            if proxies is not None and batch.image_targets is not None and batch.text_targets is not None:
                anchors = proxies()
                image_targets = _dense_targets(batch.image_targets, num_classes).to(device)
                text_targets = _dense_targets(batch.text_targets, num_classes).to(device)
                loss = loss + proxy_weight * (
                    proxy_loss(image_features.float(), anchors, scale, image_targets)
                    + proxy_loss(text_features.float(), anchors, scale, text_targets)
                ) / 2
            if text_pair_weight and batch.queries is not None and batch.notes is not None and batch.classes:
                query_features, note_features = encode_extra_texts(batch.queries, batch.notes)
                first_concepts = torch.tensor([scene[0] for scene in batch.classes], device=device)
                loss = loss + text_pair_weight * text_pair_loss(
                    query_features, note_features, scale, first_concepts
                )
            if colour_negative_weight and batch.colour_captions is not None and batch.colour_negatives is not None:
                positives, negatives = encode_extra_texts(batch.colour_captions, batch.colour_negatives)
                loss = loss + colour_negative_weight * hard_negative_loss(
                    image_features[batch.colour_rows].float(), positives, negatives, scale
                )
            if text_view_weight and batch.views is not None and batch.other_views is not None:
                first_views, second_views = encode_extra_texts(batch.views, batch.other_views)
                loss = loss + text_view_weight * contrastive_loss(first_views, second_views, scale)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip_norm)
                if proxies is not None:
                    nn.utils.clip_grad_norm_(proxies.parameters(), grad_clip_norm)
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
                _save_training_state(checkpoint_path, model=model, proxies=proxies, optimizer=optimizer, scheduler=scheduler,
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
