"""Retrieval quality on held-out generated pictures and notes.

The gallery is rendered with a seed the training pool never used, so these numbers measure
recognising new pictures of known concepts, not remembering training pixels. The metrics
are the ones search users feel: is a picture of the concept in the top 5 for
"a cute <concept>" / "可爱的<concept>", and do a note and a picture about the same thing
find each other.
"""

import random
from collections.abc import Sequence

import torch
from PIL import Image
from torch import nn

from media_index.synthetic.captions import note
from media_index.synthetic.concepts import Concept
from media_index.synthetic.render import NOTO_MODEL_BACKGROUNDS, SpriteStyle, render_scene

from .train import Preprocess, Tokenizer

# Default held-out seed: far from the small seeds used for training pools.
HELD_OUT_SEED = 1_000_003


# The queries the acceptance names, plus more colours: (query, language, concept key, colour).
# A picture is relevant when it shows the concept and, where a colour is named, in that colour.
NAMED_QUERIES: tuple[tuple[str, str, str, str | None], ...] = (
    ("a cute puppy", "en", "dog", None),
    ("puppy", "en", "dog", None),
    ("cute kitten", "en", "cat", None),
    ("a red car", "en", "car", "red"),
    ("a blue car", "en", "car", "blue"),
    ("a yellow car", "en", "car", "yellow"),
    ("a green apple", "en", "apple", "green"),
    ("a red apple", "en", "apple", "red"),
    ("可爱的小狗", "zh", "dog", None),
    ("小狗", "zh", "dog", None),
    ("红色的汽车", "zh", "car", "red"),
    ("蓝色的汽车", "zh", "car", "blue"),
    ("绿色的苹果", "zh", "apple", "green"),
)


def en_query(concept: Concept) -> str:
    return f"a cute {concept.en[0]}"


def zh_query(concept: Concept) -> str:
    return f"可爱的{concept.zh[0]}"


@torch.inference_mode()
def _embed_texts(model: nn.Module, tokenizer: Tokenizer, texts: Sequence[str], batch_size: int) -> torch.Tensor:
    chunks = [
        model.encode_text(tokenizer(list(texts[start:start + batch_size])), normalize=True).float()
        for start in range(0, len(texts), batch_size)
    ]
    return torch.cat(chunks)


@torch.inference_mode()
def _embed_images(
    model: nn.Module, preprocess: Preprocess, images: Sequence[Image.Image], batch_size: int
) -> torch.Tensor:
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = torch.stack([preprocess(image) for image in images[start:start + batch_size]])
        chunks.append(model.encode_image(batch, normalize=True).float())
    return torch.cat(chunks)


def _precision_recall_at_k(
    queries: torch.Tensor, gallery: torch.Tensor, query_labels: Sequence[str], gallery_labels: Sequence[str], k: int
) -> tuple[float, float]:
    """Mean precision@k and recall@k when an item is relevant iff its label equals the query's."""
    top = (queries @ gallery.T).topk(min(k, gallery.shape[0]), dim=1).indices
    precisions, recalls = [], []
    for row, label in enumerate(query_labels):
        relevant = sum(1 for other in gallery_labels if other == label)
        hits = sum(1 for index in top[row].tolist() if gallery_labels[index] == label)
        precisions.append(hits / k)
        recalls.append(hits / relevant if relevant else 0.0)
    return sum(precisions) / len(precisions), sum(recalls) / len(recalls)


def held_out_gallery(
    concepts: Sequence[Concept], *, images_per_concept: int, seed: int, image_size: int,
    style: SpriteStyle = "noto", backgrounds: Sequence[str] = NOTO_MODEL_BACKGROUNDS,
) -> tuple[list[Image.Image], list[str], list[str | None]]:
    """Single-object pictures of every concept, rendered from ``seed``, with their labels
    and the object's colour name (None where it has none)."""
    images, labels, colours = [], [], []
    for index in range(images_per_concept):
        for position, concept in enumerate(concepts):
            picture, colour = render_scene([concept], seed * 7919 + index * len(concepts) + position, size=image_size,
                                           style=style, backgrounds=backgrounds)  # fmt: skip
            images.append(picture)
            labels.append(concept.key)
            colours.append(colour[0])
    return images, labels, colours


def colour_gallery(
    concepts: Sequence[Concept], *, images_per_variant: int, seed: int, image_size: int,
    style: SpriteStyle = "noto", backgrounds: Sequence[str] = NOTO_MODEL_BACKGROUNDS,
) -> tuple[list[Image.Image], list[tuple[str, str | None]]]:
    """``images_per_variant`` pictures of every coloured emoji (every red car, blue car...),
    labelled (concept key, colour), so each colour query has enough relevant pictures."""
    images, labels = [], []
    for position, concept in enumerate(concepts):
        for variant, colour in enumerate(concept.colours):
            if colour is None:
                continue
            for index in range(images_per_variant):
                picture_seed = (seed + 17) * 104_729 + (position * 16 + variant) * 1_000 + index
                picture, colours = render_scene([concept], picture_seed, size=image_size, variants=[variant],
                                                style=style, backgrounds=backgrounds)  # fmt: skip
                images.append(picture)
                labels.append((concept.key, colours[0]))
    return images, labels


def _named_query_precision(
    queries: torch.Tensor, named: Sequence[tuple[str, str, str, str | None]], gallery: torch.Tensor,
    labels: Sequence[tuple[str, str | None]], k: int,
) -> dict[str, float]:
    top = (queries @ gallery.T).topk(min(k, gallery.shape[0]), dim=1).indices
    scores = {}
    for row, (text, _, key, colour) in enumerate(named):
        hits = sum(
            1 for index in top[row].tolist()
            if labels[index][0] == key and (colour is None or labels[index][1] == colour)
        )
        scores[text] = hits / k
    return scores


