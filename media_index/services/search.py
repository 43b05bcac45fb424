"""Search: embed the query with the searched space's own model, rank by cosine, cut adaptively.

A query is always embedded by the model of the space it searches, and the SQL
filters on that space, so vectors of two spaces are never compared.
"""

from __future__ import annotations

import functools
import time as time_module
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

import numpy as np
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.utils import timezone
from pgvector import SparseVector

from media_index.embedding.base import Vectors
from media_index.embedding.registry import ModelConfig, get_embedder
from media_index.errors import InvalidInput, NotFound
from media_index.models import EmbeddingSpace, Item, Vector
from media_index.services.images import decode_image
from media_index.services.lexical import best_passage, distinct_terms_in, highlight_spans, lexical_rank
from media_index.services.spaces import space_config
from media_index.timing import timed

# Nearest chunk-vectors fetched per query before grouping by item. Notes have
# several chunks, so this is more than the items ever shown.
CANDIDATE_VECTORS = 400
# Items ranked at most; pages slice this list, which keeps paging stable.
MAX_RANKED_ITEMS = 200
# An exact scan replaces HNSW when the filters keep at most 1/this of the ready items
# (and at most SEARCH_EXACT_MAX_ITEMS): see _few_visible_items.
EXACT_SCAN_MAX_SHARE = 10
READY_COUNT_TTL_SECONDS = 60
QUERY_MAX_CHARS = 1000
QUERY_CACHE_SIZE = 1024
# Relevance cutoff (see ``relevance_cutoff``): always show this many, and cut
# only at a gap this many times wider than the average step of the curve.
CUTOFF_MIN_KEEP = 3
CUTOFF_GAP_FACTOR = 3.0
# Reciprocal rank fusion's constant (Cormack et al. 2009): 1 / (k + rank) per list.
RRF_K = 60
SNIPPET_MAX_CHARS = 300
SNIPPET_CONTEXT_CHARS = 80

# "any" (every item, whoever owns it) is for offline evaluation only; the page and the
# API accept only the other three.
Scope = Literal["all", "mine", "public", "any"]
SortOrder = Literal["relevance", "date"]
Mode = Literal["dense", "lexical", "hybrid"]
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
    """One ranked item. Ranking needs only ids and scores; the item row is loaded for the
    hits actually shown (``load_hit_items`` on a page: one query), not for all 200 ranked
    ones (bench search-http: ~15 ms of Django objects per list at 100k items)."""

    item_id: int
    # The score the list is ordered by: cosine (dense), BM25 (lexical) or the reciprocal
    # rank fusion of both (hybrid).
    score: float
    chunk: int
    span: tuple[int, int] | None
    dense_score: float | None = None
    lexical_score: float | None = None
    matched_terms: tuple[str, ...] = ()
    # Which retrievers count this item as a match: "dense" (meaning: among the dense
    # results above the relevance cutoff) and/or "lexical" (it contains query words).
    signals: tuple[str, ...] = ()
    loaded_item: Item | None = field(default=None, repr=False)

    @property
    def item(self) -> Item:
        """The item; loaded on first use when ``load_hit_items`` did not load it with others."""
        if self.loaded_item is None:
            self.loaded_item = Item.objects.select_related("owner").get(pk=self.item_id)
        return self.loaded_item

    def _snippet_span(self) -> tuple[int, int] | None:
        """The dense side's best chunk, unless another passage holds more of the query's words."""
        text = self.item.indexed_text
        passage = best_passage(text, self.matched_terms, SNIPPET_MAX_CHARS - SNIPPET_CONTEXT_CHARS)
        if passage is None:
            return self.span
        in_chunk = distinct_terms_in(text[self.span[0] : self.span[1]], self.matched_terms) if self.span else 0
        if self.span is not None and in_chunk >= passage[2]:
            return self.span
        start = max(0, passage[0] - SNIPPET_CONTEXT_CHARS)
        # Start at a word boundary rather than mid-word.
        if start > 0 and (space := text.rfind(" ", 0, start + 1)) > 0 and start - space < 20:
            start = space + 1
        return start, min(len(text), start + SNIPPET_MAX_CHARS)

    @property
    def snippet(self) -> str:
        """For a note, the chunk that matched (or the passage with the matching words)."""
        return self.snippet_with_highlights[0]

    @functools.cached_property
    def snippet_with_highlights(self) -> tuple[str, list[tuple[int, int]]]:
        """(snippet, spans of the query's words in it) for a note; ("", []) for a picture."""
        if self.item.kind != Item.Kind.NOTE:
            return "", []
        text = self.item.indexed_text
        span = self._snippet_span()
        snippet = text[:SNIPPET_MAX_CHARS] if span is None else text[span[0] : span[1]]
        return snippet, highlight_spans(snippet, self.matched_terms)


