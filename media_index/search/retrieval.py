"""Retrievers: SQL that ranks the items a viewer may see, one hit per item.

Dense: cosine over the space's vectors (HNSW, or an exact scan under selective filters),
each item counted by its best chunk. Lexical: BM25 (``bm25``), and a text space's learned
sparse weights. Every retriever applies the same visibility and filter conditions.
"""

from __future__ import annotations

import functools
import math
import re
import time as time_module
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from media_index.embedding.base import Vectors
from media_index.errors import InvalidInput
from media_index.models import EmbeddingSpace, Item
from media_index.replicas import read_alias, read_connection
from media_index.search.bm25 import lexical_rank
from media_index.search.types import Scope, SearchFilters, SearchHit

# Nearest chunk-vectors fetched per query before grouping by item. Notes have
# several chunks, so this is more than the items ever shown.
CANDIDATE_VECTORS = 400
# Items ranked at most; pages slice this list, which keeps paging stable.
MAX_RANKED_ITEMS = 200
# An exact scan replaces HNSW when the filters keep at most 1/this of the ready items
# (and at most SEARCH_EXACT_MAX_ITEMS): see _few_visible_items.
EXACT_SCAN_MAX_SHARE = 10
READY_COUNT_TTL_SECONDS = 60


def _literal(vector: Vectors) -> str:
    return "[" + ",".join(f"{float(value):.7g}" for value in vector) + "]"


def visible_sql(viewer: AbstractBaseUser | AnonymousUser, scope: Scope) -> tuple[str, list[object]]:
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


# Measured with this product's table and SQL (docs/BENCHMARKS.md, bench search): recall@10
# 0.988 at ef_search 200 on 100k rows, 0.956 at 800 on 1M. Between and beyond, the
# candidates grow with the size as those two points say: x4 per x10 rows.
EF_SEARCH_REFERENCE_ROWS = 100_000
EF_SEARCH_GROWTH_PER_DECADE = 4.0
EF_SEARCH_MAX = 1000  # pgvector's limit
EF_SEARCH_REFERENCE_ROWS_DENSE = 1_000_000
DEFAULT_GRAPH_M = 16


def ef_search_for(space: EmbeddingSpace) -> int:
    """hnsw.ef_search for ``space``: SEARCH_HNSW_EF_SEARCH for collections up to ~100k
    items, more for larger ones, so recall@10 stays about 0.95 at a million. The size is
    the item count of the space's last calibration (kept current as it grows by a
    quarter), which costs no query; a space never calibrated gets the setting."""
    floor = int(settings.SEARCH_HNSW_EF_SEARCH)
    items = (space.calibration or {}).get("items") or 0
    if not settings.SEARCH_HNSW_EF_SEARCH_AUTO or items <= EF_SEARCH_REFERENCE_ROWS:
        return floor
    # A space indexed with the denser graph (services.spaces.hnsw_parameters) reaches at 1M
    # what the default graph reaches at 100k (bench search: recall@10 0.979 at ef_search 200).
    reference = EF_SEARCH_REFERENCE_ROWS_DENSE if index_graph_m(space) >= settings.HNSW_LARGE_M \
        else EF_SEARCH_REFERENCE_ROWS  # fmt: skip
    if items <= reference:
        return floor
    scaled = floor * EF_SEARCH_GROWTH_PER_DECADE ** math.log10(items / reference)
    return min(EF_SEARCH_MAX, max(floor, int(round(scaled))))


_graph_m: dict[str, int] = {}


