"""A tiny model with Visualized BGE's architecture, built locally for plumbing tests.

It is NOT Visualized BGE: a one-layer BERT (width 768, which Visualized_BGE hard-codes
for bge-base-en-v1.5) with a character vocabulary, and a one-layer EVA02 vision tower at
32 px registered under the name Visualized_BGE asks for ("EVA02-CLIP-B-16"), with random
seeded weights saved in the released file layout (config, tokenizer, one
``Visualized_*.pth``). It exercises the real loading code and the picture, text and
composed paths; its vectors mean nothing, so tests assert only what holds for any model.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

TINY_EVA = {
    "embed_dim": 512,
    "vision_cfg": {
        "image_size": 32, "layers": 1, "width": 768, "head_width": 64, "patch_size": 16, "mlp_ratio": 2.6667,
        "eva_model_name": "eva-clip-b-16-X", "drop_path_rate": 0.0, "xattn": True, "fusedLN": True,
        "rope": True, "pt_hw_seq_len": 16, "intp_freq": True, "naiveswiglu": True, "subln": True,
    },
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 1},
}  # fmt: skip


def build_tiny_visualized_bge(folder: Path, eva_configs: Path, *, seed: int = 0) -> Path:
    import torch
    from FlagEmbedding.visual import modeling
    from FlagEmbedding.visual.eva_clip import add_model_config
    from transformers import BertConfig, BertTokenizer

    from media_index.embedding.visualized_bge_backend import _prepare_eva_clip

    _prepare_eva_clip()  # the real configs first, so the tiny one registered next wins
    eva_configs.mkdir(parents=True, exist_ok=True)
    (eva_configs / "EVA02-CLIP-B-16.json").write_text(json.dumps(TINY_EVA))
    add_model_config(eva_configs)

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase, *string.digits, *"-.,!?'"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    BertConfig(vocab_size=len(vocab), hidden_size=768, num_hidden_layers=1, num_attention_heads=12,
               intermediate_size=256, max_position_embeddings=128).save_pretrained(folder)  # fmt: skip

    torch.manual_seed(seed)
    original = modeling.Visualized_BGE.load_model
    modeling.Visualized_BGE.load_model = lambda self, weight: None  # nothing to load while building
    try:
        model = modeling.Visualized_BGE(model_name_bge="BAAI/bge-base-en-v1.5", model_weight="unused",
                                        from_pretrained=str(folder))  # fmt: skip
    finally:
        modeling.Visualized_BGE.load_model = original
    torch.save(model.state_dict(), folder / "Visualized_base_en_v1.5.pth")
    return folder
