"""Lexical retrieval: BM25 over the items' words, stored in PostgreSQL.

Why sparse vectors and not PostgreSQL full-text search: ``ts_rank`` is not BM25 (no
inverse document frequency, no length saturation), and Chinese would need a segmenting
text-search parser that is not in PostgreSQL or pgvector's packages. Here the analysis
is ours (``text_analysis``: jieba for Chinese, Snowball for English, codes kept whole),
term frequencies are a pgvector ``sparsevec`` per item (written by
``services.lexical_index``), a GIN index on the term ids finds the candidates, and the
BM25 formula runs in SQL with IDF and the average length computed at query time, so
scores never go stale as items come and go. The same ``sparsevec`` type holds BGE-M3's
learned lexical weights.

The collection statistics (document count, average length, document frequencies) count
only the items the searcher may see: counted over everyone's items, the score of a word
in one's own note would reveal whether it also occurs in other users' private notes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from media_index.models import LexicalTerm
from media_index.replicas import read_connection
from media_index.search.text_analysis import query_terms

# pgvector's sparsevec allows up to 1e9 dimensions; term ids are far below.
SPARSE_DIM = 1_000_000_000
# BM25's usual constants (Robertson & Zaragoza; Lucene's defaults).
BM25_K1 = 1.2
BM25_B = 0.75
# Items ranked at most per query (as many as the dense side).
MAX_LEXICAL_HITS = 200
QUERY_MAX_TERMS = 32


@dataclass(frozen=True)
class LexicalHit:
    item_id: int
    score: float
    matched_terms: tuple[str, ...]
    kind: str
    # The share of the query's words the item holds, weighted by IDF (0..1): 1 when it
    # holds every word, however long it is or however often it repeats them.
    coverage: float


def _visible_statistics(
    term_ids: Sequence[int], visible_sql: str, visible_params: Sequence[object]
) -> tuple[int, float, dict[int, int]]:
    """(documents, average length, document frequency per term) over the visible items only."""
    with read_connection().cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(avg(d.length), 0) FROM media_index_lexicaldocument d "
            f"JOIN media_index_item i ON i.id = d.item_id WHERE i.status = 'ready' AND {visible_sql}",
            list(visible_params),
        )
        total, average = cursor.fetchone()
        cursor.execute(
            "SELECT t, (SELECT count(*) FROM media_index_lexicaldocument d JOIN media_index_item i ON i.id = d.item_id "
            f"          WHERE d.term_ids @> ARRAY[t] AND i.status = 'ready' AND {visible_sql}) "
            "FROM unnest(%s::int[]) AS t",
            [*visible_params, list(term_ids)],
        )
        return int(total), float(average), dict(cursor.fetchall())


def lexical_rank(
    *,
    text: str,
    visible_sql: str,
    visible_params: Sequence[object],
    limit: int = MAX_LEXICAL_HITS,
) -> list[LexicalHit]:
    """Items matching any term of ``text``, by BM25, best first.

    ``visible_sql`` is a condition on the item table aliased ``i`` (who may see it,
    kind, dates), built by the search service so both retrievers apply the same rules.
    """
    terms = list(dict.fromkeys(query_terms(text)))[:QUERY_MAX_TERMS]
    ids = dict(LexicalTerm.objects.filter(term__in=terms).values_list("term", "id"))
    if not ids:
        return []
    total, average_length, frequencies = _visible_statistics(list(ids.values()), visible_sql, visible_params)
    # BM25's IDF, in the non-negative form Lucene uses.
    idf = {
        term_id: math.log(1 + (max(total, df) - df + 0.5) / (df + 0.5)) for term_id, df in frequencies.items() if df
    }
    if not idf:
        return []
    # A query word no visible item holds is as informative as the rarest: "puppy qwzx" is
    # only half matched by a note about puppies.
    rarest = math.log(1 + (total + 0.5) / 0.5)
    full_match = sum(idf.values()) + rarest * (len(terms) - len(idf))
    term_by_id = {term_id: term for term, term_id in ids.items()}
    query_ids = list(idf)
    onehots = [f"{{{term_id}:1}}/{SPARSE_DIM}" for term_id in query_ids]
    sql = (
        "WITH q AS (SELECT * FROM unnest(%s::int[], %s::float8[], %s::text[]) AS q(term_id, idf, onehot)) "
        "SELECT d.item_id, sum(q.idf * f.tf * %s / (f.tf + %s * (1 - %s + %s * d.length / %s))) AS score, "
        "       array_agg(q.term_id), min(i.kind) "
        "FROM media_index_lexicaldocument d JOIN media_index_item i ON i.id = d.item_id "
        "CROSS JOIN q "
        "CROSS JOIN LATERAL (SELECT -(d.frequencies <#> q.onehot::sparsevec) AS tf) f "
        f"WHERE d.term_ids && %s::int[] AND f.tf > 0 AND i.status = 'ready' AND {visible_sql} "
        "GROUP BY d.item_id ORDER BY score DESC, d.item_id LIMIT %s"
    )
    params = [
        query_ids, [idf[term_id] for term_id in query_ids], onehots,
        BM25_K1 + 1, BM25_K1, BM25_B, BM25_B, max(average_length, 1.0),
        query_ids, *visible_params, limit,
    ]  # fmt: skip
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        LexicalHit(item_id, float(score), tuple(term_by_id[term_id] for term_id in sorted(matched)), kind,
                   min(1.0, sum(idf[term_id] for term_id in set(matched)) / full_match))  # fmt: skip
        for item_id, score, matched, kind in rows
    ]
