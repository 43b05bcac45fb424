"""manage.py evaluate_demo_model: the committed checkpoint meets its model card."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.slow

# Regression guards a little below what the committed checkpoint measures on this sample
# (2026-12-03: corpus en 0.864, zh 0.854, picture→picture 0.746; everyday 0.892 / 0.888;
# the named queries 0.8-1.0). Retrieval among 141 concepts is easier than among all 1,404
# (0.629 / 0.586 in models/demo-clip/eval.json): these are not the targets.
CORPUS_EN = 0.80
CORPUS_ZH = 0.78
CORPUS_IMAGE = 0.68
EVERYDAY_EN = 0.85
EVERYDAY_ZH = 0.85
NAMED = 0.6
# Twemoji's drawings of the concepts held out of Twemoji training (0.192 / 0.197 measured on
# this sample; the checkpoint never saw Twemoji at all): reported, not a target.
TWEMOJI_HELD_OUT = 0.15


@pytest.fixture(scope="module")
def card() -> dict:
    """Every 10th corpus concept (141 of 1,404) plus the everyday and held-out-style sections,
    the committed file loaded through open_clip's pretrained-weights path, held-out seed."""
    from io import StringIO

    out = StringIO()
    call_command("evaluate_demo_model", "--json", "--stride", "10", stdout=out)
    return json.loads(out.getvalue())


def test_the_corpus_is_found_in_english_and_chinese_on_backgrounds_training_never_used(card) -> None:
    corpus = card["corpus"]
    assert corpus["en_p@5"] >= CORPUS_EN and corpus["zh_p@5"] >= CORPUS_ZH, corpus
    assert corpus["en_top1"] >= 0.6 and corpus["zh_top1"] >= 0.6, corpus
    assert corpus["image_to_image_p@5"] >= CORPUS_IMAGE, corpus


def test_the_everyday_concepts_and_their_named_queries(card) -> None:
    everyday = card["everyday"]
    named = everyday["named_p@5"]
    assert everyday["en_p@5"] >= EVERYDAY_EN and everyday["zh_p@5"] >= EVERYDAY_ZH, everyday
    assert min(named[query] for query in ("a cute puppy", "a red car", "可爱的小狗", "红色的汽车")) >= NAMED, named
    assert everyday["query_to_note_p@5"] >= 0.9


def test_the_held_out_style_is_measured_and_reported(card) -> None:
    style = card["held_out_style"]
    # Another artist's drawings (Noto Color Emoji), never trained on: reported, not a target.
    assert 0 <= style["en_p@5"] <= 1 and style["en_p@5"] < card["everyday"]["en_p@5"]


def test_another_artists_drawings_are_measured_on_concepts_held_out_of_it(card) -> None:
    other_artist = card["twemoji_held_out_concepts"]
    assert other_artist["en_p@5"] >= TWEMOJI_HELD_OUT and other_artist["zh_p@5"] >= TWEMOJI_HELD_OUT, other_artist
    assert other_artist["en_p@5"] < card["corpus"]["en_p@5"]


def test_evaluate_demo_model_names_a_missing_checkpoint(tmp_path) -> None:
    with pytest.raises(CommandError, match="No checkpoint"):
        call_command("evaluate_demo_model", "--checkpoint", str(tmp_path / "none.safetensors"))
