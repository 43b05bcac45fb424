"""Search: the one entry point of the page and the API.

Words, a picture or both are embedded by the searched space's own model (``query``),
ranked by the retrievers (``retrieval``: dense, BM25, a text space), fused (``fusion``)
and split into relevant results and weaker matches. What a result shows is made by
``snippets`` for the hits on the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models.functions import Coalesce
from pgvector import SparseVector

from media_index.embedding.registry import config_for_space, get_embedder
from media_index.errors import InvalidInput, NotFound
from media_index.models import EmbeddingSpace, Item, Vector
from media_index.replicas import on_replica
from media_index.search.fusion import RankedList, fuse, fuse_calibrated, relevance_cutoff
from media_index.search.query import combine_queries, embed_text_query, normalize_words, query_vector
from media_index.search.retrieval import MAX_RANKED_ITEMS, dense_hits_for_items, rank, rank_lexical, rank_sparse
from media_index.search.types import MODES, Mode, QueryKind, SearchFilters, SearchHit, SearchResult
from media_index.selectors import active_space, active_text_space
from media_index.services.calibration import space_calibration
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


def _text_space_query(text: str, filters: SearchFilters) -> tuple[EmbeddingSpace, object] | None:
    """The active text-only space and its embedder, when there is one and the query has
    words for it; the query's length is checked against that model's own limit."""
    space = active_text_space()
    if space is None or not text or filters.kind == Item.Kind.IMAGE:
        return None
    embedder = get_embedder(config_for_space(space))
    if embedder.count_tokens(text) > space.max_tokens:
        raise InvalidInput(f"The query is too long for the text model ({space.max_tokens} tokens at most).")
    return space, embedder


def _text_space_lists(
    *, text: str, viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters, mode: Mode
) -> list[RankedList]:
    """The active text-only space's rankings of notes (BGE-M3 dense, and its learned
    lexical weights in hybrid mode) for reciprocal rank fusion: the path when that space
    has no calibration yet (``_with_text_space`` is the calibrated one)."""
    found = _text_space_query(text, filters)
    if found is None:
        return []
    space, embedder = found
    dense, sparse = embedder.embed_texts_with_sparse([text])  # type: ignore[attr-defined]
    lists = [RankedList.dense(rank(space=space, query=dense[0], viewer=viewer, filters=filters))]
    if mode == "hybrid" and sparse[0]:
        query = SparseVector(sparse[0], embedder.vocab_size).to_text()  # type: ignore[attr-defined]
        lists.append(RankedList.lexical(rank_sparse(space=space, query=query, viewer=viewer, filters=filters)))
    return lists


def _with_text_space(
    space: EmbeddingSpace, query: np.ndarray, dense: list[SearchHit], *, text: str,
    viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters,
) -> list[SearchHit] | None:
    """``dense`` (the image-text space's calibrated hits) with each note's meaning also read
    by the text-only space's model, on that space's own calibrated scale: a note's relevance
    is the better of the two readings, so pictures and notes still share one scale and one
    relevance line. Notes only the text model found join with both readings. None when
    either space is uncalibrated (then reciprocal rank fusion joins them, without a line).
    The text model's learned lexical weights are not used here: BM25 is the word signal."""
    found = _text_space_query(text, filters)
    if found is None:
        return dense
    text_space, embedder = found
    calibration = space_calibration(space=text_space) if settings.SEARCH_CALIBRATION else None
    if calibration is None or calibration.stats("text", Item.Kind.NOTE) is None \
            or any(hit.relevance is None for hit in dense):  # fmt: skip
        return None
    vector = embedder.embed_texts([text])[0]
    notes = rank(space=text_space, query=vector, viewer=viewer, filters=replace(filters, kind=Item.Kind.NOTE))
    known = {hit.item_id: hit for hit in dense}
    extra = dense_hits_for_items(space, query, [hit.item_id for hit in notes if hit.item_id not in known])
    # ``dense`` is calibrated already (and, in hybrid mode, holds every word match: none is cut).
    merged = {hit.item_id: hit for hit in dense + _calibrated(space, extra, "text")}
    for note in notes:
        hit = merged.get(note.item_id)
        reading = calibration.relevance("text", Item.Kind.NOTE, note.dense_score if note.dense_score is not None
                                        else note.score)  # fmt: skip
        if hit is None or reading is None or (hit.relevance is not None and hit.relevance >= reading):
            continue
        # The text model reads this note better: its passage and its relevance.
        hit.relevance = hit.score = reading
        hit.chunk, hit.span = note.chunk, note.span
        hit.signals = ("dense",) if reading >= 0 else ()
    # Not cut here: ``dense`` may hold lexical matches (hybrid) that fusion must see.
    return _best_first(merged.values())


def _dense(
    *, space: EmbeddingSpace, query: np.ndarray, viewer: AbstractBaseUser | AnonymousUser, filters: SearchFilters,
    query_kind: QueryKind, exclude_item: int | None = None,
) -> list[SearchHit]:
    """Dense hits with their calibrated relevance, best first.

    Pictures and notes are fetched separately: ranked by raw cosine, one kind's candidates
    could crowd out the other's (text-to-text cosines sit far above text-to-picture ones),
    and calibration can only reorder what was fetched.
    """
    kinds = [filters.kind] if filters.kind else [Item.Kind.IMAGE, Item.Kind.NOTE]
    hits = [hit for kind in kinds
            for hit in rank(space=space, query=query, viewer=viewer, filters=replace(filters, kind=kind),
                            exclude_item=exclude_item)]  # fmt: skip
    return _calibrated(space, hits, query_kind)


def _best_first(hits: Iterable[SearchHit]) -> list[SearchHit]:
    return sorted(hits, key=lambda hit: (-hit.score, hit.item_id))


def _calibrated(space: EmbeddingSpace, hits: list[SearchHit], query_kind: QueryKind) -> list[SearchHit]:
    """Set each dense hit's relevance on the space's calibrated scale and order by it."""
    calibration = space_calibration(space=space) if settings.SEARCH_CALIBRATION else None
    if calibration is None:  # off, or nothing to calibrate against yet: raw cosines
        return _best_first(hits)
    for hit in hits:
        hit.relevance = calibration.relevance(query_kind, hit.kind, hit.dense_score)
        if hit.relevance is not None:
            hit.score = hit.relevance
        if hit.relevance is None or hit.relevance < 0:
            hit.signals = ()
    return _best_first(hits)[:MAX_RANKED_ITEMS]


def _finish(
    space: EmbeddingSpace,
    hits: list[SearchHit],
    filters: SearchFilters,
    *,
    mode: Mode = "dense",
    weaker: list[SearchHit] | None = None,
) -> SearchResult:
    """Split off the weaker matches (unless the caller did) and apply the sort order.

    Calibrated hits are relevant when their relevance is at least 0 (the space's line
    between a match and what unrelated queries reach), tightened at a cliff in the curve
    above that line; uncalibrated dense hits are cut at the cliff alone. Every lexical hit
    contains query words: all are matches.
    """
    if weaker is None:
        if mode == "lexical":
            keep = len(hits)
        elif hits and all(hit.relevance is not None for hit in hits):
            above = [hit for hit in hits if hit.relevance >= 0]
            keep = relevance_cutoff([hit.score for hit in above])
        else:
            keep = relevance_cutoff([hit.score for hit in hits])
        hits, weaker = hits[:keep], hits[keep:]
    if filters.sort == "date":
        # Newest first by when it was taken (EXIF), else uploaded.
        created = dict(Item.objects.filter(pk__in=[hit.item_id for hit in hits])
                       .annotate(shown=Coalesce("taken_at", "created_at")).values_list("pk", "shown"))  # fmt: skip
        hits = sorted((hit for hit in hits if hit.item_id in created),
                      key=lambda hit: (created[hit.item_id], hit.item_id), reverse=True)  # fmt: skip
    return SearchResult(space=space, hits=hits, weaker=weaker, mode=mode)


@on_replica
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
    or "hybrid" (both: calibrated meaning plus the share of the query's words an item
    holds, see ``fusion.fuse_calibrated``); by default hybrid when there are words and no
    picture, else dense.
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
            hits = rank_lexical(text=words, viewer=viewer, filters=filters)
        for hit in hits:
            hit.relevance = hit.coverage
        return _finish(space, hits, filters, mode=mode)
    query_kind: QueryKind = "image" if image is not None else "text"
    # The stages are reported in the Server-Timing header (media_index.timing).
    with timed("embed"):
        query = query_vector(space=space, words=words, image=image)
    with timed("dense"):
        dense = _dense(space=space, query=query, viewer=viewer, filters=filters, query_kind=query_kind)
    lexical: list[SearchHit] = []
    if mode == "hybrid":
        with timed("lexical"):
            lexical = rank_lexical(text=words, viewer=viewer, filters=filters)
            # Lexical matches the dense candidates missed get their exact cosine too: every
            # item of the fused list has a calibrated meaning score.
            known = {hit.item_id for hit in dense}
            extra = dense_hits_for_items(space, query, [hit.item_id for hit in lexical if hit.item_id not in known])
        # Only the word matches are new (the dense hits are calibrated); every one of them
        # stays in, however low its meaning: fusion ranks them and cuts the fused list.
        dense = _best_first(dense + _calibrated(space, extra, query_kind))
    companions: list[RankedList] = []
    if query_kind == "text":  # words alone: the text-only space (BGE-M3) reads the notes too
        with timed("text_space"):
            merged = _with_text_space(space, query, dense, text=words, viewer=viewer, filters=filters)
            if merged is None:  # a space not calibrated yet: rank fusion
                companions = _text_space_lists(text=words, viewer=viewer, filters=filters, mode=mode)
            else:
                # Whole for fusion (it may hold word matches); a dense list keeps its best.
                dense = merged if mode == "hybrid" else merged[:MAX_RANKED_ITEMS]
    if mode == "dense" and not companions:
        return _finish(space, dense, filters)
    if companions or settings.SEARCH_FUSION == "rrf" or any(hit.relevance is None for hit in dense):
        # Uncalibrated scores (a text space or a space not calibrated yet): rank fusion joins them.
        lists = [RankedList("dense", dense, {hit.item_id for hit in dense if "dense" in hit.signals})]
        if lexical:
            lists.append(RankedList.lexical(lexical))
        matches, weaker = fuse(lists + companions)
        return _finish(space, matches, filters, mode=mode, weaker=weaker)
    return _finish(space, fuse_calibrated(dense, lexical), filters, mode=mode)


@on_replica
def search_by_vector(
    *,
    viewer: AbstractBaseUser | AnonymousUser,
    space_id: int,
    vector: Sequence[float],
    filters: SearchFilters = SearchFilters(),  # noqa: B008
    words: str = "",
) -> SearchResult:
    """Search with a query vector embedded earlier in the same space (a picture query being
    paged), refined by ``words`` when given: the normalised mean of the two vectors, as
    for a picture and words sent together."""
    space = resolve_space(space_id)
    query = np.asarray(vector, dtype=np.float32)
    words = normalize_words(words)
    if words:
        query = combine_queries([query, embed_text_query(space=space, text=words)])
    return _finish(space, _dense(space=space, query=query, viewer=viewer, filters=filters, query_kind="image"),
                   filters)  # fmt: skip


@on_replica
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
    query_kind: QueryKind = "image" if item.kind == Item.Kind.IMAGE else "text"
    hits = _dense(space=space, query=query, viewer=viewer, filters=filters, query_kind=query_kind,
                  exclude_item=item.pk)  # fmt: skip
    return _finish(space, hits, filters)