def evaluate_retrieval(
    model: nn.Module,
    preprocess: Preprocess,
    tokenizer: Tokenizer,
    concepts: Sequence[Concept],
    *,
    seed: int = HELD_OUT_SEED,
    image_size: int = 64,
    images_per_concept: int = 5,
    notes_per_concept: int = 6,
    k: int = 5,
    batch_size: int = 128,
    per_concept: bool = False,
    style: SpriteStyle = "noto",
    backgrounds: Sequence[str] = NOTO_MODEL_BACKGROUNDS,
    named_queries: bool = True,
) -> dict:
    """Retrieval metrics (floats in [0, 1]) on a held-out gallery, keyed by name.

    - ``en_p@k``/``en_r@k``, ``zh_p@k``/``zh_r@k``: one query per concept ("a cute puppy",
      "可爱的小狗") over the picture gallery (``images_per_concept`` pictures per concept;
      with the default of k pictures, precision and recall coincide and 1.0 means every
      picture of the concept ranks above every other picture).
    - ``en_top1``/``zh_top1``: each picture's nearest query names its concept
      (zero-shot classification).
    - ``note_to_image_p@k``: notes (half English, half Chinese) as queries over the pictures.
    - ``image_to_note_p@k``: pictures as queries over the notes.
    - ``query_to_note_p@k``: the English and Chinese queries over the notes (text to text).
    - ``image_to_image_p@k``: new pictures (another seed) as queries over the gallery;
      relevant = same concept.
    - ``named_p@k``: {query: p@k} for ``NAMED_QUERIES`` (only those whose concepts are
      among ``concepts``) over the gallery plus ``colour_gallery``; colour queries count
      only pictures in that colour. ``named_en_p@k`` / ``named_zh_p@k`` are their means.
    With ``per_concept``, adds ``per_concept``: {key: {"en": p@k, "zh": p@k}} for diagnosis.
    """
    was_training = model.training
    model.eval()
    drawn = {"style": style, "backgrounds": backgrounds}
    images, image_labels, image_colours = held_out_gallery(
        concepts, images_per_concept=images_per_concept, seed=seed, image_size=image_size, **drawn
    )
    rng = random.Random(f"notes:{seed}")
    notes, note_labels = [], []
    for concept in concepts:
        for index in range(notes_per_concept):
            notes.append(note(concept, rng, "en" if index % 2 == 0 else "zh"))
            note_labels.append(concept.key)
    keys = [concept.key for concept in concepts]

    image_vectors = _embed_images(model, preprocess, images, batch_size)
    en_vectors = _embed_texts(model, tokenizer, [en_query(concept) for concept in concepts], batch_size)
    zh_vectors = _embed_texts(model, tokenizer, [zh_query(concept) for concept in concepts], batch_size)
    note_vectors = _embed_texts(model, tokenizer, notes, batch_size)

    metrics: dict = {}
    for language, vectors in (("en", en_vectors), ("zh", zh_vectors)):
        precision, recall = _precision_recall_at_k(vectors, image_vectors, keys, image_labels, k)
        metrics[f"{language}_p@{k}"] = precision
        metrics[f"{language}_r@{k}"] = recall
        predicted = (image_vectors @ vectors.T).argmax(dim=1).tolist()
        correct = sum(keys[guess] == label for guess, label in zip(predicted, image_labels))
        metrics[f"{language}_top1"] = correct / len(image_labels)
    query_vectors = torch.cat([en_vectors, zh_vectors])
    for name, queries, query_labels, items, item_labels in (
        ("note_to_image", note_vectors, note_labels, image_vectors, image_labels),
        ("image_to_note", image_vectors, image_labels, note_vectors, note_labels),
        ("query_to_note", query_vectors, keys + keys, note_vectors, note_labels),
    ):
        metrics[f"{name}_p@{k}"], _ = _precision_recall_at_k(queries, items, query_labels, item_labels, k)

    query_images, query_labels_i2i, _ = held_out_gallery(
        concepts, images_per_concept=1, seed=seed + 1, image_size=image_size, **drawn
    )
    query_image_vectors = _embed_images(model, preprocess, query_images, batch_size)
    metrics[f"image_to_image_p@{k}"], _ = _precision_recall_at_k(
        query_image_vectors, image_vectors, query_labels_i2i, image_labels, k
    )

    named = [entry for entry in NAMED_QUERIES if entry[2] in set(keys)] if named_queries else []
    if named:
        coloured, coloured_labels = colour_gallery(
            concepts, images_per_variant=images_per_concept, seed=seed, image_size=image_size, **drawn
        )
        gallery = image_vectors
        if coloured:
            gallery = torch.cat([image_vectors, _embed_images(model, preprocess, coloured, batch_size)])
        labels = list(zip(image_labels, image_colours)) + coloured_labels
        named_vectors = _embed_texts(model, tokenizer, [text for text, *_ in named], batch_size)
        scores = _named_query_precision(named_vectors, named, gallery, labels, k)
        metrics[f"named_p@{k}"] = scores
        for language in ("en", "zh"):
            values = [scores[text] for text, lang, *_ in named if lang == language]
            if values:
                metrics[f"named_{language}_p@{k}"] = sum(values) / len(values)

    if per_concept:
        metrics["per_concept"] = {}
        for index, concept in enumerate(concepts):
            scores = {}
            for language, vectors in (("en", en_vectors), ("zh", zh_vectors)):
                scores[language], _ = _precision_recall_at_k(
                    vectors[index:index + 1], image_vectors, [concept.key], image_labels, k
                )
            metrics["per_concept"][concept.key] = scores
    model.train(was_training)
    return metrics
