"""Make FlagEmbedding 1.2.11's Visualized BGE importable: the one packaging gap, fixed at install.

FlagEmbedding 1.2.11 is the last release with Visualized BGE (images in the BGE text
space), but its sdist lacks two things under ``FlagEmbedding/visual/eva_clip/``:

- ``bpe_simple_vocab_16e6.txt.gz``, read when the package is imported. It is the CLIP BPE
  vocabulary, byte for byte the file open_clip ships, so install copies open_clip's.
- ``model_configs/*.json``, the EVA-CLIP architectures. This repository carries the two
  Visualized BGE uses (``media_index/embedding/eva_clip_configs/``) and registers them at
  load time with eva_clip's own ``add_model_config``: nothing is written for that.

``make install`` (and the Dockerfile) runs ``python -m media_index.embedding.eva_clip_setup``
after ``pip install``; it is idempotent and touches nothing else.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path

BPE_NAME = "bpe_simple_vocab_16e6.txt.gz"
CONFIGS_DIR = Path(__file__).resolve().parent / "eva_clip_configs"


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec and spec.origin else None


def eva_clip_bpe_path() -> Path | None:
    """Where FlagEmbedding's eva_clip looks for the BPE file (None: FlagEmbedding absent)."""
    root = _package_dir("FlagEmbedding")
    return None if root is None else root / "visual" / "eva_clip" / BPE_NAME


def install_bpe_vocabulary() -> str:
    """Copy open_clip's BPE file into FlagEmbedding's eva_clip folder if it is missing."""
    target = eva_clip_bpe_path()
    if target is None:
        return "FlagEmbedding is not installed; nothing to do."
    open_clip_dir = _package_dir("open_clip")
    if open_clip_dir is None:
        return "open_clip is not installed; cannot provide the BPE vocabulary."
    source = open_clip_dir / BPE_NAME
    if target.exists():
        if hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest():
            return f"{target} is in place."
        return f"{target} exists and differs from open_clip's; left alone."
    shutil.copyfile(source, target)
    return f"Copied {source} to {target}."


if __name__ == "__main__":
    print(install_bpe_vocabulary())
    sys.exit(0)
