"""manage.py finetune as a user runs it: a small step count, the real loop, real files."""

from __future__ import annotations

import open_clip
import pytest
from django.core.management import CommandError, call_command

from media_index.embedding.model_configs import DEMO_MODEL_NAME, register_model_configs
from media_index.synthetic.concepts import CONCEPTS
from media_index.synthetic.render import render_picture

pytestmark = pytest.mark.slow


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
