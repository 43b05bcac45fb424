"""manage.py train_demo_model as a user runs it: a small step count, the real loop, real files."""

from __future__ import annotations

import json

import open_clip
import pytest
from django.core.management import call_command

from media_index.embedding.model_configs import DEMO_MODEL_NAME, register_model_configs

pytestmark = pytest.mark.slow


def test_a_short_run_trains_with_class_proxies_and_reports_every_section(tmp_path, capsys) -> None:
    """End to end on a few corpus concepts: pool rendered in worker processes, the timm
    image tower, the proxy loss, a checkpoint that loads through open_clip, the report card."""
    call_command("train_demo_model", "--out", str(tmp_path),
                 "--steps", "3", "--batch-size", "16", "--num-images", "64", "--concept-limit", "60",
                 "--eval-every", "0", "--checkpoint-every", "2")  # fmt: skip

    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["training"]["proxy_weight"] == 1.0 and report["training"]["num_concepts"] == 60
    # The last section: Twemoji drawings of the corpus concepts (among the 8 after the 52
    # everyday ones) that training never draws in Twemoji's style.
    assert set(report["metrics"]) == {"corpus", "everyday", "corpus_training_backgrounds", "held_out_style",
                                      "twemoji_held_out_concepts"}  # fmt: skip
    assert 0 <= report["metrics"]["corpus"]["en_p@5"] <= 1
    assert (tmp_path / "training-state.pt").is_file()  # the checkpoint of step 2, for --resume
    register_model_configs()
    checkpoint = tmp_path / "demo-clip.safetensors"
    model, _, _ = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=str(checkpoint))
    assert model.visual.trunk.__class__.__name__ == "MobileNetV3"
    assert "Saved" in capsys.readouterr().out