@dataclass
class SearchResult:
    space: EmbeddingSpace
    hits: list[SearchHit]
    weaker: list[SearchHit] = field(default_factory=list)
    mode: Mode = "dense"


def active_space_or_error() -> EmbeddingSpace:
    space = EmbeddingSpace.objects.filter(is_active=True, modality=EmbeddingSpace.Modality.IMAGE_TEXT).first()
    if space is None:
        raise NotFound("Nothing has been indexed yet: upload pictures or notes, and search once they are ready.")
    return space


def resolve_space(space_id: int | None) -> EmbeddingSpace:
    if space_id is None:
        return active_space_or_error()
    space = EmbeddingSpace.objects.filter(pk=space_id).first()
    if space is None:
        raise NotFound(f"There is no embedding space {space_id}.")
    if space.modality != EmbeddingSpace.Modality.IMAGE_TEXT:
        raise InvalidInput(f"Space {space_id} holds texts only; it is searched alongside the active image-text space.")
    return space


@functools.lru_cache(maxsize=QUERY_CACHE_SIZE)
def _cached_text_vector(config: ModelConfig, text: str) -> Vectors:
    vector = get_embedder(config).embed_texts([text])[0]
    vector.setflags(write=False)  # shared between callers through the cache
    return vector


def embed_text_query(*, space: EmbeddingSpace, text: str) -> Vectors:
    """The query's vector in ``space``; repeated queries come from a per-process cache."""
    text = " ".join(text.split())
    if not text:
        raise InvalidInput("Type something to search for, or use a picture.")
    if len(text) > QUERY_MAX_CHARS:
        raise InvalidInput(f"The query is {len(text)} characters long; the limit is {QUERY_MAX_CHARS}.")
    embedder = get_embedder(space_config(space))
    # A query longer than the model's limit would be cut by its tokenizer; say so instead.
    if embedder.count_tokens(text) > space.max_tokens:
        raise InvalidInput(f"The query is too long for this model ({space.max_tokens} tokens at most).")
    return _cached_text_vector(space_config(space), text)


def embed_image_query(*, space: EmbeddingSpace, data: bytes) -> Vectors:
    image = decode_image(data)
    return get_embedder(space_config(space)).embed_images([image])[0]


