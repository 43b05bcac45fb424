"""The plan PostgreSQL runs for a dense search, for benchmarks and tests (not the request path).

``rank`` sets session options for its own transaction (``SET LOCAL``: the HNSW search
width, iterative scans, and for an owner with a partial index of their own
``enable_sort = off``), so a plan read with a bare ``EXPLAIN`` of its SQL would be another
query's plan. ``rank_plan`` runs the search, then replays those settings before explaining
its ranking statement.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from media_index.embedding.base import Vectors
from media_index.models import EmbeddingSpace
from media_index.search import retrieval
from media_index.search.types import SearchFilters, SearchHit

# Every index of the app's tables is named media_index_...: what a plan line names.
_INDEX_PREFIX = "media_index_"


@dataclass(frozen=True)
class RankPlan:
    hits: list[SearchHit]
    plan: str

    @property
    def indexes(self) -> list[str]:
        """The app's indexes the plan reads, sorted."""
        return sorted({word for line in self.plan.splitlines() for word in line.split()
                       if word.startswith(_INDEX_PREFIX)})  # fmt: skip


def rank_plan(
    *, space: EmbeddingSpace, query: Vectors, viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters
) -> RankPlan:
    """``retrieval.rank``'s hits and the plan of its ranking SQL under its own settings
    (the per-process list of owner indexes is re-read first, as a fresh process would)."""
    retrieval._owners_with_an_index_at.cache_clear()
    with CaptureQueriesContext(connection) as captured:
        hits = retrieval.rank(space=space, query=query, viewer=viewer, filters=filters)
    statements = [entry["sql"] for entry in captured.captured_queries]
    [ranking] = [statement for statement in statements if f"LIMIT {retrieval.CANDIDATE_VECTORS}" in statement]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            if statement.startswith("SET LOCAL"):
                cursor.execute(statement)
        cursor.execute("EXPLAIN " + ranking)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return RankPlan(hits=hits, plan=plan)
