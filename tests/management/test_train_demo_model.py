"""manage.py train_demo_model as a user runs it: a small step count, the real loop, real files."""

from __future__ import annotations

import json

import open_clip
import pytest
from django.core.management import call_command

from media_index.embedding.model_configs import DEMO_MODEL_NAME, register_model_configs

pytestmark = pytest.mark.slow


def test_train_demo_model_smoke_run_writes_a_loadable_checkpoint_and_metrics(tmp_path, capsys) -> None:
    call_command("train_demo_model", "--out", str(tmp_path), "--steps", "4", "--batch-size", "16",
                 "--num-images", "96", "--eval-every", "0")  # fmt: skip

    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["training"]["steps"] == 4
    assert 0 <= report["metrics"]["en_p@5"] <= 1
    register_model_configs()
    model, _, _ = open_clip.create_model_and_transforms(
        DEMO_MODEL_NAME, pretrained=str(tmp_path / "demo-clip.safetensors")
    )
    assert model is not None
    assert "Saved" in capsys.readouterr().out
