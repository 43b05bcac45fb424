"""ONNX Runtime inference for open_clip encoders: exported once, cached in MODEL_DIR.

``EMBEDDING_RUNTIME=onnx`` runs both encoders with ONNX Runtime in fp32 (the same
vectors as PyTorch within 1e-4, checked by the tests); ``onnx-int8`` uses dynamically
quantised weights (int8 matrix multiplications), which bench/ measures for speed and
for retrieval quality before it is recommended. The export needs the PyTorch model
once; the files are keyed by the checkpoint's sha256, so new weights export anew.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

RUNTIMES = ("torch", "onnx", "onnx-int8")
OPSET = 17
IMAGE_FILE, TEXT_FILE = "image.onnx", "text.onnx"


def onnx_dir(model_name: str, checkpoint_sha256: str) -> Path:
    return Path(settings.MODEL_DIR) / "onnx" / f"{model_name}__{checkpoint_sha256[:16]}"


def _int8_name(name: str) -> str:
    return name.replace(".onnx", ".int8.onnx")


def _atomic_export(build: Any, target: Path) -> None:
    """Write to a temporary file and rename: a crash or a concurrent worker never leaves
    a half-written model where another process would load it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(handle)
    try:
        build(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def export_open_clip(model: Any, tokenizer: Any, image_size: int, folder: Path, *, int8: bool) -> Path:
    """Export (if not cached) the image and text encoders of ``model`` to ``folder``;
    with ``int8`` also their dynamically quantised copies. Returns ``folder``."""
    import torch

    class _Image(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return self.model.encode_image(pixels)

    class _Text(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            return self.model.encode_text(tokens)

    examples = {
        IMAGE_FILE: (_Image(), torch.zeros(2, 3, image_size, image_size), "pixels"),
        TEXT_FILE: (_Text(), tokenizer(["an example", "another one"]), "tokens"),
    }
    for name, (module, example, input_name) in examples.items():
        target = folder / name
        if not target.exists():
            logger.info("Exporting %s to ONNX: %s", name, target)

            def build(path: str, module: Any = module, example: Any = example, input_name: str = input_name) -> None:
                # nn.MultiheadAttention's inference fast path (aten::_native_multi_head_attention)
                # has no ONNX form: export the plain attention maths instead.
                fastpath = torch.backends.mha.get_fastpath_enabled()
                torch.backends.mha.set_fastpath_enabled(False)
                try:
                    with torch.no_grad():
                        # The TorchScript exporter: the dynamo one needs onnxscript, not installed here.
                        torch.onnx.export(module.eval(), (example,), path, input_names=[input_name],
                                          output_names=["features"], opset_version=OPSET, dynamo=False,
                                          dynamic_axes={input_name: {0: "batch"}, "features": {0: "batch"}})  # fmt: skip
                finally:
                    torch.backends.mha.set_fastpath_enabled(fastpath)

            _atomic_export(build, target)
        if int8 and not (folder / _int8_name(name)).exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            logger.info("Quantising %s to int8", name)
            _atomic_export(lambda path, source=target: quantize_dynamic(source, path, weight_type=QuantType.QInt8),
                           folder / _int8_name(name))  # fmt: skip
    return folder


class OnnxEncoders:
    """The two exported encoders as ONNX Runtime sessions."""

    def __init__(self, folder: Path, *, int8: bool, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL

        def session(name: str) -> Any:
            path = folder / (_int8_name(name) if int8 else name)
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        self._image, self._text = session(IMAGE_FILE), session(TEXT_FILE)

    def encode_image(self, pixels: np.ndarray) -> np.ndarray:
        return self._image.run(None, {"pixels": pixels.astype(np.float32)})[0]

    def encode_text(self, tokens: np.ndarray) -> np.ndarray:
        return self._text.run(None, {"tokens": tokens.astype(np.int64)})[0]


def load_onnx_encoders(model: Any, tokenizer: Any, image_size: int, model_name: str, checkpoint_sha256: str,
                       runtime: str) -> OnnxEncoders:  # fmt: skip
    """Sessions for ``runtime`` ("onnx" or "onnx-int8"), exporting on first use."""
    if runtime not in RUNTIMES[1:]:
        raise ValueError(f"unknown ONNX runtime {runtime!r}")
    folder = onnx_dir(model_name, checkpoint_sha256)
    int8 = runtime == "onnx-int8"
    export_open_clip(model, tokenizer, image_size, folder, int8=int8)
    return OnnxEncoders(folder, int8=int8)
