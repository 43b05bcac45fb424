"""Fetch the configured model's weights into MODEL_DIR (the only command that uses the network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from media_index.embedding.weights import DEMO_PRETRAINED, HUB_WEIGHT_FILES, open_clip_dir


class Command(BaseCommand):
    help = "Download the configured open_clip weights (OPEN_CLIP_MODEL / OPEN_CLIP_PRETRAINED) into MODEL_DIR."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--model", default=None, help="open_clip architecture (default: OPEN_CLIP_MODEL)")
        parser.add_argument("--pretrained", default=None, help="pretrained tag (default: OPEN_CLIP_PRETRAINED)")

    def handle(self, *args: Any, **options: Any) -> None:
        import open_clip

        model_name = options["model"] or settings.OPEN_CLIP_MODEL
        pretrained = options["pretrained"] or settings.OPEN_CLIP_PRETRAINED
        if pretrained == DEMO_PRETRAINED:
            self.stdout.write("The demo model ships with the repository (models/demo-clip/); nothing to download.")
            return
        cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
        if not cfg:
            known = ", ".join(open_clip.list_pretrained_tags_by_model(model_name)) or "none"
            raise CommandError(f"open_clip knows no tag '{pretrained}' for '{model_name}'. Known tags: {known}.")
        target = open_clip_dir(model_name, pretrained)
        target.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"Downloading {model_name}/{pretrained} into {target} ...")
        try:
            path = self._download(cfg, target)
        except Exception as exc:  # noqa: BLE001 - every network failure gets the same advice
            raise CommandError(
                f"Could not download {model_name}/{pretrained}: {type(exc).__name__}: {exc}\n"
                f"This machine may have no access to the model hub. Download on a machine that has, "
                f"then copy the folder {target} to the same place under MODEL_DIR here."
            ) from exc
        self.stdout.write(self.style.SUCCESS(f"Saved {path} ({path.stat().st_size / 1e6:.0f} MB)."))

    def _download(self, cfg: dict[str, Any], target: Path) -> Path:
        if cfg.get("hf_hub"):
            from huggingface_hub import hf_hub_download
            from huggingface_hub.errors import EntryNotFoundError

            repo_id = cfg["hf_hub"].rstrip("/")
            for filename in HUB_WEIGHT_FILES:
                try:
                    return Path(hf_hub_download(repo_id, filename, local_dir=target))
                except EntryNotFoundError:
                    continue
            raise FileNotFoundError(f"{repo_id} has none of {', '.join(HUB_WEIGHT_FILES)}")
        import urllib.request

        destination = target / Path(cfg["url"]).name
        urllib.request.urlretrieve(cfg["url"], destination)  # noqa: S310 - URL from open_clip's own table
        return destination
