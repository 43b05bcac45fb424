"""The lexical index's writes: each item's terms and their frequencies (BM25 reads them in
``media_index.search.bm25``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import PurePath

from django.db import connection, transaction
from django.db.models import Q
from pgvector import SparseVector

from media_index.models import Item, LexicalDocument, LexicalTerm
from media_index.search.bm25 import SPARSE_DIM
from media_index.search.text_analysis import ANALYZER_VERSION, analyze

# pgvector stores at most 16,000 non-zero entries per sparsevec: a very long note keeps
# its most frequent terms (a 2,000-word note has well under 2,000 distinct terms).
MAX_TERMS_PER_DOCUMENT = 16_000


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
