"""Embedding spaces: the record of which model made which vectors, and their HNSW indexes."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet

from media_index import dispatch
from media_index.embedding.base import SpaceSpec
from media_index.embedding.registry import ModelConfig, backend_for, config_for, get_embedder
from media_index.errors import InvalidInput
from media_index.models import EmbeddingSpace, Item, Vector
from media_index.selectors import active_space

logger = logging.getLogger(__name__)

# pgvector's defaults (m=16, ef_construction=64): recall@10 0.988 at 100k vectors with
# ef_search 200 on our benchmark's hard clustered data, but 0.745 at 1M (docs/BENCHMARKS.md);
# spaces expected to be large get a denser graph (HNSW_LARGE_*, see hnsw_parameters).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
# A space that is still being filled (a re-index) gets its index once it is complete:
# pgvector builds an index over loaded data faster than it grows one row by row, the build
# can be given memory and parallel workers of its own (bench search: 53 s for 100k vectors
# with the graph in memory vs 226 s with the 64 MB default), and nothing searches a space
# before it is active.


def space_get_or_create(
    *, spec: SpaceSpec, modality: str = EmbeddingSpace.Modality.IMAGE_TEXT, build_index: bool = True
) -> EmbeddingSpace:
    """The space for ``spec``, created the first time it is seen, with its HNSW index
    unless ``build_index`` is False (a re-index builds it once the space is full)."""
    identity = {
        "backend": spec.backend,
        "model_name": spec.model_name,
        "pretrained": spec.pretrained,
        "checkpoint_sha256": spec.checkpoint_sha256,
    }
    space = EmbeddingSpace.objects.filter(**identity).first()
    if space is None:
        try:
            with transaction.atomic():
                space = EmbeddingSpace.objects.create(
                    **identity,
                    dimension=spec.dimension,
                    max_tokens=spec.max_tokens,
                    metric=spec.metric,
                    normalized=spec.normalized,
                    modality=modality,
                )
        except IntegrityError:  # another worker created it first
            space = EmbeddingSpace.objects.get(**identity)
    if build_index:
        space_index_ensure(space=space)
    return space


def space_index_exists(space: EmbeddingSpace) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [space.index_name])
        return cursor.fetchone() is not None


def hnsw_parameters(vectors: int) -> tuple[int, int]:
    """(m, ef_construction) of an HNSW index over about ``vectors`` rows: pgvector's
    defaults below HNSW_LARGE_VECTORS, a denser graph from there (a build several times
    longer, paid once, for the recall a million-row graph with the defaults lacks)."""
    if vectors >= settings.HNSW_LARGE_VECTORS:
        return settings.HNSW_LARGE_M, settings.HNSW_LARGE_EF_CONSTRUCTION
    return HNSW_M, HNSW_EF_CONSTRUCTION


def space_index_ensure(*, space: EmbeddingSpace) -> None:
    """Create the space's partial HNSW index if it does not exist yet.

    The index is on ``embedding::halfvec(dim)``: half the size of a float32
    index, so more of it stays in memory, while the table keeps full-precision
    vectors for exact re-ranking. Searches must use exactly this expression. The
    build gets HNSW_BUILD_MEMORY and HNSW_BUILD_WORKERS for its own transaction
    (pgvector builds far faster when the graph fits in maintenance_work_mem). Its graph
    parameters follow the space's size: the vectors it holds (a re-indexed space is
    indexed once full) or HNSW_EXPECTED_VECTORS, whichever is larger (a new install's
    first space starts empty and grows its index row by row).
    """
    if space_index_exists(space):
        return
    dim = int(space.dimension)
    m, ef_construction = hnsw_parameters(max(Vector.objects.filter(space=space).count(),
                                             settings.HNSW_EXPECTED_VECTORS))  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [settings.HNSW_BUILD_MEMORY])
        cursor.execute("SELECT set_config('max_parallel_maintenance_workers', %s, true)",
                       [str(settings.HNSW_BUILD_WORKERS)])  # fmt: skip
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {space.index_name} ON media_index_vector "
            f"USING hnsw ((embedding::halfvec({dim})) halfvec_cosine_ops) "
            f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)}) "
            f"WHERE space_id = {int(space.pk)}"
        )


def space_index_build_when_complete(*, space_id: int) -> bool:
    """Build a re-indexed space's HNSW index once it holds every item; False while items
    are still missing (the caller tries again later). The task ``build_space_index``,
    queued after a re-index's batches, runs this."""
    space = EmbeddingSpace.objects.filter(pk=space_id).first()
    if space is None or space_index_exists(space):
        return True
    if space_missing_item_ids(space):
        return False
    logger.info("Space %s is complete: building its HNSW index", space.pk)
    space_index_ensure(space=space)
    return True


def space_activate(*, space: EmbeddingSpace) -> EmbeddingSpace:
    """Make ``space`` the one searched by default for its modality, atomically."""
    with transaction.atomic():
        EmbeddingSpace.objects.filter(is_active=True, modality=space.modality).exclude(pk=space.pk).update(
            is_active=False
        )
        EmbeddingSpace.objects.filter(pk=space.pk).update(is_active=True)
    space.refresh_from_db()
    return space


