"""What a result shows: for a note, the passage that matched, with the query's words marked.

Presentation only: ranking (``service``) never needs it. ``shown_hits`` loads the items
of one page in one query and computes their snippets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from media_index.models import Item
from media_index.search.calibration import level
from media_index.search.text_analysis import analyze, normalized
from media_index.search.types import SearchHit

SNIPPET_MAX_CHARS = 300
SNIPPET_CONTEXT_CHARS = 80


@dataclass
class ShownHit:
    """A hit on the page: its item, and for a note the passage to show with the query's
    words marked (``highlights``: [start, end) offsets in ``snippet``)."""

    hit: SearchHit
    item: Item
    snippet: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)

    @property
    def match(self) -> str:
        """"strong", "good" or "weak": the hit's calibrated relevance in words."""
        return level(self.hit.relevance)

    def __getattr__(self, name: str) -> object:
        # score, dense_score, lexical_score, signals, matched_terms, chunk: the hit's own.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.hit, name)


def shown_hits(hits: Sequence[SearchHit]) -> list[ShownHit]:
    """The hits of one page with their items (one query) and snippets; hits whose item was
    deleted since the ranking are dropped."""
    items = Item.objects.select_related("owner").in_bulk([hit.item_id for hit in hits])
    shown = []
    for hit in hits:
        item = items.get(hit.item_id)
        if item is None:
            continue
        snippet, highlights = snippet_with_highlights(hit, item)
        shown.append(ShownHit(hit, item, snippet, highlights))
    return shown


def snippet_with_highlights(hit: SearchHit, item: Item) -> tuple[str, list[tuple[int, int]]]:
    """(snippet, spans of the query's words in it) for a note; ("", []) for a picture."""
    if item.kind != Item.Kind.NOTE:
        return "", []
    text = item.indexed_text
    span = _snippet_span(hit, text)
    snippet = text[:SNIPPET_MAX_CHARS] if span is None else text[span[0] : span[1]]
    return snippet, highlight_spans(snippet, hit.matched_terms)


def _snippet_span(hit: SearchHit, text: str) -> tuple[int, int] | None:
    """The dense side's best chunk, unless another passage holds more of the query's words."""
    passage = best_passage(text, hit.matched_terms, SNIPPET_MAX_CHARS - SNIPPET_CONTEXT_CHARS)
    if passage is None:
        return hit.span
    in_chunk = distinct_terms_in(text[hit.span[0] : hit.span[1]], hit.matched_terms) if hit.span else 0
    if hit.span is not None and in_chunk >= passage[2]:
        return hit.span
    start = max(0, passage[0] - SNIPPET_CONTEXT_CHARS)
    # Start at a word boundary rather than mid-word.
    if start > 0 and (space := text.rfind(" ", 0, start + 1)) > 0 and start - space < 20:
        start = space + 1
    return start, min(len(text), start + SNIPPET_MAX_CHARS)


def highlight_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans in ``text`` of the words that produce any of ``terms``.

    Empty when normalisation changed the text's length (a ligature, "ß"), since the
    analyser's offsets would then not line up with what is shown.
    """
    wanted = set(terms)
    if not wanted:
        return []
    if len(normalized(text)) != len(text):
        return []
    spans = sorted({(term.start, term.end) for term in analyze(text) if term.text in wanted})
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def best_passage(text: str, terms: Iterable[str], width: int) -> tuple[int, int, int] | None:
    """(start, end, distinct terms) of the ``width``-character window of ``text`` holding the
    most distinct ``terms`` (the earliest such window); None when no term occurs."""
    wanted = set(terms)
    if not wanted or len(normalized(text)) != len(text):
        return None
    hits = [(term.start, term.end, term.text) for term in analyze(text) if term.text in wanted]
    best: tuple[int, int, int] | None = None
    for index, (start, _, _) in enumerate(hits):
        inside = {term for s, e, term in hits[index:] if e <= start + width}
        if best is None or len(inside) > best[2]:
            best = (start, min(len(text), start + width), len(inside))
    return best


def distinct_terms_in(text: str, terms: Iterable[str]) -> int:
    wanted = set(terms)
    return len({term.text for term in analyze(text) if term.text in wanted})
