"""Per-owner partial HNSW indexes: a person's own search stays fast and accurate in a big space.

A search of one person's items ("mine") in a space where they hold a small share walks the
space's whole HNSW graph and drops everyone else's rows: at 1M vectors and a 2 % share,
pgvector's iterative scan visits ~20,000 tuples to find 400 candidates (bench search:
recall@10 1.000 but p50 269 ms; without iterative scans 0.16), and an exact scan of those
rows is as slow (289 ms). A partial index over just that owner's vectors in the space is an
ordinary small HNSW graph: recall@10 0.977 with the product's 400 candidates, at about the
cost of an unfiltered search (docs/BENCHMARKS.md). The search query names ``v.owner_id``
for "mine" searches (search.retrieval.rank), so PostgreSQL picks the smaller index itself.

Owners whose vectors fit the exact scan (SEARCH_EXACT_MAX_ITEMS) need none, and neither
does an owner holding most of a space (the space's graph serves them). The indexes are kept
by the maintenance queue (tasks.sync_owner_indexes, periodic), built CONCURRENTLY so uploads
are never blocked, and dropped when their owner's share no longer calls for one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from media_index.models import EmbeddingSpace
from media_index.search.retrieval import owner_indexes
from media_index.services.spaces import hnsw_parameters

logger = logging.getLogger(__name__)

def owner_index_name(space: EmbeddingSpace, owner_id: int) -> str:
    return space.owner_index_name(owner_id)


@dataclass
class OwnerIndexReport:
    built: list[tuple[int, int]] = field(default_factory=list)  # (space, owner)
    dropped: list[tuple[int, int]] = field(default_factory=list)
    kept: list[tuple[int, int]] = field(default_factory=list)


def _existing(space: EmbeddingSpace) -> dict[int, bool]:
    """The space's owner indexes on the primary: owner id → valid."""
    with connection.cursor() as cursor:
        return owner_indexes(cursor, space)


def owners_needing_an_index(space: EmbeddingSpace) -> dict[int, int]:
    """Owner id → vector count, for the owners of ``space`` that should have an index of
    their own: more vectors than an exact scan takes (SEARCH_OWNER_INDEX_MIN_VECTORS) and at
    most SEARCH_OWNER_INDEX_MAX_SHARE of the space; the largest SEARCH_OWNER_INDEXES_MAX."""
    minimum = settings.SEARCH_OWNER_INDEX_MIN_VECTORS
    if minimum <= 0:
        return {}
    with connection.cursor() as cursor:
        # One pass over the space's rows (about a second per million), in the maintenance queue.
        cursor.execute(
            "SELECT owner_id, count(*) FROM media_index_vector WHERE space_id = %s AND owner_id IS NOT NULL "
            "GROUP BY owner_id",
            [space.pk],
        )
        counts = dict(cursor.fetchall())
    total = sum(counts.values())
    eligible = {owner: count for owner, count in counts.items()
                if count >= minimum and count <= settings.SEARCH_OWNER_INDEX_MAX_SHARE * total}  # fmt: skip
    largest = sorted(eligible.items(), key=lambda pair: (-pair[1], pair[0]))[: settings.SEARCH_OWNER_INDEXES_MAX]
    return dict(largest)


def _build(space: EmbeddingSpace, owner_id: int, vectors: int) -> None:
    name = owner_index_name(space, owner_id)
    m, ef_construction = hnsw_parameters(vectors)
    # CONCURRENTLY: uploads keep writing the table while the index builds. It cannot run in
    # a transaction block (a test's, for example): there the plain build is used.
    concurrently = "" if connection.in_atomic_block else "CONCURRENTLY "
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {concurrently}IF EXISTS {name}")  # an invalid leftover
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [settings.HNSW_BUILD_MEMORY])
        try:
            cursor.execute(
                f"CREATE INDEX {concurrently}{name} ON media_index_vector "
                f"USING hnsw ((embedding::halfvec({int(space.dimension)})) halfvec_cosine_ops) "
                f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)}) "
                f"WHERE space_id = {int(space.pk)} AND owner_id = {int(owner_id)}"
            )
        finally:
            cursor.execute("RESET maintenance_work_mem")


def _drop(space: EmbeddingSpace, owner_id: int) -> None:
    concurrently = "" if connection.in_atomic_block else "CONCURRENTLY "
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {concurrently}IF EXISTS {owner_index_name(space, owner_id)}")


def space_owner_indexes_sync(*, space: EmbeddingSpace) -> OwnerIndexReport:
    """Build the owner indexes ``space`` should have and drop those it no longer needs.

    An index is dropped only when its owner falls to half the threshold (or leaves), so an
    owner near the line does not see theirs rebuilt and dropped in turn."""
    report = OwnerIndexReport()
    wanted = owners_needing_an_index(space)
    existing = _existing(space)
    for owner_id, valid in existing.items():
        if owner_id in wanted:
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM media_index_vector WHERE space_id = %s AND owner_id = %s",
                           [space.pk, owner_id])  # fmt: skip
            count = cursor.fetchone()[0]
        if valid and count >= settings.SEARCH_OWNER_INDEX_MIN_VECTORS // 2:
            report.kept.append((space.pk, owner_id))
            continue
        _drop(space, owner_id)
        report.dropped.append((space.pk, owner_id))
    for owner_id, count in wanted.items():
        if existing.get(owner_id):
            report.kept.append((space.pk, owner_id))
            continue
        logger.info("Building the owner index of owner %s in space %s (%d vectors)", owner_id, space.pk, count)
        _build(space, owner_id, count)
        report.built.append((space.pk, owner_id))
    return report


# Two maintenance workers must not build and drop the same index at once.
_SYNC_LOCK = 0x6F776E65  # "owne"


def owner_indexes_sync() -> OwnerIndexReport:
    """``space_owner_indexes_sync`` for every active space (the periodic maintenance task);
    nothing when another process is already at it."""
    report = OwnerIndexReport()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SYNC_LOCK])
        if not cursor.fetchone()[0]:
            return report
    try:
        for space in EmbeddingSpace.objects.filter(is_active=True).order_by("pk"):
            one = space_owner_indexes_sync(space=space)
            report.built += one.built
            report.dropped += one.dropped
            report.kept += one.kept
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_SYNC_LOCK])
    return report
