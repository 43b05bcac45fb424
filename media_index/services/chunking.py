"""Splitting notes into pieces that fit a model's token limit, never silently cutting text.

Chunks follow paragraph and sentence boundaries (Chinese punctuation too); a
sentence longer than the limit is split on spaces, then on characters. Each
chunk carries its character span so results can show the part that matched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Sentence ends: Latin and CJK full stops, question and exclamation marks,
# semicolons, and line breaks (paragraphs and list items).
_SENTENCE_END = re.compile(r"[.!?;。！？；…]+[\"')\]」』）]*\s*|\n+")
# The previous chunk's last sentence is repeated when it is this short or
# shorter (in tokens), so a statement that straddles two chunks is found in both.
OVERLAP_MAX_TOKENS = 24


@dataclass(frozen=True)
class Chunk:
    text: str
    start: int
    end: int


def _sentences(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def _split_long(text: str, start: int, end: int, fits: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Split one over-long sentence into pieces that fit, on spaces when possible."""
    pieces: list[tuple[int, int]] = []
    piece_start = start
    while piece_start < end:
        # Binary search for the longest prefix that fits.
        low, high = piece_start + 1, end
        while low < high:
            middle = (low + high + 1) // 2
            if fits(text[piece_start:middle]):
                low = middle
            else:
                high = middle - 1
        cut = low
        if cut < end:
            space = text.rfind(" ", piece_start + 1, cut)
            if space > piece_start + (cut - piece_start) // 2:
                cut = space + 1
        pieces.append((piece_start, cut))
        piece_start = cut
    return pieces


def chunk_text(text: str, *, max_tokens: int, count_tokens: Callable[[str], int]) -> list[Chunk]:
    """Pack sentences greedily into chunks of at most ``max_tokens`` tokens.

    ``count_tokens`` must count the model's special tokens too, as
    :meth:`Embedder.count_tokens` does. An empty or blank text has no chunks.
    """
    if not text.strip():
        return []

    def fits(candidate: str) -> bool:
        return count_tokens(candidate.strip()) <= max_tokens

    units: list[tuple[int, int]] = []
    for start, end in _sentences(text):
        units.extend([(start, end)] if fits(text[start:end]) else _split_long(text, start, end, fits))

    chunks: list[Chunk] = []
    current: list[tuple[int, int]] = []
    for unit in units:
        if current and not fits(text[current[0][0] : unit[1]]):
            chunks.append(_make_chunk(text, current))
            last = current[-1]
            overlap = count_tokens(text[last[0] : last[1]].strip()) <= OVERLAP_MAX_TOKENS
            current = [last] if overlap and fits(text[last[0] : unit[1]]) else []
        current.append(unit)
    if current:
        chunks.append(_make_chunk(text, current))
    return chunks


def _make_chunk(text: str, units: list[tuple[int, int]]) -> Chunk:
    start, end = units[0][0], units[-1][1]
    raw = text[start:end]
    # Report the span without surrounding whitespace.
    lead = len(raw) - len(raw.lstrip())
    trail = len(raw) - len(raw.rstrip())
    return Chunk(raw.strip(), start + lead, end - trail)


def note_chunks(*, title: str, body: str, max_tokens: int, count_tokens: Callable[[str], int]) -> list[Chunk]:
    """Chunks of a note's ``Item.indexed_text`` (title, blank line, body) in which the title
    never stands alone: it leads the first passage.

    A title alone ("order-8843") carries little meaning and, embedded by itself, became the
    chunk that nonsense queries matched best. The body is packed with the title's tokens
    kept free, so the first chunk (title + first passage) still fits; a title too long to
    share a chunk is chunked like any text.
    """
    if not title.strip() or not body.strip():
        return chunk_text(title if title.strip() else body, max_tokens=max_tokens, count_tokens=count_tokens)
    text = f"{title}\n\n{body}"
    # count_tokens counts the special tokens once; the title shares them with the passage.
    title_tokens = count_tokens(title.strip()) - count_tokens("")
    budget = max_tokens - title_tokens - 1
    if budget < max_tokens // 2:
        return chunk_text(text, max_tokens=max_tokens, count_tokens=count_tokens)
    offset = len(title) + 2
    chunks = [Chunk(chunk.text, chunk.start + offset, chunk.end + offset)
              for chunk in chunk_text(body, max_tokens=budget, count_tokens=count_tokens)]  # fmt: skip
    first = chunks[0]
    chunks[0] = Chunk(text[: first.end], 0, first.end)
    return chunks
