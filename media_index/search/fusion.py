"""Fusing retrievers' rankings into one list, and where the relevant part of it ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from media_index.search.retrieval import MAX_RANKED_ITEMS
from media_index.search.types import SearchHit

# Relevance cutoff (see ``relevance_cutoff``): always show this many, and cut
# only at a gap this many times wider than the average step of the curve.
CUTOFF_MIN_KEEP = 3
CUTOFF_GAP_FACTOR = 3.0
# Reciprocal rank fusion's constant (Cormack et al. 2009): 1 / (k + rank) per list.
RRF_K = 60
# Hybrid: calibrated meaning + weight x the share of the query's words an item holds.
# A note holding every word of the query is relevant unless its meaning is far off (a code
# such as "INV-2024-0042" carries no meaning a model knows); a picture's words are only its
# title and file name, so they add at most a quarter step: they help (break ties, lift a
# picture just under the line), but neither sink a camera-named picture nor push every
# note out of the top of a mixed list (at 0.5, titled pictures held all five first places
# in 18 % of the queries that have relevant notes). Chosen with manage.py evaluate on
# three eval sets (docs/RELEVANCE.md).
LEXICAL_WEIGHT = {"note": 2.0, "image": 0.25}
# An item that holds query words is not sunk by its meaning below this: a model knows
# nothing of "INV-2024-0042", so the note holding that code must not need its cosine.
# With it, a note holding every query word is relevant (-1 + 2), a picture never by its
# title alone (-1 + 0.25).
DENSE_FLOOR_WITH_WORDS = -1.0


def relevance_cutoff(scores: Sequence[float]) -> int:
    """How many of the descending ``scores`` to show before "weaker matches".

    A flat threshold fails because every model and query has its own score
    scale; instead cut at the widest gap after the first few results, when it
    is clearly wider than the curve's average step (a cliff between what
    matches and the background). No cliff: everything is shown.
    """
    n = len(scores)
    if n <= CUTOFF_MIN_KEEP:
        return n
    gaps = [scores[i - 1] - scores[i] for i in range(1, n)]
    average_gap = (scores[0] - scores[-1]) / (n - 1)
    # gaps[i - 1] is the step between positions i - 1 and i; cutting there keeps i results.
    keep, widest = max(((i, gaps[i - 1]) for i in range(CUTOFF_MIN_KEEP, n)), key=lambda pair: pair[1])
    if average_gap > 0 and widest >= CUTOFF_GAP_FACTOR * average_gap:
        return keep
    return n


@dataclass
class RankedList:
    """One retriever's ranking for fusion: its signal name, its hits (best first), and
    which of them it counts as matches (dense: above its relevance cutoff; lexical: all)."""

    signal: str
    hits: list[SearchHit]
    matches: set[int]

    @classmethod
    def dense(cls, hits: list[SearchHit]) -> RankedList:
        return cls("dense", hits, {hit.item_id for hit in hits[: relevance_cutoff([hit.score for hit in hits])]})

    @classmethod
    def lexical(cls, hits: list[SearchHit]) -> RankedList:
        return cls("lexical", hits, {hit.item_id for hit in hits})


def fuse(lists: Sequence[RankedList]) -> tuple[list[SearchHit], list[SearchHit]]:
    """Reciprocal rank fusion (1 / (RRF_K + rank) summed over the lists that rank an item).

    Returns (matches, weaker): an item is a match when any list counts it as one; the
    rest (ranked by dense lists only, below their cutoffs) are the "weaker matches". The
    first list's hit supplies the passage (the image-text space's best chunk), the
    cosine comes from the first dense list, BM25 and the matched words from the lexical
    list that has them.
    """
    ranks: dict[int, list[int]] = {}
    first_hit: dict[int, SearchHit] = {}
    dense_score: dict[int, float] = {}
    lexical_hit: dict[int, SearchHit] = {}
    signals: dict[int, list[str]] = {}
    for ranked in lists:
        for rank, hit in enumerate(ranked.hits, start=1):
            item_id = hit.item_id
            ranks.setdefault(item_id, []).append(rank)
            first_hit.setdefault(item_id, hit)
            if ranked.signal == "dense" and hit.dense_score is not None:
                dense_score.setdefault(item_id, hit.dense_score)
            if hit.lexical_score is not None and hit.matched_terms and item_id not in lexical_hit:
                lexical_hit[item_id] = hit
            if item_id in ranked.matches and ranked.signal not in signals.setdefault(item_id, []):
                signals[item_id].append(ranked.signal)
    fused = []
    for item_id, item_ranks in ranks.items():
        base, words = first_hit[item_id], lexical_hit.get(item_id)
        fused.append(SearchHit(
            base.item_id, sum(1.0 / (RRF_K + rank) for rank in item_ranks), base.chunk, base.span,
            dense_score=dense_score.get(item_id),
            lexical_score=words.lexical_score if words else None,
            matched_terms=words.matched_terms if words else (),
            signals=tuple(sorted(signals.get(item_id, ()))),
        ))  # fmt: skip
    fused.sort(key=lambda hit: (-hit.score, hit.item_id))
    fused = fused[:MAX_RANKED_ITEMS]
    return [hit for hit in fused if hit.signals], [hit for hit in fused if not hit.signals]


def fuse_calibrated(dense: Sequence[SearchHit], lexical: Sequence[SearchHit]) -> list[SearchHit]:
    """Hybrid fusion on the calibrated scale: ``relevance = dense relevance + weight x coverage``.

    ``dense`` holds every item of ``lexical`` too (with its exact cosine), each with its
    calibrated relevance; the result keeps that scale (0: the relevance line), so it can
    be thresholded like a dense list. Signals: "dense" when the meaning alone is above the
    line, "lexical" when the item holds query words.
    """
    words = {hit.item_id: hit for hit in lexical}
    fused = []
    for hit in dense:
        matched = words.get(hit.item_id)
        coverage = matched.coverage or 0.0 if matched else 0.0
        meaning = hit.relevance or 0.0
        if matched:
            meaning = max(meaning, DENSE_FLOOR_WITH_WORDS)
        relevance = meaning + LEXICAL_WEIGHT.get(hit.kind, 0.5) * coverage
        signals = tuple(sorted({*hit.signals, *(("lexical",) if matched else ())}))
        fused.append(SearchHit(
            hit.item_id, relevance, hit.chunk, hit.span, dense_score=hit.dense_score,
            lexical_score=matched.lexical_score if matched else None,
            matched_terms=matched.matched_terms if matched else (), signals=signals, kind=hit.kind,
            relevance=relevance, coverage=coverage if matched else None,
        ))  # fmt: skip
    fused.sort(key=lambda hit: (-hit.score, hit.item_id))
    return fused[:MAX_RANKED_ITEMS]
