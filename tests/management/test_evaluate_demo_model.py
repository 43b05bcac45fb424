"""manage.py evaluate_demo_model: the committed checkpoint meets its model card."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.slow


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
