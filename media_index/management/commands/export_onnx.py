"""Export the configured open_clip model to ONNX (fp32 and int8) ahead of first use."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Export the configured open_clip model's encoders to ONNX (and int8) into MODEL_DIR/onnx/, "
            "as EMBEDDING_RUNTIME=onnx / onnx-int8 would on first use.")  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        from dataclasses import replace

        from media_index.embedding.onnx_runtime import onnx_dir
        from media_index.embedding.registry import configured_model, get_embedder

        embedder = get_embedder(replace(configured_model(), runtime="onnx-int8"))
        folder = onnx_dir(embedder.spec.model_name, embedder.spec.checkpoint_sha256)
        for path in sorted(folder.glob("*.onnx")):
            self.stdout.write(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
