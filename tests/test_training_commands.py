"""train_demo_model and finetune as a user runs them: small step counts, real loop, real files."""

from __future__ import annotations

import json

import open_clip
import pytest
from django.core.management import CommandError, call_command

from media_index.embedding.model_configs import DEMO_MODEL_NAME, register_model_configs
from media_index.training.concepts import CONCEPTS
from media_index.training.render import render_picture

pytestmark = pytest.mark.slow


def test_train_demo_model_smoke_run_writes_a_loadable_checkpoint_and_metrics(tmp_path, capsys) -> None:
    call_command("train_demo_model", "--out", str(tmp_path), "--steps", "4", "--batch-size", "16",
                 "--num-images", "96", "--eval-every", "0")  # fmt: skip

    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["training"]["steps"] == 4
    assert 0 <= report["metrics"]["en_p@5"] <= 1
    register_model_configs()
    model, _, _ = open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=str(tmp_path / "demo-clip.safetensors"))
    assert model is not None
    assert "Saved" in capsys.readouterr().out


def test_finetune_adapts_the_demo_model_to_pairs_from_a_csv(tmp_path) -> None:
    rows = ["image,caption"]
    for index, concept in enumerate(CONCEPTS[:6]):
        render_picture([concept], seed=50_000 + index, size=64).save(tmp_path / f"{concept.key}.png")
        rows.append(f"{concept.key}.png,a photo of my {concept.en[0]}")
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "tuned.safetensors"

    call_command("finetune", "--pairs", str(tmp_path / "pairs.csv"), "--model", "demo-clip", "--pretrained", "demo",
                 "--steps", "3", "--batch-size", "6", "--out", str(out))  # fmt: skip

    register_model_configs()
    open_clip.create_model_and_transforms(DEMO_MODEL_NAME, pretrained=str(out))
    assert out.stat().st_size > 1_000_000


def test_finetune_explains_a_broken_pairs_file(tmp_path) -> None:
    (tmp_path / "pairs.csv").write_text("image,caption\nmissing.png,a dog\n")

    with pytest.raises(CommandError, match="no image file"):
        call_command("finetune", "--pairs", str(tmp_path / "pairs.csv"), "--pretrained", "demo")


@pytest.mark.slow
def test_evaluate_demo_model_meets_the_model_cards_figures_on_the_committed_checkpoint(capsys) -> None:
    # The committed checkpoint, loaded through open_clip's pretrained-weights path, on pictures
    # rendered with the held-out seed: the acceptance's named queries, colours included.
    call_command("evaluate_demo_model", "--json")
    metrics = json.loads(capsys.readouterr().out)

    named = metrics["named_p@5"]
    assert min(named[query] for query in ("a cute puppy", "puppy", "a red car")) >= 0.9, named
    assert min(named[query] for query in ("可爱的小狗", "红色的汽车")) >= 0.8, named
    assert metrics["image_to_image_p@5"] >= 0.9
    assert metrics["query_to_note_p@5"] >= 0.9
    assert metrics["en_p@5"] >= 0.9 and metrics["zh_p@5"] >= 0.9


def test_evaluate_demo_model_names_a_missing_checkpoint(tmp_path) -> None:
    with pytest.raises(CommandError, match="No checkpoint"):
        call_command("evaluate_demo_model", "--checkpoint", str(tmp_path / "none.safetensors"))
