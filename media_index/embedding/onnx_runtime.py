"""ONNX Runtime inference for open_clip encoders: exported once, cached in MODEL_DIR.

``EMBEDDING_RUNTIME=onnx`` runs both encoders with ONNX Runtime in fp32 (the same
vectors as PyTorch within 1e-4, checked by the tests); ``onnx-int8`` uses dynamically
quantised weights (int8 matrix multiplications), which bench/ measures for speed and
for retrieval quality before it is recommended. The export needs the PyTorch model
once; the files are keyed by the checkpoint's sha256 and EXPORT_VERSION, so new
weights or a new export format export anew.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

RUNTIMES = ("torch", "onnx", "onnx-int8")
OPSET = 17
IMAGE_FILE, TEXT_FILE = "image.onnx", "text.onnx"
# Part of the cache folder's name: a change to what is exported must not load old files.
# 2: the text encoder takes any token length up to the context (padding trimmed, see
# open_clip_backend.EotPooling); the unversioned folders before it fixed the length at 77.
EXPORT_VERSION = 2


def onnx_dir(model_name: str, checkpoint_sha256: str) -> Path:
    return Path(settings.MODEL_DIR) / "onnx" / f"{model_name}__{checkpoint_sha256[:16]}__v{EXPORT_VERSION}"


def int8_name(name: str) -> str:
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


@contextmanager
def _length_free_attention(model: Any) -> Iterator[None]:
    """Swap ``model``'s nn.MultiheadAttention layers, for an export, for the same maths
    written without a fixed sequence length: the TorchScript exporter bakes the traced
    length into nn.MultiheadAttention's reshapes (pytorch/pytorch#120075, #122321), so a
    text encoder exported at 77 tokens would fail on any other length."""
    import torch
    from torch.nn import functional

    class Attention(torch.nn.Module):
        def __init__(self, attn: torch.nn.MultiheadAttention) -> None:
            super().__init__()
            self.attn = attn

        def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, need_weights: bool = False,
                    attn_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:  # fmt: skip
            attn = self.attn
            biases = attn.in_proj_bias.chunk(3) if attn.in_proj_bias is not None else (None, None, None)
            q, k, v = (functional.linear(x, weight, bias).unflatten(-1, (attn.num_heads, -1)).transpose(1, 2)
                       for x, weight, bias in zip((query, key, value), attn.in_proj_weight.chunk(3), biases))  # fmt: skip
            out = functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
            return attn.out_proj(out.transpose(1, 2).flatten(2)), None

    swapped = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
               if isinstance(child, torch.nn.MultiheadAttention) and child.batch_first and child._qkv_same_embed_dim
               and child.bias_k is None and not child.add_zero_attn]  # fmt: skip
    for parent, name, child in swapped:
        setattr(parent, name, Attention(child))
    try:
        yield
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)


def export_open_clip(model: Any, tokenizer: Any, image_size: int, folder: Path, *, int8: bool,
                     encode_text: Callable[[Any], Any] | None = None) -> Path:  # fmt: skip
    """Export (if not cached) the image and text encoders of ``model`` to ``folder``;
    with ``int8`` also their dynamically quantised copies. Returns ``folder``.

    ``encode_text`` (``open_clip_backend.encode_text_prefix``) replaces ``model.encode_text``
    for a causal text tower whose tokens the backend trims: the text encoder then takes any
    length up to the context. Without it, 77 tokens as open_clip pads them."""
    import torch

    text_encoder = encode_text or model.encode_text

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
            return text_encoder(tokens)

    text_axes = {0: "batch", 1: "length"} if encode_text is not None else {0: "batch"}
    examples = {
        IMAGE_FILE: (_Image(), torch.zeros(2, 3, image_size, image_size), "pixels", {0: "batch"}),
        TEXT_FILE: (_Text(), tokenizer(["an example", "another one"]), "tokens", text_axes),
    }
    for name, (module, example, input_name, axes) in examples.items():
        target = folder / name
        if not target.exists():
            logger.info("Exporting %s to ONNX: %s", name, target)

            def build(path: str, module: Any = module, example: Any = example, input_name: str = input_name,
                      axes: dict[int, str] = axes) -> None:  # fmt: skip
                # nn.MultiheadAttention's inference fast path (aten::_native_multi_head_attention)
                # has no ONNX form: export the plain attention maths instead.
                fastpath = torch.backends.mha.get_fastpath_enabled()
                torch.backends.mha.set_fastpath_enabled(False)
                try:
                    # A dynamic length (axis 1) needs attention that does not bake in the traced one.
                    with torch.no_grad(), _length_free_attention(model) if 1 in axes else nullcontext():
                        # The TorchScript exporter: the dynamo one needs onnxscript, not installed here.
                        torch.onnx.export(module.eval(), (example,), path, input_names=[input_name],
                                          output_names=["features"], opset_version=OPSET, dynamo=False,
                                          dynamic_axes={input_name: axes, "features": {0: "batch"}})  # fmt: skip
                finally:
                    torch.backends.mha.set_fastpath_enabled(fastpath)

            _atomic_export(build, target)
        if int8 and not (folder / int8_name(name)).exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            logger.info("Quantising %s to int8", name)
            _atomic_export(lambda path, source=target: quantize_dynamic(source, path, weight_type=QuantType.QInt8),
                           folder / int8_name(name))  # fmt: skip
    return folder


class OnnxEncoders:
    """The two exported encoders as ONNX Runtime sessions, each opened on its first use: a
    web process that only ever embeds words never holds the image encoder (for ViT-B-32,
    most of the weights)."""

    def __init__(self, folder: Path, *, int8: bool, threads: int | None = None) -> None:
        self._folder, self._int8, self._threads = folder, int8, threads
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _session(self, name: str) -> Any:
        session = self._sessions.get(name)
        if session is not None:
            return session
        import onnxruntime as ort

        with self._lock:
            if name not in self._sessions:
                options = ort.SessionOptions()
                if self._threads:
                    options.intra_op_num_threads = self._threads
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                path = self._folder / (int8_name(name) if self._int8 else name)
                self._sessions[name] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            return self._sessions[name]

    def encode_image(self, pixels: np.ndarray) -> np.ndarray:
        return self._session(IMAGE_FILE).run(None, {"pixels": pixels.astype(np.float32)})[0]

    def encode_text(self, tokens: np.ndarray) -> np.ndarray:
        return self._session(TEXT_FILE).run(None, {"tokens": tokens.astype(np.int64)})[0]


def load_onnx_encoders(model: Any, tokenizer: Any, image_size: int, model_name: str, checkpoint_sha256: str,
                       runtime: str, *, encode_text: Callable[[Any], Any] | None = None) -> OnnxEncoders:  # fmt: skip
    """Sessions for ``runtime`` ("onnx" or "onnx-int8"), exporting on first use."""
    if runtime not in RUNTIMES[1:]:
        raise ValueError(f"unknown ONNX runtime {runtime!r}")
    folder = onnx_dir(model_name, checkpoint_sha256)
    int8 = runtime == "onnx-int8"
    export_open_clip(model, tokenizer, image_size, folder, int8=int8, encode_text=encode_text)
    return OnnxEncoders(folder, int8=int8)
