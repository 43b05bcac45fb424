"""manage.py backfill_photo_metadata: pictures stored before EXIF was read get their capture date."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from media_index.models import Item
from media_index.services.uploads import item_create_image
from tests import media

pytestmark = pytest.mark.django_db


def test_older_pictures_get_their_capture_date_and_camera(django_user_model) -> None:
    owner = django_user_model.objects.create_user("alice")
    # Kept whole, as every original was stored before locations were removed at upload.
    photo, _ = item_create_image(owner=owner, data=media.jpeg_with_capture_metadata(), filename="a.jpg",
                                 keep_location=True)  # fmt: skip
    plain, _ = item_create_image(owner=owner, data=media.image_bytes(), filename="b.png")
    # As stored before this was recorded.
    Item.objects.filter(pk=photo.pk).update(taken_at=None, taken_offset=None, camera="", has_location=False)
    out = io.StringIO()

    call_command("backfill_photo_metadata", stdout=out)
    call_command("backfill_photo_metadata", stdout=io.StringIO())  # again: nothing changes

    photo.refresh_from_db()
    plain.refresh_from_db()
    assert "1 picture(s)" in out.getvalue()
    assert photo.taken_local.isoformat() == "2019-07-14T10:30:00+02:00"
    assert (photo.camera, photo.has_location) == ("Canon EOS 5D", True)
    assert (plain.taken_at, plain.camera) == (None, "")
