"""Retrieval quality on your own data: recall@k, MRR and nDCG@10 for a file of queries.

A query file has one JSON object per line::

    {"query": "cute puppy", "relevant": ["dog-1.png", 42], "lang": "en"}
    {"image": "queries/dog.jpg", "relevant": ["dog-2.png"]}
    {"query": "qwzx", "relevant": [], "type": "nonsense"}

A query with an empty ``relevant`` list is a nonsense query: the right answer is "nothing
relevant" (no result above the relevance cutoff).

``relevant`` names items by id or by their original file name (titles are accepted for
notes typed without a file); ``image`` is a path relative to the query file. Every
query runs through the same search service as the page and the API (the model of the
searched space embeds it), over every item regardless of owner, and the full ranked
list (the weaker matches included) is scored.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from media_index.errors import InvalidInput
from media_index.models import Item
from media_index.search.service import search_by_query
from media_index.search.types import SearchFilters

CUTOFFS = (1, 5, 10)


@dataclass(frozen=True)
class EvalQuery:
    line: int
    text: str
    image: Path | None
    relevant: tuple[str, ...]
    lang: str | None
    kind: str | None = None


def load_queries(path: str | Path) -> list[EvalQuery]:
    """Parse and check a query file; a mistake names its line."""
    path = Path(path)
    queries = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"{path}:{number}: not JSON ({error.msg}).") from error
        if not isinstance(entry, dict):
            raise InvalidInput(f"{path}:{number}: expected an object.")
        text, image = str(entry.get("query") or "").strip(), entry.get("image")
        relevant = entry.get("relevant")
        if not text and not image:
            raise InvalidInput(f"{path}:{number}: needs 'query', 'image' or both.")
        if not isinstance(relevant, list):
            raise InvalidInput(f"{path}:{number}: 'relevant' must be a list of item ids or file names ([] for nonsense).")
        kind = entry.get("kind")
        if kind not in (None, *Item.Kind.values):
            raise InvalidInput(f"{path}:{number}: 'kind' must be one of {', '.join(Item.Kind.values)}.")
        image_path = (path.parent / image) if image else None
        if image_path is not None and not image_path.is_file():
            raise InvalidInput(f"{path}:{number}: no picture at {image_path}.")
        queries.append(EvalQuery(number, text, image_path, tuple(str(name) for name in relevant), entry.get("lang"),
                                 kind))  # fmt: skip
    if not queries:
        raise InvalidInput(f"{path}: no queries.")
    return queries


def resolve_relevant(names: Sequence[str]) -> set[int]:
    """Item ids for ids, original file names or (for notes) titles."""
    ids = {int(name) for name in names if name.isdigit()}
    words = [name for name in names if not name.isdigit()]
    if words:
        ids |= set(Item.objects.filter(Q(original_name__in=words) | Q(title__in=words)).values_list("pk", flat=True))
    return ids


def _scores(ranked: Sequence[int], relevant: set[int], shown: Sequence[int], kinds: dict[int, str]) -> dict[str, float]:
    """Ranking metrics of the full list (``ranked``), plus what the relevant part (``shown``,
    above the cutoff) and the mixed top 5 hold: relevant pictures and notes separately."""
    scores = {f"recall@{k}": len(relevant & set(ranked[:k])) / len(relevant) for k in CUTOFFS}
    scores["p@5"] = len(relevant & set(ranked[:5])) / 5
    scores["kept"] = 1.0 if relevant & set(shown) else 0.0
    for kind in ("image", "note"):
        scores[f"top5_{kind}s"] = float(sum(1 for pk in ranked[:5] if pk in relevant and kinds.get(pk) == kind))
    first = next((position for position, item in enumerate(ranked, start=1) if item in relevant), None)
    scores["mrr"] = 1.0 / first if first else 0.0
    dcg = sum(1.0 / math.log2(position + 1) for position, item in enumerate(ranked[:10], start=1) if item in relevant)
    ideal = sum(1.0 / math.log2(position + 1) for position in range(1, min(len(relevant), 10) + 1))
    scores["ndcg@10"] = dcg / ideal
    return scores


def _pictures_in_mixed_and_alone(
    query: EvalQuery, ranked: Sequence[int], relevant: set[int], *, space_id: int | None, mode: str | None,
    exact: bool,
) -> tuple[float, float]:
    """Text-to-picture P@5 twice: of the first five pictures in the mixed list, and of a
    pictures-only search for the same query. Equal when mixing in the notes costs the
    pictures nothing (neither their place among themselves nor their candidates)."""
    images = set(Item.objects.filter(pk__in=list(ranked), kind=Item.Kind.IMAGE).values_list("pk", flat=True))
    in_mixed = [pk for pk in ranked if pk in images][:5]
    try:
        alone = search_by_query(viewer=AnonymousUser(), text=query.text, image=query.image.read_bytes() if query.image
                                else None, filters=SearchFilters(scope="any", exact=exact, kind=Item.Kind.IMAGE),
                                space_id=space_id, mode=mode)  # fmt: skip
        alone_ranked = [hit.item_id for hit in alone.hits + alone.weaker][:5]
    except InvalidInput:
        alone_ranked = []
    return len(relevant & set(in_mixed)) / 5, len(relevant & set(alone_ranked)) / 5


def _mean(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    return {name: sum(row[name] for row in rows) / len(rows) for name in rows[0]} if rows else {}


def evaluate_queries(
    queries: Sequence[EvalQuery], *, space_id: int | None = None, mode: str | None = None, exact: bool = False
) -> dict:
    """Mean metrics over ``queries`` (and per ``lang``), plus each query's rank of its first hit.

    ``mode`` as in search (None: hybrid for words, dense for pictures). A mode that does
    not apply to a query (lexical for a picture) counts it as a miss, so modes are
    compared on the same queries.
    """
    per_query, by_lang = [], defaultdict(list)
    nonsense, mixed, pictures = [], [], []
    for query in queries:
        filters = SearchFilters(scope="any", exact=exact, kind=query.kind)
        relevant = resolve_relevant(query.relevant)
        if query.relevant and not relevant:
            raise InvalidInput(f"line {query.line}: none of {list(query.relevant)} is an item here.")
        image = query.image.read_bytes() if query.image else None
        try:
            result = search_by_query(viewer=AnonymousUser(), text=query.text, image=image, filters=filters,
                                     space_id=space_id, mode=mode)  # fmt: skip
            ranked = [hit.item_id for hit in result.hits + result.weaker]
            shown = [hit.item_id for hit in result.hits]
        except InvalidInput:
            ranked, shown = [], []
        if not relevant:
            nonsense.append({"line": query.line, "query": query.text, "answered_nothing": not shown})
            continue
        kinds = dict(Item.objects.filter(pk__in=list(relevant)).values_list("pk", "kind"))
        scores = _scores(ranked, relevant, shown, kinds)
        if {"image", "note"} <= set(kinds.values()):
            mixed.append(1.0 if scores["top5_images"] and scores["top5_notes"] else 0.0)
            pictures.append(_pictures_in_mixed_and_alone(query, ranked, relevant, space_id=space_id, mode=mode,
                                                         exact=exact))  # fmt: skip
        per_query.append({"line": query.line, "query": query.text or str(query.image), "lang": query.lang,
                          "first_relevant_rank": next((n for n, pk in enumerate(ranked, 1) if pk in relevant), None),
                          **scores})  # fmt: skip
        by_lang[query.lang or "all"].append(scores)
    overall = _mean([{name: row[name] for name in row if name not in ("line", "query", "lang", "first_relevant_rank")}
                     for row in per_query])  # fmt: skip
    if mixed:
        # Queries whose relevant set holds both kinds: the mixed top 5 shows one of each.
        overall["both_kinds@5"] = sum(mixed) / len(mixed)
        overall["image_p@5_mixed"] = sum(row[0] for row in pictures) / len(pictures)
        overall["image_p@5_alone"] = sum(row[1] for row in pictures) / len(pictures)
    return {
        "queries": len(per_query),
        "metrics": overall,
        "nonsense": {
            "queries": len(nonsense),
            "answered_nothing": sum(row["answered_nothing"] for row in nonsense) / len(nonsense) if nonsense else None,
            "per_query": nonsense,
        },
        "per_language": (
            {lang: _mean(rows) for lang, rows in sorted(by_lang.items())} if any(q.lang for q in queries) else {}
        ),
        "per_query": per_query,
    }