def space_ensure_active(*, spec: SpaceSpec, modality: str = EmbeddingSpace.Modality.IMAGE_TEXT) -> EmbeddingSpace:
    """The active space of ``modality``; on a fresh install, the configured model's space becomes active."""
    active = active_space(modality=modality)
    if active is not None:
        return active
    space = space_get_or_create(spec=spec, modality=modality)
    try:
        return space_activate(space=space)
    except IntegrityError:  # a concurrent worker activated one first
        return active_space(modality=modality)  # type: ignore[return-value] - it exists now


def space_eligible_items(space: EmbeddingSpace) -> QuerySet[Item]:
    """The items that belong in ``space``: every ready item, or ready notes for a text space."""
    items = Item.objects.filter(status=Item.Status.READY)
    if space.modality == EmbeddingSpace.Modality.TEXT:
        items = items.filter(kind=Item.Kind.NOTE)
    return items


def space_missing_item_ids(space: EmbeddingSpace) -> list[int]:
    """Eligible items with no vector in ``space`` yet (what a re-index still has to do)."""
    embedded = Vector.objects.filter(space=space, item_id=OuterRef("pk"))
    return list(space_eligible_items(space).filter(~Exists(embedded)).order_by("pk").values_list("pk", flat=True))


def space_progress(space: EmbeddingSpace, *, among: QuerySet[Item] | None = None) -> tuple[int, int]:
    """(items embedded in ``space``, items that belong there), counted ``among`` those items
    only when given (what one viewer may see)."""
    eligible = space_eligible_items(space)
    if among is not None:
        eligible = eligible.filter(pk__in=among.values("pk"))
    return eligible.filter(vectors__space=space).distinct().count(), eligible.count()


def space_for_model(*, config: ModelConfig, build_index: bool = True) -> EmbeddingSpace:
    """The space of ``config``'s model (created if new, with its index unless
    ``build_index`` is False). Loads the model: its checkpoint hash and dimension identify
    the space."""
    embedder = get_embedder(config)
    return space_get_or_create(spec=embedder.spec, modality=backend_for(config.backend).modality,
                               build_index=build_index)  # fmt: skip


def space_reindex_start(*, space: EmbeddingSpace, batch_size: int | None = None) -> int:
    """Mark ``space`` as building and send every missing item to the workers in batches;
    returns how many were sent. Resumable: run it again and only what is missing goes.

    From now on new uploads are embedded into it too, so it stays complete. Search keeps
    using the active space until ``space_activate``. A space without its index gets it
    built once complete (``build_space_index``, queued behind the batches).
    """
    if not space.is_active and not space.is_building:
        EmbeddingSpace.objects.filter(pk=space.pk).update(is_building=True)
        space.is_building = True
    missing = space_missing_item_ids(space)
    size = batch_size or settings.INDEXING_BATCH_SIZE
    for start in range(0, len(missing), size):
        dispatch.send(dispatch.EMBED_INTO_SPACE, space.pk, missing[start : start + size])
    if not space_index_exists(space):
        dispatch.send(dispatch.BUILD_SPACE_INDEX, space.pk)
    logger.info("Re-index of %s: %d item(s) sent", space, len(missing))
    return len(missing)


def space_activate_checked(*, space: EmbeddingSpace, force: bool = False) -> EmbeddingSpace:
    """Activate ``space`` once it holds every item (or with ``force``); it stops building."""
    missing = space_missing_item_ids(space)
    if missing and not force:
        raise InvalidInput(
            f"{space} still misses {len(missing)} item(s); wait for the re-index to finish "
            f"(or activate with --force: those items would not be found until embedded)."
        )
    # A re-indexed space's index is normally built as its last batch completes; activating
    # earlier (or before that task ran) builds it here: search needs it.
    space_index_ensure(space=space)
    with transaction.atomic():
        space = space_activate(space=space)
        EmbeddingSpace.objects.filter(pk=space.pk).update(is_building=False)
    space.refresh_from_db()
    return space


def space_drop(*, space: EmbeddingSpace) -> int:
    """Delete a space that is not active: its vectors, its HNSW index, its row. Returns
    how many vectors went."""
    if space.is_active:
        raise InvalidInput(f"{space} is active; activate another space before dropping it.")
    deleted, _ = Vector.objects.filter(space=space).delete()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {space.index_name}")
    space.delete()
    return deleted


def space_reindex_begin(
    *, backend: str, model_name: str = "", pretrained: str = "", batch_size: int | None = None
) -> tuple[EmbeddingSpace, int]:
    """Re-index into another model: load it, create its space, queue every item; the one
    way the command, the admin's task and any caller start a re-index. Slow (it loads the
    model): the admin sends it to a worker with ``space_reindex_request``. An empty
    ``model_name`` or ``pretrained`` takes the backend's default from settings. Returns the space and how
    many items were queued."""
    config = config_for(backend, model_name=model_name or None, pretrained=pretrained or None)
    space = space_for_model(config=config, build_index=False)
    return space, space_reindex_start(space=space, batch_size=batch_size)


def space_reindex_request(*, backend: str, model_name: str, pretrained: str) -> None:
    """Ask a worker to run ``space_reindex_begin`` (the admin's "Re-index into another model")."""
    dispatch.send(dispatch.BEGIN_REINDEX, backend, model_name, pretrained)
