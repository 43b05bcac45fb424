"""Reading untrusted image bytes safely: type by content, size limits, orientation, thumbnails."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from django.conf import settings
from django.utils import timezone
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from media_index.errors import Busy, InvalidInput

# Formats accepted, as Pillow names them, with the MIME type and extension we store.
# Decided by the bytes, never by the file name or the client's Content-Type.
ACCEPTED_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
    "BMP": ("image/bmp", "bmp"),
    "TIFF": ("image/tiff", "tif"),
    "HEIF": ("image/heif", "heic"),
    "AVIF": ("image/avif", "avif"),
}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    mime_type: str
    extension: str
    width: int
    height: int


def inspect_image(stream: IO[bytes]) -> ImageInfo:
    """Identify an image from its header without decoding the pixels.

    Raises :class:`InvalidInput` for anything that is not an accepted image or
    that has more pixels than IMAGE_MAX_PIXELS (a decompression bomb is refused
    here, before a single pixel is decoded).
    """
    stream.seek(0)
    try:
        with Image.open(stream) as image:
            fmt = (image.format or "").upper()
            width, height = image.size
    except Image.DecompressionBombError as exc:
        raise InvalidInput(_bomb_message()) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(
            "The file is not a picture in a supported format (JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC, AVIF)."
        ) from exc
    finally:
        stream.seek(0)
    if fmt not in ACCEPTED_FORMATS:
        raise InvalidInput(f"Pictures in {fmt or 'this'} format are not supported.")
    check_pixel_limit(width, height)
    mime, extension = ACCEPTED_FORMATS[fmt]
    return ImageInfo(fmt, mime, extension, width, height)


def _bomb_message() -> str:
    return (
        "The picture has too many pixels to process safely (a decompression bomb?); "
        f"the limit is {settings.IMAGE_MAX_PIXELS / 1e6:.0f} megapixels."
    )


def check_pixel_limit(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise InvalidInput("The picture has no pixels.")
    if width * height > settings.IMAGE_MAX_PIXELS:
        raise InvalidInput(
            f"The picture is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"the limit is {settings.IMAGE_MAX_PIXELS / 1e6:.0f} megapixels."
        )


def decode_image(data: bytes, *, min_side: int | None = None) -> Image.Image:
    """Fully decode an image to upright RGB, or raise :class:`InvalidInput` saying why not.

    Truncated and corrupt files fail here (in the worker), with a reason the
    user can read on the item.

    ``min_side`` (default IMAGE_DECODE_MIN_SIDE; 0: full size): a JPEG is decoded at the
    largest 1/2, 1/4 or 1/8 scale that keeps both sides at least this long (libjpeg's DCT
    scaling). Nothing downstream needs more: the model sees 224-384 px and thumbnails
    are 384 px. A 12-megapixel photo then decodes, resizes and thumbnails several times
    faster (manage.py bench ingest), and an image query goes through the same path, so a
    picture searched for finds its own stored vector.
    """
    info = inspect_image(io.BytesIO(data))
    side = settings.IMAGE_DECODE_MIN_SIDE if min_side is None else min_side
    try:
        with Image.open(io.BytesIO(data)) as image:
            if side > 0 and image.format == "JPEG":
                image.draft("RGB", (side, side))
            image.load()
            # Phones store rotation in EXIF; apply it so the model sees the picture upright.
            upright = ImageOps.exif_transpose(image)
            return _to_rgb(upright)
    except Image.DecompressionBombError as exc:
        raise InvalidInput(_bomb_message()) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"The {info.format} file is damaged or truncated and cannot be read ({exc}).") from exc


_query_decodes: threading.BoundedSemaphore | None = None
_query_decodes_lock = threading.Lock()


def _query_decode_slots() -> threading.BoundedSemaphore:
    global _query_decodes
    with _query_decodes_lock:
        if _query_decodes is None:
            _query_decodes = threading.BoundedSemaphore(settings.QUERY_DECODE_CONCURRENCY)
        return _query_decodes


def decode_query_image(data: bytes) -> Image.Image:
    """A picture someone searches with, decoded under tighter limits than an upload: it
    costs memory on the web process, anyone may send one, and the model needs only a few
    hundred pixels of it.

    Refused before decoding: more than ``QUERY_IMAGE_MAX_BYTES``, or (for formats that
    cannot be decoded at a reduced scale; JPEG can) more than ``QUERY_IMAGE_MAX_PIXELS``.
    At most ``QUERY_DECODE_CONCURRENCY`` decodes run at once per process; a caller that
    waits longer than ``QUERY_DECODE_WAIT_SECONDS`` gets :class:`Busy` (429).
    """
    if len(data) > settings.QUERY_IMAGE_MAX_BYTES:
        raise InvalidInput(query_image_too_large())
    info = inspect_image(io.BytesIO(data))
    pixels = info.width * info.height
    if info.format != "JPEG" and pixels > settings.QUERY_IMAGE_MAX_PIXELS:
        raise InvalidInput(
            f"A picture to search with may have at most {settings.QUERY_IMAGE_MAX_PIXELS / 1e6:.0f} megapixels "
            f"(this one has {pixels / 1e6:.0f}); a smaller copy finds the same results."
        )
    slots = _query_decode_slots()
    if not slots.acquire(timeout=settings.QUERY_DECODE_WAIT_SECONDS):
        raise Busy("Too many picture searches at once; please try again in a moment.")
    try:
        return decode_image(data)
    finally:
        slots.release()


def query_image_too_large() -> str:
    return f"A picture to search with may be at most {settings.QUERY_IMAGE_MAX_BYTES // (1024 * 1024)} MB."


def upright_size(data: bytes) -> tuple[int, int]:
    """The full-size (width, height) of an image as people see it (EXIF rotation applied),
    from its header alone: ``decode_image`` may decode a JPEG at a reduced scale."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        # EXIF orientations 5-8 turn the picture a quarter: width and height swap.
        if image.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8):
            return height, width
        return width, height


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Composite transparency onto white rather than letting it turn black.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def make_thumbnail(image: Image.Image) -> bytes:
    """A JPEG no larger than THUMBNAIL_SIZE on its longer side."""
    thumb = image.copy()
    thumb.thumbnail((settings.THUMBNAIL_SIZE, settings.THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # No optimize=True: it made files ~10 % smaller (7.4 vs 8.3 kB) but doubled the time
    # a thumbnail takes (9 vs 5 ms at 800x600), which every upload pays.
    thumb.save(out, format="JPEG", quality=85)
    return out.getvalue()


@dataclass(frozen=True)
class PhotoMetadata:
    taken_at: datetime | None = None
    # Minutes east of UTC, when the camera recorded its offset.
    taken_offset: int | None = None
    camera: str = ""
    has_location: bool = False
    # Degrees (north and east positive); read always, stored only when the owner opts in.
    latitude: float | None = None
    longitude: float | None = None


def _exif_text(value: object) -> str:
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")
    return text.replace("\x00", "").strip()


def _gps_degrees(gps: dict, value_tag: int, ref_tag: int, negative: str, limit: float) -> float | None:
    """One GPS coordinate in degrees from EXIF's (degrees, minutes, seconds) rationals."""
    try:
        degrees, minutes, seconds = (float(part) for part in gps[value_tag])
        value = degrees + minutes / 60 + seconds / 3600
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if _exif_text(gps.get(ref_tag)).upper() == negative:
        value = -value
    return round(value, 6) if abs(value) <= limit else None


def photo_metadata(data: bytes) -> PhotoMetadata:
    """What a photo's EXIF says about it: when it was taken (``DateTimeOriginal``, aware:
    with ``OffsetTimeOriginal`` when present, else read in the site's time zone), the
    camera's make and model, and whether it holds GPS data. Never raises: a picture
    without EXIF, or with broken EXIF, has no metadata."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            details = exif.get_ifd(ExifTags.IFD.Exif)
            gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # noqa: BLE001 - metadata is optional; the picture was validated already
        return PhotoMetadata()
    taken_at = None
    stamp = _exif_text(details.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime))
    try:
        moment = datetime.strptime(stamp[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        moment = None
    offset = ""
    if moment is not None and moment.year >= 1900:
        offset = _exif_text(details.get(ExifTags.Base.OffsetTimeOriginal))
        try:
            taken_at = datetime.strptime(f"{stamp[:19]} {offset}", "%Y:%m:%d %H:%M:%S %z") if offset else None
        except ValueError:
            taken_at, offset = None, ""
        if taken_at is None:
            taken_at = timezone.make_aware(moment, timezone.get_default_timezone())
    make, model = _exif_text(exif.get(ExifTags.Base.Make)), _exif_text(exif.get(ExifTags.Base.Model))
    # Many models already start with the make ("Canon EOS 5D"): do not say it twice.
    camera = model if make and model.lower().startswith(make.lower()) else f"{make} {model}".strip()
    offset_minutes = None
    if taken_at is not None and offset:
        delta = taken_at.utcoffset()
        offset_minutes = int(delta.total_seconds() // 60) if delta is not None else None
    latitude = _gps_degrees(gps, ExifTags.GPS.GPSLatitude, ExifTags.GPS.GPSLatitudeRef, "S", 90)
    longitude = _gps_degrees(gps, ExifTags.GPS.GPSLongitude, ExifTags.GPS.GPSLongitudeRef, "W", 180)
    located = latitude is not None and longitude is not None
    return PhotoMetadata(taken_at=taken_at, taken_offset=offset_minutes, camera=camera[:200],
                         has_location=bool(gps), latitude=latitude if located else None,
                         longitude=longitude if located else None)  # fmt: skip


JPEG_SOI, JPEG_SOS, JPEG_APP1 = b"\xff\xd8", 0xDA, 0xE1
EXIF_HEADER = b"Exif\x00\x00"


def jpeg_without_location(data: bytes) -> bytes:
    """The JPEG with the GPS block removed from its EXIF, every other byte (the picture
    itself, the capture date, the camera) kept: what is stored when the owner did not ask
    to keep the location, since anyone who may see a picture may download its original.
    EXIF that cannot be read and rewritten is removed whole (it might hold a location).
    Not a JPEG, or no GPS block: ``data`` unchanged."""
    if not data.startswith(JPEG_SOI):
        return data
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == JPEG_SOS:
            break
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        segment = data[position + 4 : position + 2 + length]
        if marker == JPEG_APP1 and segment.startswith(EXIF_HEADER):
            try:
                exif = Image.Exif()
                exif.load(segment[len(EXIF_HEADER) :])
                if ExifTags.IFD.GPSInfo not in exif:
                    return data
                # Load the sub-IFDs that stay, so that they are written back with IFD0.
                for ifd in (ExifTags.IFD.Exif, ExifTags.IFD.Interop):
                    if ifd in exif:
                        exif.get_ifd(ifd)
                del exif[ExifTags.IFD.GPSInfo]
                body = EXIF_HEADER + exif.tobytes()
            except Exception:  # noqa: BLE001 - EXIF we cannot rewrite is dropped whole: it may hold a location
                body = b""
            if len(body) + 2 > 0xFFFF:
                body = b""
            replaced = b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body if body else b""
            return data[:position] + replaced + data[position + 2 + length :]
        position += 2 + length
    return data
