"""The NumPy CLIP tokeniser gives open_clip's token ids without importing torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import open_clip

from media_index.embedding.clip_tokenizer import ClipTokenizer
from tests.conftest import REPO

TEXTS = [
    "a cute puppy", "可爱的小狗", "红色的汽车 and a red car", "🐶🐱 dog & cat!!", "&amp;lt;b&amp;gt; html",
    "INV-2024-0042 café naïve Ünïcödé", "  Hello\tWORLD \n", "", "don't we'll they're",
    "word " * 100,  # over the context: cut, ending in the end-of-text token
]  # fmt: skip


def test_the_same_ids_as_open_clip() -> None:
    ours = ClipTokenizer()(TEXTS)
    theirs = open_clip.SimpleTokenizer()(TEXTS).numpy()
    assert ours.dtype == np.int64 and ours.shape == (len(TEXTS), 77)
    assert (ours == theirs).all()
    assert ClipTokenizer().encode("a cute puppy") == open_clip.SimpleTokenizer().encode("a cute puppy")


def test_it_imports_no_torch() -> None:
    code = ("import sys; from media_index.embedding.clip_tokenizer import ClipTokenizer; "
            "ClipTokenizer()(['a cute puppy']); print('torch' in sys.modules)")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
