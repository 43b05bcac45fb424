"""Running a causal CLIP text tower on padding-trimmed tokens, exactly.

No Django here: the product's open_clip backend and the offline training loop both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class EotPooling:
    """Where a causal text tower reads each row's vector: at its end-of-text token (EOT).

    Cutting the token matrix after the batch's last pooled column is exact, not an
    approximation: the causal mask lets position i attend only to positions <= i, so no
    column after a row's EOT reaches that row's vector. open_clip pads every text to 77
    tokens; a 3-word query needs 5 of them.
    """

    pool_type: str  # "argmax": the EOT id is the row's largest; "eos": the first ``eos_id``
    eos_id: int | None

    def lengths(self, tokens: torch.Tensor) -> torch.Tensor:
        """Each row's length up to and including its pooled (EOT) token."""
        if self.pool_type == "argmax":
            pooled = tokens.argmax(dim=-1)
        else:
            pooled = (tokens == self.eos_id).int().argmax(dim=-1)
        return pooled + 1

    def trim(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens[:, : int(self.lengths(tokens).max())]


def eot_pooled_text_tower(model: Any) -> tuple[Any, EotPooling] | None:
    """``model``'s text tower and its pooling when trimming padding leaves every vector
    unchanged: a causal mask and EOT pooling, as in CLIP. None (keep the full context) for
    bidirectional or pad-masked towers, CoCa's CLS token, 'first'/'last' pooling and
    Hugging Face text towers."""
    import open_clip
    from open_clip.transformer import TextTransformer

    if isinstance(model, open_clip.CLIP):
        tower, pooling = model, EotPooling(model.text_pool_type, model.text_eos_id)
    elif isinstance(text := getattr(model, "text", None), TextTransformer) and text.cls_emb is None:
        tower, pooling = text, EotPooling(text.pool_type, text.eos_id)
    else:
        return None
    # No causal mask (SigLIP-style towers, and their optional pad mask): every token sees the padding.
    if tower.attn_mask is None or pooling.pool_type not in ("argmax", "eos"):
        return None
    return tower, pooling


def encode_text_prefix(tower: Any, pooling: EotPooling, tokens: torch.Tensor) -> torch.Tensor:
    """The text features of ``tower`` (see :func:`eot_pooled_text_tower`) for a token matrix
    shorter than its context length. open_clip 3.3 cannot run one: ``CLIP.encode_text`` adds
    all 77 positional embeddings and both it and ``TextTransformer`` pass the 77x77 causal
    mask; otherwise these are the same operations, and the tests compare the vectors."""
    import torch
    from open_clip.transformer import text_global_pool

    length = tokens.shape[1]
    cast_dtype = tower.transformer.get_cast_dtype()
    x = tower.token_embedding(tokens).to(cast_dtype) + tower.positional_embedding[:length].to(cast_dtype)
    x = tower.ln_final(tower.transformer(x, attn_mask=tower.attn_mask[:length, :length]))
    x = text_global_pool(x, tokens, pooling.pool_type, eos_token_id=pooling.eos_id)
    projection = tower.text_projection
    if projection is None:
        return x
    return projection(x) if isinstance(projection, torch.nn.Linear) else x @ projection
