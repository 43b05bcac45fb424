"""CLIP's byte-pair tokeniser in NumPy: the same token ids as open_clip's ``SimpleTokenizer``
(the default "lower" cleaning, truncation to the context), without importing torch.

open_clip's own tokenizer module imports torch at its top, so a web process that embeds
queries with ONNX Runtime (``onnx_embedder``) would load PyTorch just to split words. This
is that class's algorithm (OpenAI CLIP, MIT licence, as carried by open_clip), reading the
vocabulary file open_clip ships; ``tests/embedding/test_clip_tokenizer.py`` compares the ids
with open_clip's on English, Chinese, emoji, punctuation and over-long texts.
"""

from __future__ import annotations

import gzip
import html
import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import ftfy
import numpy as np
import regex

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
SPECIAL_TOKENS = ("<start_of_text>", "<end_of_text>")


def open_clip_vocab_path() -> Path:
    """The BPE merges file inside the installed open_clip package, found without
    importing the package (its ``__init__`` imports torch)."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("open_clip is not installed: its BPE vocabulary is needed")
    return Path(next(iter(spec.submodule_search_locations))) / VOCAB_FILE


@lru_cache
def _bytes_to_unicode() -> dict[int, str]:
    """Printable stand-ins for the 256 byte values (CLIP's reversible byte-level BPE)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, codes), strict=True))


def _pairs(word: tuple[str, ...]) -> set[tuple[str, str]]:
    return set(zip(word, word[1:]))


class ClipTokenizer:
    """Token ids for CLIP text towers: ``<start_of_text>`` + BPE tokens + ``<end_of_text>``,
    zero-padded (or cut, ending in ``<end_of_text>``) to ``context_length``."""

    def __init__(self, context_length: int = 77, vocab_path: Path | None = None) -> None:
        merges_text = gzip.open(vocab_path or open_clip_vocab_path()).read().decode("utf-8").split("\n")
        merges = [tuple(line.split()) for line in merges_text[1 : 49152 - 256 - 2 + 1]]
        vocab = list(_bytes_to_unicode().values())
        vocab += [token + "</w>" for token in vocab]
        vocab += ["".join(merge) for merge in merges]
        vocab += SPECIAL_TOKENS
        self.encoder = {token: index for index, token in enumerate(vocab)}
        self.bpe_ranks = {merge: rank for rank, merge in enumerate(merges)}
        self.cache: dict[str, str] = {token: token for token in SPECIAL_TOKENS}
        self.pattern = regex.compile(
            "|".join(SPECIAL_TOKENS) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE,
        )
        self.sot_token_id, self.eot_token_id = (self.encoder[token] for token in SPECIAL_TOKENS)
        self.context_length = context_length
        self.byte_encoder = _bytes_to_unicode()

    def _bpe(self, token: str) -> str:
        if token in self.cache:
            return self.cache[token]
        word = (*token[:-1], token[-1] + "</w>")
        pairs = _pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            merged: list[str] = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    merged.extend(word[i:])
                    break
                merged.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
            if len(word) == 1:
                break
            pairs = _pairs(word)
        result = " ".join(word)
        self.cache[token] = result
        return result

    @staticmethod
    def _clean(text: str) -> str:
        text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
        return " ".join(text.split()).strip().lower()

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for token in self.pattern.findall(self._clean(text)):
            token = "".join(self.byte_encoder[byte] for byte in token.encode("utf-8"))
            ids.extend(self.encoder[piece] for piece in self._bpe(token).split(" "))
        return ids

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        rows = [[self.sot_token_id, *self.encode(text), self.eot_token_id] for text in texts]
        tokens = np.zeros((len(rows), self.context_length), dtype=np.int64)
        for index, row in enumerate(rows):
            if len(row) > self.context_length:
                row = row[: self.context_length]
                row[-1] = self.eot_token_id
            tokens[index, : len(row)] = row
        return tokens