def combine_queries(vectors: Sequence[Vectors]) -> Vectors:
    """A picture and words together: the normalised mean of their vectors."""
    mean = np.mean(np.stack(vectors), axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


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


def _literal(vector: Vectors) -> str:
    return "[" + ",".join(f"{float(value):.7g}" for value in vector) + "]"


def _visible_sql(viewer: AbstractBaseUser | AnonymousUser, scope: Scope) -> tuple[str, list[object]]:
    if scope == "any":
        return "TRUE", []
    if not viewer.is_authenticated:
        if scope == "mine":
            raise InvalidInput("Log in to search your own items.")
        return "i.visibility = 'public'", []
    if scope == "mine":
        return "i.owner_id = %s", [viewer.pk]
    if scope == "public":
        return "i.visibility = 'public'", []
    return "(i.visibility = 'public' OR i.owner_id = %s)", [viewer.pk]


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def rank(
    *,
    space: EmbeddingSpace,
    query: Vectors,
    viewer: AbstractBaseUser | AnonymousUser,
    filters: SearchFilters,
    exclude_item: int | None = None,
) -> list[SearchHit]:
    """Items visible to ``viewer`` in ``space``, best first, one hit per item (its best chunk)."""
    if query.shape != (space.dimension,):
        raise InvalidInput(f"The query vector has {query.shape[-1]} dimensions; space {space.pk} has {space.dimension}.")
    dim = int(space.dimension)
    filter_sql, filter_params = _filter_sql(viewer, filters, exclude_item)
    where = ["v.space_id = %s", "i.status = 'ready'", filter_sql]
    params: list[object] = [space.pk, *filter_params]
    literal = _literal(query)
    exact = filters.exact or _few_visible_items(filter_sql, filter_params)
    # The ORDER BY repeats the partial index's expression exactly (see
    # services.spaces), so PostgreSQL can walk the space's HNSW graph; with
    # iterative scans, filters that drop many rows still fill the LIMIT. The
    # score is recomputed on the full-precision vectors.
    order = "v.embedding <=> %s::vector" if exact else f"v.embedding::halfvec({dim}) <=> %s::halfvec({dim})"
    sql = (
        f"SELECT v.item_id, v.chunk, v.span_start, v.span_end, 1 - (v.embedding <=> %s::vector) AS score "
        f"FROM media_index_vector v JOIN media_index_item i ON i.id = v.item_id "
        f"WHERE {' AND '.join(where)} "
        f"ORDER BY {order} LIMIT %s"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {int(settings.SEARCH_HNSW_EF_SEARCH)}")
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute(sql, [literal, *params, literal, CANDIDATE_VECTORS])
        rows = cursor.fetchall()
    return _best_chunk_hits(rows)


def _few_visible_items(filter_sql: str, params: Sequence[object]) -> bool:
    """Whether the filters leave so few items that an exact scan of their vectors is the
    better plan: at most SEARCH_EXACT_MAX_ITEMS, and at most a tenth of the ready items.

    HNSW walks the whole space's graph and drops what the filters exclude: when they keep
    a small share (one user's private items in a shared instance, a narrow date range),
    even iterative scans miss true neighbours (bench_search, one owner's 2 % of 100k rows:
    recall@10 0.81 with relaxed iterative scans, 1.00 with an exact scan in 14 ms). An
    unfiltered small collection stays on HNSW, whose recall is near 1 there and which is
    faster. The count reads the item table only (small rows), and stops at the bound.
    """
    limit = settings.SEARCH_EXACT_MAX_ITEMS
    if limit <= 0:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM media_index_item i "
            f"WHERE i.status = 'ready' AND {filter_sql} LIMIT %s) AS visible",
            [*params, limit + 1],
        )
        visible = cursor.fetchone()[0]
    return visible <= limit and visible * EXACT_SCAN_MAX_SHARE <= _ready_items()


@functools.lru_cache(maxsize=1)
def _ready_items_at(bucket: int) -> int:
    del bucket  # only the cache key: a new one every READY_COUNT_TTL_SECONDS
    return Item.objects.filter(status=Item.Status.READY).count()


def _ready_items() -> int:
    """How many items are ready, recounted at most once a minute per process: only its
    order of magnitude matters (see ``_few_visible_items``)."""
    return _ready_items_at(int(time_module.monotonic() // READY_COUNT_TTL_SECONDS))


def _best_chunk_hits(rows: Sequence[tuple]) -> list[SearchHit]:
    """One hit per item (its best chunk), best first, from (item, chunk, start, end, score) rows."""
    best: dict[int, tuple[float, int, int | None, int | None]] = {}
    for item_id, chunk, span_start, span_end, score in rows:
        if item_id not in best or score > best[item_id][0]:
            best[item_id] = (float(score), chunk, span_start, span_end)
    ordered = sorted(best.items(), key=lambda pair: (-pair[1][0], pair[0]))[:MAX_RANKED_ITEMS]
    return [
        SearchHit(item_id, score, chunk, (start, end) if start is not None else None,
                  dense_score=score, signals=("dense",))  # fmt: skip
        for item_id, (score, chunk, start, end) in ordered
    ]


def load_hit_items(hits: Sequence[SearchHit]) -> list[SearchHit]:
    """Load the items of ``hits`` (a page) in one query; hits whose item was deleted since
    the ranking are dropped."""
    missing = [hit.item_id for hit in hits if hit.loaded_item is None]
    items = Item.objects.select_related("owner").in_bulk(missing) if missing else {}
    for hit in hits:
        if hit.loaded_item is None and hit.item_id in items:
            hit.loaded_item = items[hit.item_id]
    return [hit for hit in hits if hit.loaded_item is not None]


def _filter_sql(
    viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters, exclude_item: int | None = None
) -> tuple[str, list[object]]:
    """The visibility and filter conditions on the item table (aliased ``i``), for every retriever."""
    visible, params = _visible_sql(viewer, filters.scope)
    where = [visible]
    params = list(params)
    if filters.kind:
        where.append("i.kind = %s")
        params.append(filters.kind)
    # The first and last representable days bound nothing, and their neighbours would
    # overflow (date_to + 1 day, or a time zone shift before year 1): no condition.
    if filters.date_from and filters.date_from > date.min:
        where.append("i.created_at >= %s")
        params.append(_day_start(filters.date_from))
    if filters.date_to and filters.date_to < date.max:
        where.append("i.created_at < %s")
        params.append(_day_start(filters.date_to) + timedelta(days=1))
    if exclude_item is not None:
        where.append("i.id <> %s")
        params.append(exclude_item)
    return " AND ".join(where), params


def _dense_hits_for_items(space: EmbeddingSpace, query: Vectors, item_ids: Sequence[int]) -> list[SearchHit]:
    """Exact dense scores of given items (lexical matches the HNSW candidates missed)."""
    if not item_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT v.item_id, v.chunk, v.span_start, v.span_end, 1 - (v.embedding <=> %s::vector) "
            "FROM media_index_vector v WHERE v.space_id = %s AND v.item_id = ANY(%s)",
            [_literal(query), space.pk, list(item_ids)],
        )
        return _best_chunk_hits(cursor.fetchall())


def rank_lexical(*, text: str, viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters) -> list[SearchHit]:
    """Items visible to ``viewer`` that contain words of ``text``, by BM25."""
    filter_sql, filter_params = _filter_sql(viewer, filters)
    found = lexical_rank(text=text, visible_sql=filter_sql, visible_params=filter_params)
    return [
        SearchHit(hit.item_id, hit.score, 0, None, lexical_score=hit.score, matched_terms=hit.matched_terms,
                  signals=("lexical",))  # fmt: skip
        for hit in found
    ]


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
            loaded_item=base.loaded_item,
        ))  # fmt: skip
    fused.sort(key=lambda hit: (-hit.score, hit.item_id))
    fused = fused[:MAX_RANKED_ITEMS]
    return [hit for hit in fused if hit.signals], [hit for hit in fused if not hit.signals]


