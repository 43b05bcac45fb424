"""Lexical retrieval: BM25 over the items' words, stored in PostgreSQL.

Why sparse vectors and not PostgreSQL full-text search: ``ts_rank`` is not BM25 (no
inverse document frequency, no length saturation), and Chinese would need a segmenting
text-search parser that is not in PostgreSQL or pgvector's packages. Here the analysis
is ours (``media_index.lexical``: jieba for Chinese, Snowball for English, codes kept
whole), term frequencies are a pgvector ``sparsevec`` per item, a GIN index on the term
ids finds the candidates, and the BM25 formula runs in SQL with IDF and the average
length computed at query time, so scores never go stale as items come and go. The same
``sparsevec`` type holds BGE-M3's learned lexical weights.
"""

from __future__ import annotations

import functools
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

from django.db import connection, transaction
from django.db.models import Q
from pgvector import SparseVector

from media_index.lexical import ANALYZER_VERSION, analyze, normalized, query_terms
from media_index.models import Item, LexicalDocument, LexicalTerm

# pgvector's sparsevec allows up to 1e9 dimensions; term ids are far below.
SPARSE_DIM = 1_000_000_000
# pgvector stores at most 16,000 non-zero entries per sparsevec: a very long note keeps
# its most frequent terms (a 2,000-word note has well under 2,000 distinct terms).
MAX_TERMS_PER_DOCUMENT = 16_000
# BM25's usual constants (Robertson & Zaragoza; Lucene's defaults).
BM25_K1 = 1.2
BM25_B = 0.75
# Items ranked at most per query (as many as the dense side).
MAX_LEXICAL_HITS = 200
QUERY_MAX_TERMS = 32
# The collection's size and average length change slowly; recount at most this often.
STATS_TTL_SECONDS = 10.0


@dataclass(frozen=True)
class LexicalHit:
    item_id: int
    score: float
    matched_terms: tuple[str, ...]


def lexical_text(item: Item) -> str:
    """What an item is found by: a note's title and text; a picture's title and file name."""
    if item.kind == Item.Kind.NOTE:
        return item.indexed_text
    stem = PurePath(item.original_name).stem.replace("_", " ") if item.original_name else ""
    return "\n".join(part for part in (item.title, stem) if part)


def _term_ids(terms: Iterable[str]) -> dict[str, int]:
    """Ids for ``terms``, adding new ones to the vocabulary."""
    wanted = sorted(set(terms))
    if not wanted:
        return {}
    # Sorted inserts take row locks in one order, so two workers cannot deadlock here.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO media_index_lexicalterm (term) SELECT unnest(%s::text[]) ON CONFLICT (term) DO NOTHING",
            [wanted],
        )
    return dict(LexicalTerm.objects.filter(term__in=wanted).values_list("term", "id"))


def lexical_index_items(*, items: Sequence[Item]) -> None:
    """(Re)build the lexical entries of ``items``; idempotent."""
    counts = {}
    for item in items:
        terms = Counter(term.text for term in analyze(lexical_text(item)))
        counts[item.pk] = Counter(dict(terms.most_common(MAX_TERMS_PER_DOCUMENT)))
    with transaction.atomic():
        ids = _term_ids(term for counter in counts.values() for term in counter)
        LexicalDocument.objects.filter(item_id__in=list(counts)).delete()
        LexicalDocument.objects.bulk_create([
            LexicalDocument(
                item_id=item_id,
                length=sum(counter.values()),
                analyzer=ANALYZER_VERSION,
                term_ids=sorted(ids[term] for term in counter),
                # SparseVector takes 0-based indices; stored 1-based, equal to the term id.
                frequencies=SparseVector({ids[term] - 1: float(n) for term, n in counter.items()}, SPARSE_DIM),
            )
            for item_id, counter in counts.items()
            if counter
        ])  # fmt: skip


@functools.lru_cache(maxsize=1)
def _stats_at(bucket: int) -> tuple[int, float]:
    del bucket  # only the cache key: a new bucket every STATS_TTL_SECONDS
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), coalesce(avg(length), 0) FROM media_index_lexicaldocument")
        count, average = cursor.fetchone()
    return int(count), float(average)


def collection_stats() -> tuple[int, float]:
    """(number of documents, average length), recounted every few seconds."""
    return _stats_at(int(time.monotonic() // STATS_TTL_SECONDS))


def _document_frequencies(term_ids: Sequence[int]) -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t, (SELECT count(*) FROM media_index_lexicaldocument WHERE term_ids @> ARRAY[t]) "
            "FROM unnest(%s::int[]) AS t",
            [list(term_ids)],
        )
        return dict(cursor.fetchall())


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
    terms = query_terms(text)[:QUERY_MAX_TERMS]
    ids = dict(LexicalTerm.objects.filter(term__in=terms).values_list("term", "id"))
    if not ids:
        return []
    total, average_length = collection_stats()
    frequencies = _document_frequencies(list(ids.values()))
    # BM25's IDF, in the non-negative form Lucene uses.
    idf = {
        term_id: math.log(1 + (max(total, df) - df + 0.5) / (df + 0.5)) for term_id, df in frequencies.items() if df
    }
    if not idf:
        return []
    term_by_id = {term_id: term for term, term_id in ids.items()}
    query_ids = list(idf)
    onehots = [f"{{{term_id}:1}}/{SPARSE_DIM}" for term_id in query_ids]
    sql = (
        "WITH q AS (SELECT * FROM unnest(%s::int[], %s::float8[], %s::text[]) AS q(term_id, idf, onehot)) "
        "SELECT d.item_id, sum(q.idf * f.tf * %s / (f.tf + %s * (1 - %s + %s * d.length / %s))) AS score, "
        "       array_agg(q.term_id) "
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
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        LexicalHit(item_id, float(score), tuple(term_by_id[term_id] for term_id in sorted(matched)))
        for item_id, score, matched in rows
    ]


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


def lexical_index_missing(*, batch_size: int = 500) -> int:
    """Index ready items whose lexical entry is missing or made by an older analyser."""
    done = 0
    outdated = Q(lexical__isnull=True) | Q(lexical__analyzer__lt=ANALYZER_VERSION)
    while True:
        batch = list(Item.objects.filter(outdated, status=Item.Status.READY).order_by("pk")[:batch_size])
        if not batch:
            return done
        lexical_index_items(items=batch)
        done += len(batch)


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
