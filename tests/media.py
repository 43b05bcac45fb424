"""Test inputs made on the fly: real image files of every kind, good and bad."""

from __future__ import annotations

import functools
import io
import zipfile
from functools import lru_cache

from PIL import ExifTags, Image, ImageDraw


def image_bytes(color: str = "red", size: tuple[int, int] = (96, 64), fmt: str = "PNG", mode: str = "RGB",
                shape: str = "ellipse") -> bytes:  # fmt: skip
    image = Image.new(mode, size, "white" if mode != "RGBA" else (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    box = (size[0] // 6, size[1] // 6, size[0] * 5 // 6, size[1] * 5 // 6)
    (draw.ellipse if shape == "ellipse" else draw.rectangle)(box, fill=color)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def jpeg_with_exif_rotation() -> bytes:
    """A 80x40 JPEG whose EXIF says "rotate 90°": upright it is 40x80."""
    image = Image.new("RGB", (80, 40), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def truncated_jpeg() -> bytes:
    data = image_bytes("green", size=(256, 256), fmt="JPEG")
    return data[: len(data) // 2]


def corrupt_image() -> bytes:
    """A PNG signature followed by garbage."""
    return b"\x89PNG\r\n\x1a\n" + b"\x00garbage-not-an-image" * 20


@lru_cache(maxsize=1)
def png_bomb() -> bytes:
    """A 20000x20000 PNG of 48 KB: 400 megapixels once decoded."""
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, format="PNG")
    return out.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def long_note() -> str:
    """About 200 CLIP tokens in 10 sentences: longer than the 77-token limit."""
    sentences = [
        "Max, our golden puppy, fell asleep on the sofa after a long walk in the park.",
        "He had chased every pigeon near the pond and barked at a very surprised duck.",
        "Later he chewed half of my left shoe, which he clearly thought was a toy.",
        "The vet says he is growing fast and needs smaller meals three times a day.",
        "We bought him a red ball, a rope toy and a soft bed that he ignores completely.",
        "On Sunday the whole family took him to the beach for the first time.",
        "He was scared of the waves at first but soon ran along the water happily.",
        "Grandma thinks he is the cutest dog she has ever seen, and she has seen many.",
        "Tomorrow we start puppy school, where he will learn to sit and to wait.",
        "I hope he learns to stop stealing socks from the laundry basket too.",
    ]
    return " ".join(sentences)


@functools.lru_cache(maxsize=1)
def huge_png() -> bytes:
    """A 5000x4000 PNG (20 megapixels, ~60 KB): fine as an upload, too many pixels to search with."""
    out = io.BytesIO()
    Image.new("RGB", (5000, 4000), (30, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_capture_metadata(taken: str = "2019:07:14 10:30:00", offset: str | None = "+02:00",
                               colour: str = "orange") -> bytes:  # fmt: skip
    """A JPEG whose EXIF says when it was taken (DateTimeOriginal, OffsetTimeOriginal), by
    which camera, and where (a GPS block: 48°51'29.6"N 2°17'40.2"E, 48.858222, 2.2945)."""
    image = Image.open(io.BytesIO(image_bytes(colour, size=(96, 64), fmt="JPEG")))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS 5D"
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        details[ExifTags.Base.OffsetTimeOriginal] = offset
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (48.0, 51.0, 29.6)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (2.0, 17.0, 40.2)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()
