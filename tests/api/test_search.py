"""Search-side API endpoints and access control, on hand-made vectors (no model involved)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from media_index.services.uploads import item_create_image
from tests import media
from tests.factories import api_key, make_item, make_space, unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(django_user_model):
    """Alice has a private and a public picture; Bob has a public one; all near each other."""
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    space = make_space()
    private = make_item(alice, space, [unit(1, 0.15)], title="alice-private", visibility="private")
    public = make_item(alice, space, [unit(1, 0.2)], title="alice-public")
    bobs = make_item(bob, space, [unit(1, 0.3)], title="bob-public")
    return {"alice": alice, "bob": bob, "space": space, "private": private, "public": public, "bobs": bobs}


def client_for(user=None) -> APIClient:  # noqa: ANN001
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    return client


def titles(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.content
    return [hit["title"] for hit in response.json()["results"]]


def test_similar_ranks_by_the_items_own_vector_and_respects_privacy(world) -> None:
    url = f"/api/v1/items/{world['public'].pk}/similar/"

    assert titles(client_for(world["alice"]).get(url)) == ["alice-private", "bob-public"]
    assert titles(client_for(world["bob"]).get(url)) == ["bob-public"]
    assert titles(client_for().get(url)) == ["bob-public"]


def test_a_private_item_is_invisible_to_others_everywhere(world) -> None:
    pk = world["private"].pk
    urls = [f"/api/v1/items/{pk}/", f"/api/v1/items/{pk}/similar/", f"/api/v1/items/{pk}/thumbnail/",
            f"/api/v1/items/{pk}/file/"]  # fmt: skip

    for client in (client_for(world["bob"]), client_for()):
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, url
            assert response.json()["error"]["code"] == "not_found"
    assert client_for(world["alice"]).get(urls[0]).status_code == 200
    assert client_for(world["bob"]).delete(urls[0]).status_code == 404


def test_a_public_item_is_readable_by_anyone_but_deletable_only_by_its_owner(world) -> None:
    url = f"/api/v1/items/{world['public'].pk}/"

    assert client_for().get(url).status_code == 200
    assert client_for().delete(url).status_code == 401
    assert client_for(world["bob"]).delete(url).status_code == 404
    assert client_for(world["alice"]).delete(url).status_code == 204


def test_search_results_carry_what_a_client_needs(world) -> None:
    response = client_for(world["alice"]).get(f"/api/v1/items/{world['public'].pk}/similar/?page_size=1")

    body = response.json()
    assert body["space"]["id"] == world["space"].pk and body["space"]["is_active"]
    assert (body["count"], body["page"], body["pages"]) == (2, 1, 2)
    hit = body["results"][0]
    assert set(hit) >= {"id", "kind", "title", "snippet", "score", "thumbnail_url", "url", "space_id", "owner"}
    assert hit["space_id"] == world["space"].pk
    assert 0.9 < hit["score"] <= 1.0


def test_files_are_served_with_safe_headers(world) -> None:
    item, _ = item_create_image(owner=world["alice"], data=media.image_bytes("red"), filename="r.png")

    response = client_for(world["alice"]).get(f"/api/v1/items/{item.pk}/file/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"].startswith("private")
    assert b"".join(response.streaming_content) == item.original.open("rb").read()


def test_the_thumbnail_of_an_unindexed_item_is_a_clear_404(world) -> None:
    item, _ = item_create_image(owner=world["alice"], data=media.image_bytes("red"), filename="r.png")

    response = client_for(world["alice"]).get(f"/api/v1/items/{item.pk}/thumbnail/")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "This item has no thumbnail yet."


def test_spaces_list_says_which_is_active_with_counts(django_user_model) -> None:
    # The second space is made first: PostgreSQL refuses CREATE INDEX while the
    # test's own transaction still has deferred foreign-key checks pending.
    make_space(name="building", active=False)
    space = make_space()
    owner = django_user_model.objects.create_user("alice")
    for index in range(3):
        make_item(owner, space, [unit(1, index)], title=f"i{index}")

    spaces = client_for().get("/api/v1/spaces/").json()

    assert [(space["model_name"], space["is_active"]) for space in spaces] == [("hand-made", True), ("building", False)]
    assert (spaces[0]["item_count"], spaces[0]["vector_count"]) == (3, 3)


def test_spaces_counts_show_only_what_the_caller_may_see(django_user_model) -> None:
    """Totals would tell anyone how many private items others have, and when they add one."""
    space = make_space()
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    staff = django_user_model.objects.create_user("ops", is_staff=True)
    make_item(alice, space, [unit(1, 0)], title="public")
    make_item(alice, space, [unit(1, 1)], title="alice-private", visibility="private")
    make_item(bob, space, [unit(1, 2), unit(1, 3)], title="bob-private", visibility="private")

    def counts(user) -> tuple[int, int, int]:  # noqa: ANN001
        entry = client_for(user).get("/api/v1/spaces/").json()[0]
        return entry["item_count"], entry["vector_count"], entry["eligible_items"]

    assert counts(None) == (1, 1, 1)
    assert counts(alice) == (2, 2, 2)
    assert counts(bob) == (2, 3, 2)
    assert counts(staff) == (3, 4, 3)


@pytest.mark.parametrize(
    "query",
    ["?q=dog&date_from=2026-02-01&date_to=2026-01-01", "?q=dog&scope=everyone", "?q=dog&page_size=1000",
     "?q=dog&space=abc", "?q=" + "x" * 1001],
    ids=["dates-reversed", "bad-scope", "huge-page", "bad-space", "too-long"],
)
def test_bad_search_parameters_get_400(world, query: str) -> None:
    response = client_for().get("/api/v1/search/" + query)

    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_picture_search_without_a_picture_or_words_is_refused(world) -> None:
    response = client_for().post("/api/v1/search/", {}, format="multipart")

    assert response.status_code == 400
    assert "picture" in response.json()["error"]["message"]


def test_an_unknown_space_is_a_404(world) -> None:
    response = client_for().get("/api/v1/items/1/similar/?space=999")

    assert response.status_code == 404
