"""Decoding pictures: reduced-scale JPEG decoding, the upright full size, other formats untouched."""

from __future__ import annotations

import io

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