def index_graph_m(space: EmbeddingSpace) -> int:
    """The ``m`` the space's HNSW index was built with, read once per process from its
    definition (pgvector's default 16 when the index is not there yet)."""
    name = space.index_name if space.pk is not None else ""
    if name and name not in _graph_m:
        with read_connection().cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
            row = cursor.fetchone()
        if row is None:
            return DEFAULT_GRAPH_M
        found = re.search(r"\bm\s*=\s*'?(\d+)", row[0])
        _graph_m[name] = int(found.group(1)) if found else DEFAULT_GRAPH_M
    return _graph_m.get(name, DEFAULT_GRAPH_M)


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
    where_sql, filter_params = filter_sql(viewer, filters, exclude_item)
    where = ["v.space_id = %s", "i.status = 'ready'", where_sql]
    params: list[object] = [space.pk, *filter_params]
    own_index = False
    if filters.scope == "mine" and viewer.is_authenticated:
        # The vector's copy of the owner (the item's owner_id above stays the authority):
        # it lets PostgreSQL use the owner's own partial HNSW index where the maintenance
        # queue built one (services.owner_indexes), instead of the whole space's graph.
        where.append("v.owner_id = %s")
        params.append(viewer.pk)
        own_index = viewer.pk in owners_with_an_index(space)
    literal = _literal(query)
    exact = filters.exact or _few_visible_items(where_sql, filter_params)
    # The ORDER BY repeats the partial index's expression exactly (see
    # services.spaces), so PostgreSQL can walk the space's HNSW graph; with
    # iterative scans, filters that drop many rows still fill the LIMIT. The
    # score is recomputed on the full-precision vectors.
    order = "v.embedding <=> %s::vector" if exact else f"v.embedding::halfvec({dim}) <=> %s::halfvec({dim})"
    sql = (
        f"SELECT v.item_id, v.chunk, v.span_start, v.span_end, 1 - (v.embedding <=> %s::vector) AS score, i.kind "
        f"FROM media_index_vector v JOIN media_index_item i ON i.id = v.item_id "
        f"WHERE {' AND '.join(where)} "
        f"ORDER BY {order} LIMIT %s"
    )
    with transaction.atomic(using=read_alias()), read_connection().cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {ef_search_for(space)}")
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        if own_index and not exact:
            # Left to itself the planner reads the owner's items through the item table's
            # owner index and sorts all their vectors (an exact scan: 32-47 ms for 2,000 at
            # 100k, measured; ~290 ms for 20,000 at 1M), pricing the HNSW walk too high.
            # Without sorts the ordering must come from an index: the owner's, the smallest.
            cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(sql, [literal, *params, literal, CANDIDATE_VECTORS])
        rows = cursor.fetchall()
    return _best_chunk_hits(rows)


OWNER_INDEX_LIST_TTL_SECONDS = 60


def owner_indexes(cursor: Any, space: EmbeddingSpace) -> dict[int, bool]:
    """The partial HNSW indexes of single owners in ``space``, as owner id → valid, read
    from the catalogue through ``cursor`` (the maintenance queue's on the primary, the
    search's on its read connection). A concurrent build in progress, or one that failed,
    leaves an invalid index: searches ignore it, the maintenance queue rebuilds it."""
    prefix = f"{space.index_name}_owner_"
    cursor.execute(
        "SELECT c.relname, x.indisvalid FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
        "WHERE c.relname LIKE %s",
        [prefix.replace("_", r"\_") + "%"],
    )
    return {int(name[len(prefix):]): bool(valid) for name, valid in cursor.fetchall()
            if name[len(prefix):].isdigit()}  # fmt: skip


@functools.lru_cache(maxsize=64)
def _owners_with_an_index_at(space: EmbeddingSpace, bucket: int) -> frozenset[int]:
    del bucket  # only the cache key: a new one every OWNER_INDEX_LIST_TTL_SECONDS
    with read_connection().cursor() as cursor:
        return frozenset(owner for owner, valid in owner_indexes(cursor, space).items() if valid)


