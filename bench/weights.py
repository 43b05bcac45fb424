"""ViT-B-32 with seeded random weights: the real model's shapes and speed, no meaningful
vectors (no pretrained weights can be downloaded here). Shared by the model, memory,
ingest and search-http suites."""

from __future__ import annotations

from pathlib import Path

RANDOM_VIT_B_32_TAG = "random-for-benchmark"


def random_vit_b_32_checkpoint(folder: Path) -> Path:
    """Save (once) ViT-B-32 with seeded random weights in ``folder``; its path, which
    OPEN_CLIP_PRETRAINED can name. Seeded: the same weights each run, so an ONNX export
    cached under their hash is reused."""
    import open_clip
    import torch

    path = folder / "random-vit-b-32.pt"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        torch.save(open_clip.create_model("ViT-B-32", pretrained=None).state_dict(), path)
    return path
