"""The search package's vocabulary: filters, one ranked hit, a result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from media_index.models import EmbeddingSpace

# "any" (every item, whoever owns it) is for offline evaluation only; the page and the
# API accept only the other three.
Scope = Literal["all", "mine", "public", "any"]
SortOrder = Literal["relevance", "date"]
Mode = Literal["dense", "lexical", "hybrid"]
# What the query is, for calibration: words, or a picture (alone or with words).
QueryKind = Literal["text", "image"]
MODES: tuple[str, ...] = ("dense", "lexical", "hybrid")


@dataclass(frozen=True)
class SearchFilters:
    kind: str | None = None
    scope: Scope = "all"
    date_from: date | None = None
    date_to: date | None = None
    sort: SortOrder = "relevance"
    # Exact nearest neighbours (a sequential scan) instead of the HNSW index: for
    # measuring the index's recall, not for serving.
    exact: bool = False


@dataclass
class SearchHit:
    """One ranked item: ids and scores only. The item row and what a result shows (the
    passage, highlights) are loaded for the hits actually shown, by ``snippets.shown_hits``
    (bench search-http: ~15 ms of Django objects per list of 200 at 100k items)."""

    item_id: int
    # The score the list is ordered by: cosine (dense), BM25 (lexical) or the reciprocal
    # rank fusion of both (hybrid).
    score: float
    chunk: int
    span: tuple[int, int] | None
    dense_score: float | None = None
    lexical_score: float | None = None
    matched_terms: tuple[str, ...] = ()
    # Which retrievers count this item as a match: "dense" (meaning: its calibrated
    # relevance is above the line) and/or "lexical" (it contains query words).
    signals: tuple[str, ...] = ()
    kind: str = ""
    # Calibrated relevance (search.calibration): 0 is the line between relevant and not,
    # 1 and more a strong match; comparable between pictures and notes. None: uncalibrated.
    relevance: float | None = None
    # The share of the query's words (IDF-weighted) the item contains, 0..1 (lexical).
    coverage: float | None = None


@dataclass
class SearchResult:
    space: EmbeddingSpace
    hits: list[SearchHit]
    weaker: list[SearchHit] = field(default_factory=list)
    mode: Mode = "dense"
