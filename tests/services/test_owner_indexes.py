"""Per-owner partial HNSW indexes: built for owners with a small share of a space, used by
their "mine" searches, dropped when no longer needed (services.owner_indexes)."""

from __future__ import annotations

import pytest
from django.db import connection

from media_index.models import Item, Vector
from media_index.search.explain import rank_plan
from media_index.search.retrieval import rank
from media_index.search.snippets import shown_hits
from media_index.search.types import SearchFilters
from media_index.services.items import item_set_owner
from media_index.services.owner_indexes import (
    owner_index_name,
    owner_indexes_sync,
    space_owner_indexes_sync,
)
from tests.factories import index_definition, make_item, make_space, unit


@pytest.fixture
def thresholds(settings):  # noqa: ANN001, ANN201
    settings.SEARCH_OWNER_INDEX_MIN_VECTORS = 4
    settings.SEARCH_OWNER_INDEX_MAX_SHARE = 0.3
    settings.SEARCH_EXACT_MAX_ITEMS = 0  # the graph, never an exact scan: what the index serves
    return settings


@pytest.fixture
def people(django_user_model):  # noqa: ANN001, ANN201
    return tuple(django_user_model.objects.create_user(name) for name in ("alice", "bob", "carol"))


def _collection(people):  # noqa: ANN001, ANN202
    alice, bob, carol = people
    space = make_space()
    for index in range(20):
        make_item(bob, space, [unit(1, index / 20)], title=f"bob-{index}")
    for index in range(5):
        make_item(alice, space, [unit(index / 5, 1)], title=f"alice-{index}", visibility="private")
    for index in range(2):
        make_item(carol, space, [unit(1, 1, index)], title=f"carol-{index}")
    return space


def _ranking_plan(space, viewer) -> tuple[str, list[str]]:  # noqa: ANN001
    """The plan PostgreSQL chooses for ``viewer``'s "mine" search SQL under the session
    settings the search itself made (replayed), and the titles it found."""
    explained = rank_plan(space=space, query=unit(1, 1), viewer=viewer, filters=SearchFilters(scope="mine"))
    return explained.plan, [hit.item.title for hit in shown_hits(explained.hits)]


@pytest.mark.django_db(transaction=True)  # CREATE INDEX CONCURRENTLY: outside any transaction, as in the worker
def test_a_small_share_owner_gets_an_index_of_their_own_that_their_searches_use(people, thresholds) -> None:
    alice, bob, carol = people
    space = _collection(people)
    try:
        report = space_owner_indexes_sync(space=space)

        # Alice: 5 of 27 vectors. Bob holds 74 % (the space's graph serves him); Carol's 2
        # are below the threshold (an exact scan's job).
        assert report.built == [(space.pk, alice.pk)]
        definition = index_definition(owner_index_name(space, alice.pk))
        assert f"(space_id = {space.pk})" in definition and f"(owner_id = {alice.pk})" in definition
        assert "hnsw" in definition and "halfvec" in definition
        plan, titles = _ranking_plan(space, alice)
        assert owner_index_name(space, alice.pk) in plan
        assert titles == ["alice-4", "alice-3", "alice-2", "alice-1", "alice-0"]
        plan, titles = _ranking_plan(space, bob)
        assert owner_index_name(space, alice.pk) not in plan
        assert len(titles) == 20 and all(title.startswith("bob-") for title in titles)

        # Again: nothing to do. Then Alice keeps 2 items (half the threshold): kept; 1: dropped.
        assert owner_indexes_sync().kept == [(space.pk, alice.pk)]
        Item.objects.filter(owner=alice, title__in=["alice-0", "alice-1", "alice-2"]).delete()
        assert space_owner_indexes_sync(space=space).kept == [(space.pk, alice.pk)]
        Item.objects.filter(owner=alice, title="alice-3").delete()
        assert space_owner_indexes_sync(space=space).dropped == [(space.pk, alice.pk)]
        assert index_definition(owner_index_name(space, alice.pk)) is None
        assert _ranking_plan(space, alice)[1] == ["alice-4"]
    finally:
        with connection.cursor() as cursor:  # indexes outlive the test's flush: remove them
            cursor.execute(f"DROP INDEX IF EXISTS {owner_index_name(space, alice.pk)}")


@pytest.mark.django_db
def test_an_invalid_leftover_is_rebuilt_and_a_second_sync_waits_for_none(people, thresholds) -> None:
    alice, _, _ = people
    space = _collection(people)
    with connection.cursor() as cursor:  # the test's transaction: no index build with checks pending
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    space_owner_indexes_sync(space=space)
    with connection.cursor() as cursor:  # what a concurrent build killed halfway leaves
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass",
                       [owner_index_name(space, alice.pk)])  # fmt: skip

    report = space_owner_indexes_sync(space=space)

    assert report.built == [(space.pk, alice.pk)] and report.dropped == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = %s::regclass",
                       [owner_index_name(space, alice.pk)])  # fmt: skip
        assert cursor.fetchone()[0] is True


@pytest.mark.django_db
def test_an_item_given_to_someone_else_takes_its_vectors_along(people) -> None:
    alice, bob, _ = people
    space = make_space()
    item = make_item(alice, space, [unit(1), unit(0, 1)], kind="note", title="shared")

    item_set_owner(item=item, owner_id=bob.pk)

    assert Item.objects.get(pk=item.pk).owner_id == bob.pk
    assert set(Vector.objects.filter(item=item).values_list("owner_id", flat=True)) == {bob.pk}
    found = rank(space=space, query=unit(1), viewer=bob, filters=SearchFilters(scope="mine"))
    assert [hit.item_id for hit in found] == [item.pk]
    assert rank(space=space, query=unit(1), viewer=alice, filters=SearchFilters(scope="mine")) == []


@pytest.mark.django_db
def test_owner_indexes_can_be_turned_off(people, thresholds) -> None:
    space = _collection(people)
    thresholds.SEARCH_OWNER_INDEX_MIN_VECTORS = 0  # before anything is built: no DDL in this transaction

    assert space_owner_indexes_sync(space=space).built == []
