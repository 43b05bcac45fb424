"""Admin: bulk upload page, backlog summary on the item list, retry action."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media_index.models import EmbeddingSpace, Item, Vector
from tests import media
from tests.factories import make_item, make_space, unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("staff", password="pw"))
    return client


def test_the_upload_page_takes_many_files_and_a_zip(staff_client) -> None:
    assert staff_client.get("/admin/media_index/item/upload/").status_code == 200

    response = staff_client.post("/admin/media_index/item/upload/", {
        "files": [SimpleUploadedFile("a.png", media.image_bytes("red")),
                  SimpleUploadedFile("b.zip", media.zip_bytes({"c.jpg": media.image_bytes("blue", fmt="JPEG"),
                                                               "d.md": b"# A note"})),
                  SimpleUploadedFile("e.png", media.png_bomb())],
        "visibility": "public",
    }, follow=True)  # fmt: skip

    page = response.content.decode()
    assert "3 new item(s) queued for indexing, 0 already present." in page
    assert "Could not add e.png: The picture has too many pixels" in page
    assert Item.objects.filter(visibility="public").count() == 3


def test_the_item_list_shows_the_backlog(staff_client, django_user_model) -> None:
    owner = django_user_model.objects.get(username="staff")
    for index, status in enumerate(["pending", "pending", "indexing", "ready", "failed"]):
        Item.objects.create(owner=owner, kind="note", note_text=f"n{index}", content_hash=f"h{index}", status=status)

    page = staff_client.get("/admin/media_index/item/").content.decode()

    assert "<strong>2</strong> pending" in page
    assert "<strong>1</strong> indexing" in page
    assert "<strong>1</strong> failed" in page


def test_the_retry_action_requeues_failed_items(staff_client, django_user_model) -> None:
    owner = django_user_model.objects.get(username="staff")
    failed = Item.objects.create(owner=owner, kind="note", note_text="x", content_hash="h", status="failed",
                                 failure_reason="boom")  # fmt: skip

    response = staff_client.post("/admin/media_index/item/", {
        "action": "retry_failed", "_selected_action": [failed.pk],
    }, follow=True)  # fmt: skip

    assert "1 item sent back to the queue." in response.content.decode()
    assert Item.objects.get(pk=failed.pk).status == "pending"


def test_a_non_staff_user_cannot_upload_through_the_admin(client, django_user_model) -> None:
    client.force_login(django_user_model.objects.create_user("plain", password="pw"))

    response = client.get("/admin/media_index/item/upload/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def _active_and_building_spaces(owner):  # noqa: ANN001, ANN202
    """An active space holding two items, and a building one holding none yet."""
    active = make_space(name="a")
    building = make_space(name="b", active=False)
    EmbeddingSpace.objects.filter(pk=building.pk).update(is_building=True)
    first = make_item(owner, active, [unit(1, 0)], title="first")
    make_item(owner, active, [unit(0, 1)], title="second")
    return active, building, first


def test_the_space_list_shows_progress_and_its_actions_check_what_they_do(staff_client, django_user_model) -> None:
    active, building, first = _active_and_building_spaces(django_user_model.objects.get(username="staff"))
    Vector.objects.create(item=first, space=building, chunk=0, embedding=unit(1, 0))
    changelist = "/admin/media_index/embeddingspace/"

    page = staff_client.get(changelist).content.decode()
    incomplete = staff_client.post(changelist, {"action": "activate", "_selected_action": [building.pk]}, follow=True)
    active_drop = staff_client.post(changelist, {"action": "drop", "_selected_action": [active.pk]}, follow=True)

    assert "1 of 2 (50%)" in page and "2 of 2" in page
    assert f'data-space="{building.pk}" data-building="1"' in page and 'max="2" value="1"' in page
    assert "Re-index into another model" in page
    assert "still misses 1 item(s)" in incomplete.content.decode()
    assert "is active; activate another space" in active_drop.content.decode()
    assert EmbeddingSpace.objects.get(is_active=True).pk == active.pk
    assert staff_client.get("/admin/media_index/embeddingspace/reindex/").status_code == 200


def test_the_items_files_link_to_permission_checked_admin_views(staff_client, django_user_model) -> None:
    """Not to /media/ (nothing serves it): to admin views that check the admin's permission,
    which also show staff a private item of another user."""
    other = django_user_model.objects.create_user("bob", password="pw")
    staff_client.post("/admin/media_index/item/upload/", {
        "files": [SimpleUploadedFile("bobs.png", media.image_bytes("green"))], "visibility": "private",
    })  # fmt: skip
    item = Item.objects.get(original_name="bobs.png")
    Item.objects.filter(pk=item.pk).update(owner=other)

    page = staff_client.get(f"/admin/media_index/item/{item.pk}/change/").content.decode()
    original = staff_client.get(f"/admin/media_index/item/{item.pk}/file/")
    missing_thumbnail = staff_client.get(f"/admin/media_index/item/{item.pk}/thumbnail/")

    assert f"/admin/media_index/item/{item.pk}/file/" in page and "/media/" not in page
    assert original.status_code == 200 and original["Content-Type"] == "image/png"
    assert missing_thumbnail.status_code == 404  # not indexed yet: no thumbnail
    staff_client.logout()
    assert staff_client.get(f"/admin/media_index/item/{item.pk}/file/").status_code == 302  # to the login page


def test_view_only_staff_cannot_run_state_changing_actions(client, django_user_model) -> None:
    from django.contrib.auth.models import Permission


    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_item", "view_embeddingspace"]))
    client.force_login(viewer)
    owner = django_user_model.objects.create_user("owner", password="pw")
    failed = Item.objects.create(owner=owner, kind="note", note_text="x", content_hash="h", status="failed",
                                 failure_reason="boom")  # fmt: skip
    make_space(name="active")
    idle = make_space(name="idle", active=False)
    spaces = "/admin/media_index/embeddingspace/"

    items_page = client.get("/admin/media_index/item/").content.decode()
    spaces_page = client.get(spaces).content.decode()
    retried = client.post("/admin/media_index/item/", {"action": "retry_failed", "_selected_action": [failed.pk]})
    for action in ("activate", "continue_building", "drop"):
        client.post(spaces, {"action": action, "_selected_action": [idle.pk]})

    # The lists are visible, the actions neither offered nor run.
    assert "retry_failed" not in items_page
    assert not any(action in spaces_page for action in ('value="activate"', 'value="drop"', "continue_building"))
    assert retried.status_code in (200, 302)
    assert Item.objects.get(pk=failed.pk).status == "failed"
    assert EmbeddingSpace.objects.filter(pk=idle.pk, is_active=False).exists()
    assert not EmbeddingSpace.objects.get(pk=idle.pk).is_building


def test_dropping_a_space_needs_the_delete_permission(client, django_user_model) -> None:
    from django.contrib.auth.models import Permission


    editor = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["view_embeddingspace",
                                                                         "change_embeddingspace"]))  # fmt: skip
    client.force_login(editor)
    make_space(name="active")
    idle = make_space(name="idle", active=False)

    client.post("/admin/media_index/embeddingspace/", {"action": "drop", "_selected_action": [idle.pk]})
    assert EmbeddingSpace.objects.filter(pk=idle.pk).exists()

    editor.user_permissions.add(Permission.objects.get(codename="delete_embeddingspace"))
    client.post("/admin/media_index/embeddingspace/", {"action": "drop", "_selected_action": [idle.pk]})
    assert not EmbeddingSpace.objects.filter(pk=idle.pk).exists()


def test_the_reindex_form_offers_the_installed_models(staff_client, settings, tmp_path, monkeypatch) -> None:
    from media_index import dispatch

    settings.MODEL_DIR = tmp_path
    (tmp_path / "open_clip" / "ViT-B-32__laion2b_s34b_b79k").mkdir(parents=True)
    (tmp_path / "open_clip" / "ViT-B-32__laion2b_s34b_b79k" / "open_clip_model.safetensors").write_bytes(b"x")
    (tmp_path / "bge_m3" / "bge-m3").mkdir(parents=True)
    (tmp_path / "bge_m3" / "bge-m3" / "config.json").write_text("{}")
    sent = []
    monkeypatch.setattr(dispatch, "send", lambda task, *args: sent.append((task, args)))  # the broker is the boundary

    page = staff_client.get("/admin/media_index/embeddingspace/reindex/").content.decode()
    chosen = staff_client.post("/admin/media_index/embeddingspace/reindex/",
                               {"installed": "open_clip|ViT-B-32|laion2b_s34b_b79k"})  # fmt: skip
    neither = staff_client.post("/admin/media_index/embeddingspace/reindex/", {"installed": ""}).content.decode()

    assert "open_clip|demo-clip|demo" in page and "open_clip|ViT-B-32|laion2b_s34b_b79k" in page
    assert "bge_m3|bge-m3|local" in page
    assert chosen.status_code == 302
    assert sent == [(dispatch.BEGIN_REINDEX, ("open_clip", "ViT-B-32", "laion2b_s34b_b79k"))]
    assert "Pick an installed model, or name a backend and a model." in neither


def test_the_admin_speaks_chinese_and_lists_items_with_thumbnails(staff_client) -> None:
    from media_index.services.indexing import items_index
    from media_index.services.uploads import item_create_image

    owner = Item._meta.get_field("owner").related_model.objects.get(username="staff")
    picture, _ = item_create_image(owner=owner, data=media.image_bytes("green"), filename="g.png")
    items_index(item_ids=[picture.pk])

    index = staff_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    items = staff_client.get("/admin/media_index/item/").content.decode()

    assert "条目" in index and "嵌入空间" in index and "媒体索引" in index
    assert f"/admin/media_index/item/{picture.pk}/thumbnail/" in items and 'class="admin-thumb"' in items
    # Column titles and action names too, though they are read when the admin is imported.
    items_zh = staff_client.get("/admin/media_index/item/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    spaces_zh = staff_client.get("/admin/media_index/embeddingspace/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "预览" in items_zh and "原因" in items_zh and "重新索引所选的失败条目" in items_zh
    assert "已嵌入的条目" in spaces_zh and "启用（从现在起用它搜索）" in spaces_zh and "模型名称" in spaces_zh


def test_the_space_list_polls_its_progress_from_an_endpoint_staff_alone_may_read(
    staff_client, django_user_model
) -> None:
    from django.test import Client

    active, building, first = _active_and_building_spaces(django_user_model.objects.get(username="staff"))
    url = "/admin/media_index/embeddingspace/progress/"

    before = {row["id"]: row for row in staff_client.get(url).json()["spaces"]}
    Vector.objects.create(item=first, space=building, chunk=0, embedding=unit(1, 0))
    after = {row["id"]: row for row in staff_client.get(url).json()["spaces"]}

    assert (before[building.pk]["done"], before[building.pk]["total"], before[building.pk]["building"]) == (0, 2, True)
    assert after[building.pk]["done"] == 1 and after[building.pk]["text"] == "1 of 2 (50%)"
    assert after[active.pk] == {"id": active.pk, "done": 2, "total": 2, "building": False, "text": "2 of 2"}
    # Not for anonymous visitors or people without staff access.
    client = Client()
    assert client.get(url).status_code == 302
    django_user_model.objects.create_user("mallory", password="pw")
    client.login(username="mallory", password="pw")
    assert client.get(url).status_code == 302


def test_a_requested_reindex_is_awaited_by_the_list_until_its_space_appears(staff_client) -> None:
    make_space(name="a")
    changelist = "/admin/media_index/embeddingspace/"
    assert 'data-waiting="0"' in staff_client.get(changelist).content.decode()

    staff_client.post("/admin/media_index/embeddingspace/reindex/",
                      {"backend": "open_clip", "model": "demo-clip", "pretrained": ""})  # fmt: skip

    assert 'data-waiting="1"' in staff_client.get(changelist).content.decode()
    make_space(name="b", active=False)  # the worker created the new space
    assert 'data-waiting="0"' in staff_client.get(changelist).content.decode()