def owners_with_an_index(space: EmbeddingSpace) -> frozenset[int]:
    """The owners with a partial HNSW index of their own in ``space`` (built by
    services.owner_indexes), read at most once a minute per process."""
    if space.pk is None:
        return frozenset()
    return _owners_with_an_index_at(space, int(time_module.monotonic() // OWNER_INDEX_LIST_TTL_SECONDS))


def _few_visible_items(where_sql: str, params: Sequence[object]) -> bool:
    """Whether the filters leave so few items that an exact scan of their vectors is the
    better plan: at most SEARCH_EXACT_MAX_ITEMS, and at most a tenth of the ready items.

    HNSW walks the whole space's graph and drops what the filters exclude: when they keep
    a small share (one user's private items in a shared instance, a narrow date range),
    even iterative scans miss true neighbours (manage.py bench search, one owner's 2 % of 100k rows:
    recall@10 0.81 with relaxed iterative scans, 1.00 with an exact scan in 14 ms). An
    unfiltered small collection stays on HNSW, whose recall is near 1 there and which is
    faster. The count reads the item table only (small rows), and stops at the bound.
    """
    limit = settings.SEARCH_EXACT_MAX_ITEMS
    if limit <= 0:
        return False
    with read_connection().cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT 1 FROM media_index_item i "
            f"WHERE i.status = 'ready' AND {where_sql} LIMIT %s) AS visible",
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
    """One hit per item (its best chunk), best first, from (item, chunk, start, end, score,
    kind) rows."""
    best: dict[int, tuple[float, int, int | None, int | None, str]] = {}
    for item_id, chunk, span_start, span_end, score, kind in rows:
        if item_id not in best or score > best[item_id][0]:
            best[item_id] = (float(score), chunk, span_start, span_end, kind)
    ordered = sorted(best.items(), key=lambda pair: (-pair[1][0], pair[0]))[:MAX_RANKED_ITEMS]
    return [
        SearchHit(item_id, score, chunk, (start, end) if start is not None else None,
                  dense_score=score, signals=("dense",), kind=kind)  # fmt: skip
        for item_id, (score, chunk, start, end, kind) in ordered
    ]


def filter_sql(
    viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters, exclude_item: int | None = None
) -> tuple[str, list[object]]:
    """The visibility and filter conditions on the item table (aliased ``i``), for every retriever."""
    visible, params = visible_sql(viewer, filters.scope)
    where = [visible]
    params = list(params)
    if filters.kind:
        where.append("i.kind = %s")
        params.append(filters.kind)
    # The first and last representable days bound nothing, and their neighbours would
    # overflow (date_to + 1 day, or a time zone shift before year 1): no condition.
    # Dates are when a picture was taken (EXIF), else when the item was uploaded.
    if filters.date_from and filters.date_from > date.min:
        where.append("COALESCE(i.taken_at, i.created_at) >= %s")
        params.append(_day_start(filters.date_from))
    if filters.date_to and filters.date_to < date.max:
        where.append("COALESCE(i.taken_at, i.created_at) < %s")
        params.append(_day_start(filters.date_to) + timedelta(days=1))
    if exclude_item is not None:
        where.append("i.id <> %s")
        params.append(exclude_item)
    return " AND ".join(where), params


def dense_hits_for_items(space: EmbeddingSpace, query: Vectors, item_ids: Sequence[int]) -> list[SearchHit]:
    """Exact dense scores of given items (lexical matches the HNSW candidates missed)."""
    if not item_ids:
        return []
    with read_connection().cursor() as cursor:
        cursor.execute(
            "SELECT v.item_id, v.chunk, v.span_start, v.span_end, 1 - (v.embedding <=> %s::vector), i.kind "
            "FROM media_index_vector v JOIN media_index_item i ON i.id = v.item_id "
            "WHERE v.space_id = %s AND v.item_id = ANY(%s)",
            [_literal(query), space.pk, list(item_ids)],
        )
        return _best_chunk_hits(cursor.fetchall())


def rank_lexical(*, text: str, viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters) -> list[SearchHit]:
    """Items visible to ``viewer`` that contain words of ``text``, by BM25."""
    where_sql, filter_params = filter_sql(viewer, filters)
    found = lexical_rank(text=text, visible_sql=where_sql, visible_params=filter_params)
    return [
        SearchHit(hit.item_id, hit.score, 0, None, lexical_score=hit.score, matched_terms=hit.matched_terms,
                  signals=("lexical",), kind=hit.kind, coverage=hit.coverage)  # fmt: skip
        for hit in found
    ]


def rank_sparse(
    *, space: EmbeddingSpace, query: str, viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters
) -> list[SearchHit]:
    """Chunks by learned lexical weights (inner product of sparse vectors), best chunk per item.

    An exact scan of the space's rows that share no token with the query are skipped
    by the score filter; fine for collections of notes in the tens of thousands.
    """
    where_sql, filter_params = filter_sql(viewer, filters)
    sql = (
        "SELECT v.item_id, v.chunk, v.span_start, v.span_end, -(v.sparse <#> %s::sparsevec) AS score, i.kind "
        "FROM media_index_vector v JOIN media_index_item i ON i.id = v.item_id "
        f"WHERE v.space_id = %s AND v.sparse IS NOT NULL AND i.status = 'ready' AND {where_sql} "
        "AND -(v.sparse <#> %s::sparsevec) > 0 "
        "ORDER BY v.sparse <#> %s::sparsevec LIMIT %s"
    )
    with read_connection().cursor() as cursor:
        cursor.execute(sql, [query, space.pk, *filter_params, query, query, CANDIDATE_VECTORS])
        hits = _best_chunk_hits(cursor.fetchall())
    for hit in hits:
        # A learned-weights match: lexical, but without BM25's matched words.
        hit.lexical_score, hit.dense_score, hit.signals = hit.score, None, ("lexical",)
    return hits