def _text_space_lists(
    *, text: str, viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters, mode: Mode
) -> list[RankedList]:
    """The active text-only space's rankings of notes (BGE-M3 dense, and its learned
    lexical weights in hybrid mode), when there is such a space and the query has words."""
    space = EmbeddingSpace.objects.filter(is_active=True, modality=EmbeddingSpace.Modality.TEXT).first()
    if space is None or not text or filters.kind == Item.Kind.IMAGE:
        return []
    embedder = get_embedder(space_config(space))
    if embedder.count_tokens(text) > space.max_tokens:
        raise InvalidInput(f"The query is too long for the text model ({space.max_tokens} tokens at most).")
    dense, sparse = embedder.embed_texts_with_sparse([text])  # type: ignore[attr-defined]
    lists = [RankedList.dense(rank(space=space, query=dense[0], viewer=viewer, filters=filters))]
    if mode == "hybrid" and sparse[0]:
        query = SparseVector(sparse[0], embedder.vocab_size).to_text()  # type: ignore[attr-defined]
        lists.append(RankedList.lexical(_rank_sparse(space=space, query=query, viewer=viewer, filters=filters)))
    return lists


def _rank_sparse(
    *, space: EmbeddingSpace, query: str, viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters
) -> list[SearchHit]:
    """Chunks by learned lexical weights (inner product of sparse vectors), best chunk per item.

    An exact scan of the space's rows that share no token with the query are skipped
    by the score filter; fine for collections of notes in the tens of thousands.
    """
    filter_sql, filter_params = _filter_sql(viewer, filters)
    sql = (
        "SELECT v.item_id, v.chunk, v.span_start, v.span_end, -(v.sparse <#> %s::sparsevec) AS score "
        "FROM media_index_vector v JOIN media_index_item i ON i.id = v.item_id "
        f"WHERE v.space_id = %s AND v.sparse IS NOT NULL AND i.status = 'ready' AND {filter_sql} "
        "AND -(v.sparse <#> %s::sparsevec) > 0 "
        "ORDER BY v.sparse <#> %s::sparsevec LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [query, space.pk, *filter_params, query, query, CANDIDATE_VECTORS])
        hits = _best_chunk_hits(cursor.fetchall())
    for hit in hits:
        # A learned-weights match: lexical, but without BM25's matched words.
        hit.lexical_score, hit.dense_score, hit.signals = hit.score, None, ("lexical",)
    return hits


def _finish(
    space: EmbeddingSpace,
    hits: list[SearchHit],
    filters: SearchFilters,
    *,
    mode: Mode = "dense",
    weaker: list[SearchHit] | None = None,
) -> SearchResult:
    """Split off the weaker matches (unless the caller did) and apply the sort order."""
    if weaker is None:
        # Every lexical hit contains query words: all are matches. Dense: cut at the cliff.
        keep = len(hits) if mode == "lexical" else relevance_cutoff([hit.score for hit in hits])
        hits, weaker = hits[:keep], hits[keep:]
    if filters.sort == "date":
        hits = sorted(load_hit_items(hits), key=lambda hit: (hit.item.created_at, hit.item_id), reverse=True)
    return SearchResult(space=space, hits=hits, weaker=weaker, mode=mode)


def _query_vector(*, space: EmbeddingSpace, words: str, image: bytes | None) -> Vectors:
    """The query in ``space``: words, a picture, or both. A model that reads a picture and
    words together (Visualized BGE) composes them itself; otherwise the two vectors are
    averaged (normalised mean)."""
    if image is not None and words:
        embedder = get_embedder(space_config(space))
        if hasattr(embedder, "embed_composed"):
            embed_text_query(space=space, text=words)  # the same checks on the words (length, tokens)
            return embedder.embed_composed([decode_image(image)], [words])[0]
    vectors = []
    if image is not None:
        vectors.append(embed_image_query(space=space, data=image))
    if words or image is None:
        vectors.append(embed_text_query(space=space, text=words))
    return vectors[0] if len(vectors) == 1 else combine_queries(vectors)


def search_by_query(
    *,
    viewer: AbstractBaseUser | AnonymousUser,
    text: str = "",
    image: bytes | None = None,
    filters: SearchFilters = SearchFilters(),  # noqa: B008 - frozen dataclass, safe default
    space_id: int | None = None,
    mode: Mode | None = None,
) -> SearchResult:
    """Search by words, by a picture, or by both together.

    ``mode``: "dense" (meaning, by the space's model), "lexical" (BM25 over the words)
    or "hybrid" (both, fused by reciprocal rank); by default hybrid when there are words
    and no picture, else dense.
    """
    space = resolve_space(space_id)
    words = " ".join(text.split())
    if mode is None:
        mode = "hybrid" if words and image is None else "dense"
    if mode not in MODES:
        raise InvalidInput(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.")
    if mode != "dense" and not words:
        raise InvalidInput("Lexical and hybrid search match words: type some.")
    if mode == "lexical" and image is not None:
        raise InvalidInput("A picture is searched by meaning: use mode dense or hybrid.")
    if len(words) > QUERY_MAX_CHARS:
        raise InvalidInput(f"The query is {len(words)} characters long; the limit is {QUERY_MAX_CHARS}.")
    if mode == "lexical":
        with timed("lexical"):
            return _finish(space, rank_lexical(text=words, viewer=viewer, filters=filters), filters, mode=mode)
    # The stages are reported in the Server-Timing header (media_index.timing).
    with timed("embed"):
        query = _query_vector(space=space, words=words, image=image)
    with timed("dense"):
        dense = rank(space=space, query=query, viewer=viewer, filters=filters)
    with timed("text_space"):
        companions = _text_space_lists(text=words, viewer=viewer, filters=filters, mode=mode)
    if mode == "dense" and not companions:
        return _finish(space, dense, filters)
    lists = [RankedList.dense(dense)]
    if mode == "hybrid":
        with timed("lexical"):
            lexical = rank_lexical(text=words, viewer=viewer, filters=filters)
            # Lexical matches the HNSW candidates missed get their exact cosine too, so they
            # have a rank on the dense side as well (not only "absent").
            known = {hit.item_id for hit in dense}
            extra = _dense_hits_for_items(space, query, [hit.item_id for hit in lexical if hit.item_id not in known])
        dense_all = sorted(dense + extra, key=lambda hit: (-hit.score, hit.item_id))
        lists = [RankedList("dense", dense_all, lists[0].matches), RankedList.lexical(lexical)]
    matches, weaker = fuse(lists + companions)
    return _finish(space, matches, filters, mode=mode, weaker=weaker)


def search_by_vector(
    *,
    viewer: AbstractBaseUser | AnonymousUser,
    space_id: int,
    vector: Sequence[float],
    filters: SearchFilters = SearchFilters(),  # noqa: B008
) -> SearchResult:
    """Search with a query vector embedded earlier in the same space (a picture query being paged)."""
    space = resolve_space(space_id)
    query = np.asarray(vector, dtype=np.float32)
    return _finish(space, rank(space=space, query=query, viewer=viewer, filters=filters), filters)


def search_similar(
    *,
    viewer: AbstractBaseUser | AnonymousUser,
    item: Item,
    filters: SearchFilters = SearchFilters(),  # noqa: B008
    space_id: int | None = None,
) -> SearchResult:
    """"More like this": the item's own vector (a note's first chunk) as the query."""
    space = resolve_space(space_id)
    vector = Vector.objects.filter(item=item, space=space).order_by("chunk").first()
    if vector is None:
        raise NotFound("This item is not indexed in the searched space yet.")
    query = np.asarray(vector.embedding, dtype=np.float32)
    hits = rank(space=space, query=query, viewer=viewer, filters=filters, exclude_item=item.pk)
    return _finish(space, hits, filters)
