"""Search: the one entry point of the page and the API.

Words, a picture or both are embedded by the searched space's own model (``query``),
ranked by the retrievers (``retrieval``: dense, BM25, a text space), fused (``fusion``)
and split into relevant results and weaker matches. What a result shows is made by
``snippets`` for the hits on the page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from pgvector import SparseVector

from media_index.embedding.registry import get_embedder
from media_index.errors import InvalidInput, NotFound
from media_index.models import EmbeddingSpace, Item, Vector
from media_index.search.fusion import RankedList, fuse, relevance_cutoff
from media_index.search.query import normalize_words, query_vector
from media_index.search.retrieval import dense_hits_for_items, rank, rank_lexical, rank_sparse
from media_index.search.types import MODES, Mode, SearchFilters, SearchHit, SearchResult
from media_index.selectors import active_space, active_text_space
from media_index.services.spaces import space_config
from media_index.timing import timed


def active_space_or_error() -> EmbeddingSpace:
    space = active_space()
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


def _text_space_lists(
    *, text: str, viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters, mode: Mode
) -> list[RankedList]:
    """The active text-only space's rankings of notes (BGE-M3 dense, and its learned
    lexical weights in hybrid mode), when there is such a space and the query has words."""
    space = active_text_space()
    if space is None or not text or filters.kind == Item.Kind.IMAGE:
        return []
    embedder = get_embedder(space_config(space))
    if embedder.count_tokens(text) > space.max_tokens:
        raise InvalidInput(f"The query is too long for the text model ({space.max_tokens} tokens at most).")
    dense, sparse = embedder.embed_texts_with_sparse([text])  # type: ignore[attr-defined]
    lists = [RankedList.dense(rank(space=space, query=dense[0], viewer=viewer, filters=filters))]
    if mode == "hybrid" and sparse[0]:
        query = SparseVector(sparse[0], embedder.vocab_size).to_text()  # type: ignore[attr-defined]
        lists.append(RankedList.lexical(rank_sparse(space=space, query=query, viewer=viewer, filters=filters)))
    return lists


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
        created = dict(Item.objects.filter(pk__in=[hit.item_id for hit in hits]).values_list("pk", "created_at"))
        hits = sorted((hit for hit in hits if hit.item_id in created),
                      key=lambda hit: (created[hit.item_id], hit.item_id), reverse=True)  # fmt: skip
    return SearchResult(space=space, hits=hits, weaker=weaker, mode=mode)


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
    words = normalize_words(text)
    if mode is None:
        mode = "hybrid" if words and image is None else "dense"
    if mode not in MODES:
        raise InvalidInput(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.")
    if mode != "dense" and not words:
        raise InvalidInput("Lexical and hybrid search match words: type some.")
    if mode == "lexical" and image is not None:
        raise InvalidInput("A picture is searched by meaning: use mode dense or hybrid.")
    if mode == "lexical":
        with timed("lexical"):
            return _finish(space, rank_lexical(text=words, viewer=viewer, filters=filters), filters, mode=mode)
    # The stages are reported in the Server-Timing header (media_index.timing).
    with timed("embed"):
        query = query_vector(space=space, words=words, image=image)
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
            extra = dense_hits_for_items(space, query, [hit.item_id for hit in lexical if hit.item_id not in known])
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
