"""Decoding pictures: reduced-scale JPEG decoding, the upright full size, other formats untouched."""

from __future__ import annotations

import io
from datetime import UTC

import pytest
from PIL import Image

from media_index.services.images import decode_image, upright_size
from tests import media


def _rotated_jpeg(size: tuple[int, int]) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° to display
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.mark.parametrize(("min_side", "decoded"), [
    (384, (800, 600)),  # 1/2: 1/4 would be 400x300, shorter than 384
    (200, (400, 300)),  # 1/4
    (0, (1600, 1200)),  # full size
    (2000, (1600, 1200)),  # never upscaled
])  # fmt: skip
def test_a_large_jpeg_is_decoded_at_the_smallest_scale_that_keeps_min_side(min_side: int, decoded: tuple) -> None:
    data = media.image_bytes("red", size=(1600, 1200), fmt="JPEG")

    image = decode_image(data, min_side=min_side)

    assert image.size == decoded and image.mode == "RGB"
    assert upright_size(data) == (1600, 1200)


def test_the_default_scale_comes_from_settings_and_other_formats_decode_in_full(settings) -> None:
    settings.IMAGE_DECODE_MIN_SIDE = 384
    assert decode_image(media.image_bytes("red", size=(1600, 1200), fmt="JPEG")).size == (800, 600)
    assert decode_image(media.image_bytes("red", size=(1600, 1200), fmt="PNG")).size == (1600, 1200)
    settings.IMAGE_DECODE_MIN_SIDE = 0
    assert decode_image(media.image_bytes("red", size=(1600, 1200), fmt="JPEG")).size == (1600, 1200)


def test_a_rotated_photo_is_upright_at_reduced_scale_and_its_full_size_is_reported_upright() -> None:
    data = _rotated_jpeg((1600, 800))

    assert decode_image(data, min_side=384).size == (400, 800)  # decoded 800x400, then turned
    assert upright_size(data) == (800, 1600)


def test_reduced_decoding_keeps_the_picture() -> None:
    """The reduced decode is a downscale of the same picture, not a crop or a different one."""
    data = media.image_bytes("red", size=(1600, 1200), fmt="JPEG", shape="rectangle")
    full, reduced = decode_image(data, min_side=0), decode_image(data, min_side=384)

    assert reduced.getpixel((400, 300))[0] > 200  # the red rectangle's centre
    assert reduced.getpixel((10, 10)) == pytest.approx(full.getpixel((10, 10)), abs=8)  # the white margin


def _png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), "white").save(out, format="PNG")
    return out.getvalue()


def test_a_search_picture_has_tighter_limits_than_an_upload(settings) -> None:
    from media_index.errors import InvalidInput
    from media_index.services.images import decode_query_image

    settings.QUERY_IMAGE_MAX_PIXELS = 1_000_000
    big_png = _png(1200)  # 1.44 MP: an upload may have it, a search may not
    big_jpeg = media.image_bytes("red", size=(1200, 1200), fmt="JPEG")

    with pytest.raises(InvalidInput, match="at most 1 megapixels"):
        decode_query_image(big_png)
    assert decode_image(big_png).size == (1200, 1200)
    # A JPEG of the same size is fine: it decodes at a reduced scale.
    assert max(decode_query_image(big_jpeg).size) < 1200

    settings.QUERY_IMAGE_MAX_BYTES = len(big_jpeg) - 1
    with pytest.raises(InvalidInput, match="may be at most"):
        decode_query_image(big_jpeg)


def test_search_picture_decodes_wait_for_a_slot_then_say_busy(settings) -> None:
    from media_index.errors import Busy
    from media_index.services import images

    settings.QUERY_DECODE_WAIT_SECONDS = 0.2
    slots = images._query_decode_slots()
    taken = 0
    while slots.acquire(blocking=False):
        taken += 1
    try:
        with pytest.raises(Busy, match="Too many picture searches"):
            images.decode_query_image(media.image_bytes())
    finally:
        for _ in range(taken):
            slots.release()
    assert taken == settings.QUERY_DECODE_CONCURRENCY
    assert images.decode_query_image(media.image_bytes()).size == (96, 64)


def test_a_photo_says_when_and_with_what_it_was_taken() -> None:
    from datetime import timedelta

    from media_index.services.images import photo_metadata

    metadata = photo_metadata(media.jpeg_with_capture_metadata())
    naive = photo_metadata(media.jpeg_with_capture_metadata(offset=None))

    assert metadata.taken_at.isoformat() == "2019-07-14T10:30:00+02:00"
    assert metadata.taken_at.utcoffset() == timedelta(hours=2)
    assert metadata.camera == "Canon EOS 5D"
    assert metadata.has_location is True
    assert (metadata.latitude, metadata.longitude) == (48.858222, 2.2945)
    # Without an offset the camera's clock is read in the site's time zone (UTC here).
    assert naive.taken_at.astimezone(UTC).isoformat() == "2019-07-14T10:30:00+00:00"
    assert photo_metadata(media.image_bytes()) == type(metadata)()
    assert photo_metadata(media.jpeg_with_capture_metadata(taken="0000:00:00 00:00:00")).taken_at is None


def test_a_location_is_removed_from_a_jpeg_without_touching_the_picture_or_its_dates() -> None:
    from media_index.services.images import jpeg_without_location, photo_metadata

    photo = media.jpeg_with_capture_metadata()

    stripped = jpeg_without_location(photo)

    before, after = photo_metadata(photo), photo_metadata(stripped)
    assert before.has_location and not after.has_location and after.latitude is None
    assert (after.taken_at, after.camera) == (before.taken_at, before.camera)
    with Image.open(io.BytesIO(photo)) as original, Image.open(io.BytesIO(stripped)) as kept:
        assert original.tobytes() == kept.tobytes()  # the picture's own bytes are not re-encoded
    assert jpeg_without_location(stripped) == stripped  # nothing left to remove
    assert jpeg_without_location(media.image_bytes()) == media.image_bytes()  # not a JPEG: untouched


def test_a_damaged_gps_block_is_removed_too_and_the_picture_stays_readable() -> None:
    import struct

    from PIL import ExifTags

    from media_index.services.images import jpeg_without_location

    plain = media.image_bytes("green", fmt="JPEG")
    # Big-endian TIFF header, one IFD entry: a GPS block at an offset past the end.
    tiff = b"MM\x00\x2a" + struct.pack(">IHHHIII", 8, 1, 0x8825, 4, 1, 0xFFFFFF00, 0)
    body = b"Exif\x00\x00" + tiff
    damaged = plain[:2] + b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body + plain[2:]

    stored = jpeg_without_location(damaged)

    with Image.open(io.BytesIO(stored)) as picture:
        picture.load()
        assert ExifTags.IFD.GPSInfo not in picture.getexif()
    with Image.open(io.BytesIO(damaged)) as original:
        assert ExifTags.IFD.GPSInfo in original.getexif()  # it was there
