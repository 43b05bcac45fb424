"""download_models: where no network exists it fails with a clear message (network is the boundary)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command


def test_the_demo_model_needs_no_download(capsys) -> None:
    call_command("download_models", "--pretrained", "demo")

    assert "nothing to download" in capsys.readouterr().out


def test_an_unknown_tag_lists_the_known_ones() -> None:
    with pytest.raises(CommandError, match="laion2b_s34b_b79k"):
        call_command("download_models", "--model", "ViT-B-32", "--pretrained", "no-such-tag")


def test_without_network_it_says_what_to_do(settings, tmp_path, monkeypatch) -> None:
    settings.MODEL_DIR = tmp_path

    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr("huggingface_hub.hf_hub_download", no_network)

    with pytest.raises(CommandError) as error:
        call_command("download_models", "--model", "ViT-B-32", "--pretrained", "laion2b_s34b_b79k")

    message = str(error.value)
    assert "Network is unreachable" in message
    assert str(tmp_path / "open_clip" / "ViT-B-32__laion2b_s34b_b79k") in message


@pytest.mark.parametrize("flag", ["--bge-m3", "--visualized-bge"])
def test_the_bge_downloads_without_network_say_what_to_do(flag, settings, tmp_path, monkeypatch) -> None:
    import huggingface_hub

    settings.MODEL_DIR = tmp_path

    def offline(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the network boundary
        raise OSError("no route to the hub")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(CommandError, match="copy the folder to"):
        call_command("download_models", flag)
