"""Ranking mechanics on hand-made vectors: visibility, filters, best chunk per note, the adaptive cutoff."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from media_index.errors import InvalidInput
from media_index.models import EmbeddingSpace
from media_index.search.fusion import relevance_cutoff
from media_index.search.retrieval import _ready_items_at, rank
from media_index.search.service import search_by_vector
from media_index.search.snippets import shown_hits
from media_index.search.types import SearchFilters
from tests.factories import DIM, make_item, make_space, unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def space():
    return make_space()


@pytest.fixture
def people(django_user_model):
    return django_user_model.objects.create_user("alice"), django_user_model.objects.create_user("bob")


def test_results_are_ranked_by_cosine_and_a_note_counts_by_its_best_chunk(space, people) -> None:
    alice, _ = people
    make_item(alice, space, [unit(1, 0.1)], title="close")
    make_item(alice, space, [unit(0.2, 1)], title="far")
    make_item(alice, space, [unit(0, 0, 1), unit(1, 0.3)], kind="note", title="note")

    hits = rank(space=space, query=unit(1, 0), viewer=alice, filters=SearchFilters())

    assert [hit.item.title for hit in shown_hits(hits)] == ["close", "note", "far"]
    assert hits[1].chunk == 1
    assert hits[0].score == pytest.approx(float(unit(1, 0.1) @ unit(1, 0)), abs=1e-5)


def test_private_items_are_seen_only_by_their_owner(space, people) -> None:
    alice, bob = people
    make_item(alice, space, [unit(1)], title="alice-private", visibility="private")
    make_item(bob, space, [unit(1)], title="bob-public")

    def titles(viewer, scope="all"):
        return sorted(hit.item.title for hit in shown_hits(rank(space=space, query=unit(1), viewer=viewer,
                                                      filters=SearchFilters(scope=scope))))  # fmt: skip

    assert titles(alice) == ["alice-private", "bob-public"]
    assert titles(bob) == ["bob-public"]
    assert titles(AnonymousUser()) == ["bob-public"]
    assert titles(alice, "mine") == ["alice-private"]
    assert titles(alice, "public") == ["bob-public"]
    with pytest.raises(InvalidInput):
        titles(AnonymousUser(), "mine")


def test_kind_date_and_status_filters(space, people) -> None:
    alice, _ = people
    make_item(alice, space, [unit(1)], title="old-picture", days_ago=30)
    make_item(alice, space, [unit(1)], kind="note", title="new-note")
    make_item(alice, space, [unit(1)], title="still-pending", status="pending")
    today = timezone.localdate()

    def titles(**filters):
        return [hit.item.title for hit in shown_hits(rank(space=space, query=unit(1), viewer=alice, filters=SearchFilters(**filters)))]

    assert sorted(titles()) == ["new-note", "old-picture"]
    assert titles(kind="note") == ["new-note"]
    assert titles(date_from=today - timedelta(days=2)) == ["new-note"]
    assert titles(date_to=today - timedelta(days=10)) == ["old-picture"]


def test_vectors_of_other_spaces_are_never_compared(space, people) -> None:
    alice, _ = people
    other = EmbeddingSpace.objects.create(backend="test", model_name="other", pretrained="", checkpoint_sha256="1" * 64,
                                          dimension=DIM, max_tokens=77)  # fmt: skip
    make_item(alice, other, [unit(1)], title="other-space")

    assert rank(space=space, query=unit(1), viewer=alice, filters=SearchFilters()) == []


def test_a_query_of_the_wrong_dimension_is_refused(space, people) -> None:
    with pytest.raises(InvalidInput, match="dimensions"):
        rank(space=space, query=np.ones(DIM + 1, dtype=np.float32), viewer=people[0], filters=SearchFilters())


def test_sort_by_date_reorders_only_the_relevant_results(space, people) -> None:
    alice, _ = people
    make_item(alice, space, [unit(1, 0.05)], title="best-old", days_ago=5)
    make_item(alice, space, [unit(1, 0.1)], title="good-new")
    make_item(alice, space, [unit(1, 0.15)], title="good-mid", days_ago=2)
    for index in range(6):
        make_item(alice, space, [unit(0.05, 1, index * 0.01)], title=f"unrelated-{index}")

    result = search_by_vector(viewer=alice, space_id=space.pk, vector=unit(1, 0), filters=SearchFilters(sort="date"))

    assert [hit.item.title for hit in shown_hits(result.hits)] == ["good-new", "good-mid", "best-old"]
    assert len(result.weaker) == 6


@pytest.mark.parametrize(
    ("scores", "kept"),
    [
        ([], 0),
        ([0.9, 0.2], 2),
        ([0.31, 0.30, 0.295, 0.29, 0.285, 0.28], 6),  # a smooth curve: no cliff, nothing hidden
        ([0.41, 0.40, 0.39, 0.38, 0.21, 0.20, 0.195, 0.19], 4),  # a cliff after four
        ([0.9, 0.5, 0.49, 0.48, 0.47], 5),  # a cliff before the minimum kept is ignored
    ],
)
def test_the_relevance_cutoff_adapts_to_the_score_curve(scores, kept) -> None:
    assert relevance_cutoff(scores) == kept


def _order_by_of_the_ranking_query(queries) -> str:  # noqa: ANN001
    ranking = [query["sql"] for query in queries if "ORDER BY" in query["sql"] and "LIMIT 400" in query["sql"]]
    assert len(ranking) == 1
    return ranking[0].split("ORDER BY")[1]


@pytest.mark.parametrize(("viewer_name", "scope", "exact"), [
    ("alice", "mine", True),  # her 2 of 42 items: an exact scan of their vectors
    ("bob", "mine", False),  # his 40 of 42: the HNSW graph
    ("alice", "all", False),  # public + hers: everything
])  # fmt: skip
def test_a_selective_filter_is_searched_by_an_exact_scan(space, people, settings, viewer_name, scope, exact) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.SEARCH_EXACT_MAX_ITEMS = 10
    alice, bob = people
    for index in range(40):
        make_item(bob, space, [unit(1, index / 40)], title=f"bob-{index}")
    make_item(alice, space, [unit(1, 0.5)], title="alice-near", visibility="private")
    make_item(alice, space, [unit(0, 1)], title="alice-far", visibility="private")
    viewer = alice if viewer_name == "alice" else bob
    _ready_items_at.cache_clear()  # the per-process count of ready items, recounted each minute

    with CaptureQueriesContext(connection) as queries:
        hits = rank(space=space, query=unit(1, 0.5), viewer=viewer, filters=SearchFilters(scope=scope))

    assert ("halfvec" not in _order_by_of_the_ranking_query(queries)) is exact
    if scope == "mine" and viewer is alice:
        assert [hit.item.title for hit in shown_hits(hits)] == ["alice-near", "alice-far"]
    settings.SEARCH_EXACT_MAX_ITEMS = 0  # off: always the graph
    with CaptureQueriesContext(connection) as queries:
        rank(space=space, query=unit(1, 0.5), viewer=viewer, filters=SearchFilters(scope=scope))
    assert "halfvec" in _order_by_of_the_ranking_query(queries)


def test_ranking_loads_no_items_and_a_page_loads_its_own_in_one_query(space, people, django_assert_num_queries) -> None:
    from media_index.models import Item

    alice, _ = people
    for index in range(5):
        make_item(alice, space, [unit(1, index / 10)], title=f"item-{index}")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ranking:
        hits = rank(space=space, query=unit(1, 0), viewer=alice, filters=SearchFilters())
    # A ranked hit is ids and scores only: no item row (title, files...) is read to rank.
    assert not any('"title"' in query["sql"] or "i.title" in query["sql"] for query in ranking.captured_queries)
    assert not hasattr(hits[0], "item")
    Item.objects.filter(title="item-1").delete()  # deleted between ranking and showing

    with django_assert_num_queries(1):
        page = shown_hits(hits[:3])

    assert [hit.item.title for hit in page] == ["item-0", "item-2"]


def test_the_configured_ef_search_reaches_the_query(space, people, settings) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.SEARCH_HNSW_EF_SEARCH = 321
    alice, _ = people
    make_item(alice, space, [unit(1)], title="one")

    with CaptureQueriesContext(connection) as queries:
        rank(space=space, query=unit(1), viewer=alice, filters=SearchFilters())

    assert any(query["sql"] == "SET LOCAL hnsw.ef_search = 321" for query in queries)


@pytest.mark.parametrize(("items", "expected"), [(0, 200), (50_000, 200), (100_000, 200), (1_000_000, 800),
                                                 (316_228, 400), (10_000_000, 1000)])  # fmt: skip
def test_larger_spaces_search_wider(settings, items: int, expected: int) -> None:
    from media_index.models import EmbeddingSpace
    from media_index.search.retrieval import ef_search_for

    settings.SEARCH_HNSW_EF_SEARCH = 200
    space = EmbeddingSpace(calibration={"items": items} if items else {})

    assert ef_search_for(space) == expected
    settings.SEARCH_HNSW_EF_SEARCH_AUTO = False
    assert ef_search_for(space) == 200


def test_a_space_on_the_denser_graph_searches_narrower(settings) -> None:
    """At 1M items the default graph needs ef_search 800 for recall 0.95; the denser graph
    (m 24) reaches 0.979 at 200 (docs/BENCHMARKS.md), so its space stays at 200 there."""
    from media_index.search.retrieval import ef_search_for, index_graph_m
    from tests.factories import index_definition, make_space

    settings.SEARCH_HNSW_EF_SEARCH = 200
    default = make_space(name="default-graph")
    default.calibration = {"items": 1_000_000}
    assert index_graph_m(default) == 16 and ef_search_for(default) == 800

    settings.HNSW_LARGE_VECTORS = 0  # any size counts as large: the next index is the denser graph
    dense = make_space(name="dense-graph", active=False)
    assert "m='24'" in index_definition(dense.index_name)
    for items, expected in ((1_000_000, 200), (10_000_000, 800)):
        dense.calibration = {"items": items}
        assert index_graph_m(dense) == 24 and ef_search_for(dense) == expected


def test_the_search_sql_uses_the_spaces_own_ef_search(django_user_model) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from media_index.models import EmbeddingSpace

    owner = django_user_model.objects.create_user("alice")
    space = make_space()
    make_item(owner, space, [unit(1, 0)], title="one")
    EmbeddingSpace.objects.filter(pk=space.pk).update(calibration={"items": 1_000_000})
    space.refresh_from_db()

    with CaptureQueriesContext(connection) as queries:
        rank(space=space, query=np.asarray(unit(1, 0), dtype=np.float32), viewer=owner, filters=SearchFilters())

    assert any("hnsw.ef_search = 800" in query["sql"] for query in queries.captured_queries)
