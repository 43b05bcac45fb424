"""Fetch the configured model's weights into MODEL_DIR (the only command that uses the network)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from media_index.embedding.bge_m3_backend import bge_m3_dir, resolve_bge_m3
from media_index.embedding.weights import DEMO_PRETRAINED, HUB_WEIGHT_FILES, open_clip_dir

BGE_M3_REPO = "BAAI/bge-m3"
# The released repository also holds ONNX exports and images we do not use.
BGE_M3_FILES = ["config.json", "colbert_linear.pt", "sparse_linear.pt", "tokenizer.json", "tokenizer_config.json",
                "sentencepiece.bpe.model", "special_tokens_map.json"]
VISUALIZED_BGE_REPO, VISUALIZED_BGE_WEIGHTS = "BAAI/bge-visualized", "Visualized_base_en_v1.5.pth"
VISUALIZED_BGE_TEXT_REPO = "BAAI/bge-base-en-v1.5"
VISUALIZED_BGE_TEXT_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                             "special_tokens_map.json"]
# One weights file is enough: the first the repository has.
BGE_M3_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


class Command(BaseCommand):
    help = "Download the configured open_clip weights (OPEN_CLIP_MODEL / OPEN_CLIP_PRETRAINED) into MODEL_DIR."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--model", default=None, help="open_clip architecture (default: OPEN_CLIP_MODEL)")
        parser.add_argument("--pretrained", default=None, help="pretrained tag (default: OPEN_CLIP_PRETRAINED)")
        parser.add_argument("--bge-m3", action="store_true",
                            help=f"fetch {BGE_M3_REPO} (the text-only space) into MODEL_DIR/bge_m3/ instead")  # fmt: skip
        parser.add_argument("--visualized-bge", action="store_true",
                            help="fetch Visualized BGE (base-en-v1.5) into MODEL_DIR/visualized_bge/ instead")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        import open_clip

        if options["bge_m3"]:
            self._download_bge_m3()
            return
        if options["visualized_bge"]:
            self._download_visualized_bge()
            return

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

    def _fetch_folder(self, label: str, target: Path, fetch: Callable[[], None], success: str) -> None:
        """Run ``fetch`` (hub downloads into ``target``) with the same advice for any failure."""
        target.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"Downloading {label} into {target} ...")
        try:
            fetch()
        except Exception as exc:  # noqa: BLE001 - every network failure gets the same advice
            raise CommandError(
                f"Could not download {label}: {type(exc).__name__}: {exc}\n"
                f"Download it on a machine with access to the model hub, then copy the folder to {target}."
            ) from exc
        self.stdout.write(self.style.SUCCESS(f"Saved {label} in {target}. {success}"))

    def _download_bge_m3(self) -> None:
        target = bge_m3_dir(settings.TEXT_EMBEDDING_MODEL)

        def fetch() -> None:
            from huggingface_hub import hf_hub_download, snapshot_download
            from huggingface_hub.errors import EntryNotFoundError

            snapshot_download(BGE_M3_REPO, local_dir=target, allow_patterns=BGE_M3_FILES)
            for filename in BGE_M3_WEIGHTS:
                try:
                    hf_hub_download(BGE_M3_REPO, filename, local_dir=target)
                    break
                except EntryNotFoundError:
                    continue
            resolve_bge_m3(str(target))

        self._fetch_folder(f"{BGE_M3_REPO} (about 2.3 GB)", target, fetch,
                           "Set TEXT_EMBEDDING_BACKEND=bge_m3 to index notes with it.")  # fmt: skip

    def _download_visualized_bge(self) -> None:
        from media_index.embedding.visualized_bge_backend import resolve_visualized_bge, visualized_bge_dir

        target = visualized_bge_dir(settings.VISUALIZED_BGE_MODEL)

        def fetch() -> None:
            from huggingface_hub import hf_hub_download, snapshot_download

            snapshot_download(VISUALIZED_BGE_TEXT_REPO, local_dir=target, allow_patterns=VISUALIZED_BGE_TEXT_FILES)
            hf_hub_download(VISUALIZED_BGE_REPO, VISUALIZED_BGE_WEIGHTS, local_dir=target)
            resolve_visualized_bge(str(target))

        self._fetch_folder(f"Visualized BGE ({VISUALIZED_BGE_TEXT_REPO} + {VISUALIZED_BGE_WEIGHTS})", target, fetch,
                           "Use it with EMBEDDING_BACKEND=visualized_bge, or 'manage.py reindex --backend "
                           "visualized_bge' to switch an existing collection.")  # fmt: skip
