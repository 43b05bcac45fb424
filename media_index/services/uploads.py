"""Creating items from uploads: validate by content, save file and row, enqueue on commit.

The row and the file exist before any embedding happens, so nothing uploaded is
lost if a worker or the broker is down; the same content from the same owner is
recognised by its hash and not stored or embedded twice.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.text import get_valid_filename

from media_index.errors import InvalidInput
from media_index.models import Item
from media_index.services.images import inspect_image, jpeg_without_location, photo_metadata
from media_index.services.indexing_queue import enqueue_on_commit

NOTE_EXTENSIONS = (".txt", ".md", ".markdown", ".text")
# Compressed members that expand more than this are treated as zip bombs.
# Plain text compresses about 3-10x; 200x only happens with crafted input.
ZIP_MAX_RATIO = 200
TITLE_MAX_CHARS = 300


@dataclass(frozen=True)
class UploadOutcome:
    """What happened to one uploaded file (or one member of a zip)."""

    name: str
    item: Item | None
    created: bool
    error: str = ""


def _clean_name(name: str) -> str:
    """Only the last path component, with unsafe characters replaced: never a path."""
    base = PurePosixPath(name.replace("\\", "/")).name
    try:
        return get_valid_filename(base)[:200]
    except Exception:  # noqa: BLE001 - Django raises SuspiciousFileOperation for "", ".", ".."
        return "upload"


def _title_from_name(name: str) -> str:
    stem = PurePosixPath(name).stem.replace("_", " ").strip()
    return stem[:TITLE_MAX_CHARS]


def _read_bounded(stream: IO[bytes], limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"The file is larger than the {limit // (1024 * 1024)} MB limit.")
    if not data:
        raise InvalidInput("The file is empty.")
    return data


def _existing(owner: AbstractBaseUser, content_hash: str) -> Item | None:
    return Item.objects.filter(owner=owner, content_hash=content_hash).first()


def _save_item(item: Item, data: bytes | None, extension: str) -> tuple[Item, bool]:
    """Save row and file in one transaction; a concurrent duplicate returns the first one."""
    try:
        with transaction.atomic():
            if data is not None:
                # Stored under the hash, never under a name the client chose.
                path = f"{item.owner_id}/{item.content_hash[:2]}/{item.content_hash}.{extension}"
                item.original.save(path, ContentFile(data), save=False)
            item.save()
            enqueue_on_commit([item.pk])
    except IntegrityError:
        if item.original:
            item.original.delete(save=False)
        existing = Item.objects.get(owner_id=item.owner_id, content_hash=item.content_hash)
        return existing, False
    return item, True


def item_create_image(
    *, owner: AbstractBaseUser, data: bytes, filename: str = "", title: str = "",
    visibility: str = Item.Visibility.PRIVATE, keep_location: bool = False,
) -> tuple[Item, bool]:  # fmt: skip
    """Create a picture item (or return the owner's identical one); raises InvalidInput.

    A photo's location is private by default: without ``keep_location`` its coordinates are
    neither stored nor kept in the stored original (whoever may see a picture may download
    that file; JPEG's GPS block is removed without touching the picture); with it, they are
    stored and shown to the owner alone. ``has_location`` says the upload carried one."""
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise InvalidInput(f"The file is larger than the {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB limit.")
    info = inspect_image(io.BytesIO(data))
    content_hash = hashlib.sha256(data).hexdigest()
    if (existing := _existing(owner, content_hash)) is not None:
        return existing, False
    name = _clean_name(filename) if filename else f"picture.{info.extension}"
    metadata = photo_metadata(data)
    stored = data if keep_location else jpeg_without_location(data)
    item = Item(
        owner=owner, kind=Item.Kind.IMAGE, title=(title or _title_from_name(name))[:TITLE_MAX_CHARS],
        original_name=name, content_hash=content_hash, mime_type=info.mime_type, byte_size=len(stored),
        width=info.width, height=info.height, visibility=_visibility(visibility),
        taken_at=metadata.taken_at, taken_offset=metadata.taken_offset, camera=metadata.camera,
        has_location=metadata.has_location,
        latitude=metadata.latitude if keep_location else None, longitude=metadata.longitude if keep_location else None,
    )  # fmt: skip
    # Deduplicated by the uploaded bytes, so the same photo uploaded again is recognised.
    return _save_item(item, stored, info.extension)


def item_create_note(
    *, owner: AbstractBaseUser, text: str, title: str = "", filename: str = "",
    visibility: str = Item.Visibility.PRIVATE, data: bytes | None = None,
) -> tuple[Item, bool]:  # fmt: skip
    """Create a note item (or return the owner's identical one); raises InvalidInput."""
    text = text.replace("\r\n", "\n").replace("\x00", "")
    if not text.strip():
        raise InvalidInput("The note is empty.")
    if len(text) > settings.NOTE_MAX_CHARS:
        raise InvalidInput(f"The note has {len(text)} characters; the limit is {settings.NOTE_MAX_CHARS}.")
    title = title.strip()[:TITLE_MAX_CHARS]
    content_hash = hashlib.sha256(f"{title}\n\x00{text}".encode()).hexdigest()
    if (existing := _existing(owner, content_hash)) is not None:
        return existing, False
    name = _clean_name(filename) if filename else ""
    item = Item(
        owner=owner, kind=Item.Kind.NOTE, title=title or (_title_from_name(name) if name else ""),
        note_text=text, original_name=name, content_hash=content_hash, mime_type="text/plain",
        byte_size=len(text.encode()), visibility=_visibility(visibility),
    )  # fmt: skip
    return _save_item(item, data, "txt")


def _visibility(value: str) -> str:
    if value not in Item.Visibility.values:
        raise InvalidInput(f"Visibility must be one of: {', '.join(Item.Visibility.values)}.")
    return value


def _decode_text(data: bytes) -> str | None:
    """The text of a UTF-8 (or UTF-16 with BOM) file, or None if it is not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    # Control characters other than whitespace mean binary data, not a note.
    if any(ord(char) < 32 and char not in "\n\r\t\f" for char in text):
        return None
    return text


def _create_from_bytes(
    *, owner: AbstractBaseUser, name: str, data: bytes, visibility: str, keep_location: bool = False, depth: int = 0
) -> list[UploadOutcome]:
    if zipfile.is_zipfile(io.BytesIO(data)):
        if depth > 0:
            return [UploadOutcome(name, None, False, "Zip files inside zip files are not expanded.")]
        return _create_from_zip(owner=owner, name=name, source=io.BytesIO(data), visibility=visibility,
                                keep_location=keep_location)  # fmt: skip
    try:
        lower = name.lower()
        if lower.endswith(NOTE_EXTENSIONS):
            text = _decode_text(data)
            if text is None:
                raise InvalidInput("The note is not UTF-8 text.")
            item, created = item_create_note(owner=owner, text=text, filename=name, visibility=visibility, data=data)
        else:
            try:
                item, created = item_create_image(owner=owner, data=data, filename=name, visibility=visibility,
                                                  keep_location=keep_location)  # fmt: skip
            except InvalidInput:
                if _decode_text(data) is None:
                    raise
                raise InvalidInput("Text files are accepted with a .txt or .md name.") from None
    except InvalidInput as exc:
        return [UploadOutcome(name, None, False, exc.message)]
    return [UploadOutcome(name, item, created)]


def _create_from_zip(
    *, owner: AbstractBaseUser, name: str, source: IO[bytes], visibility: str, keep_location: bool = False
) -> list[UploadOutcome]:
    """``source``: the zip as a seekable file (an upload is spooled to disk past a few MB),
    read member by member, so a large zip never sits in memory whole."""
    try:
        archive = zipfile.ZipFile(source)
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        return [UploadOutcome(name, None, False, f"The zip file cannot be read ({exc}).")]
    if len(members) > settings.ZIP_MAX_MEMBERS:
        return [
            UploadOutcome(
                name, None, False, f"The zip has {len(members)} files; the limit is {settings.ZIP_MAX_MEMBERS}."
            )
        ]
    if sum(info.file_size for info in members) > settings.ZIP_MAX_TOTAL_BYTES:
        return [UploadOutcome(name, None, False, "The zip expands to more than the allowed total size.")]
    outcomes: list[UploadOutcome] = []
    for info in members:
        member_name = _clean_name(info.filename)
        label = f"{name}/{info.filename}"
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if any((part.startswith(".") and part not in (".", "..")) or part == "__MACOSX" for part in parts):
            continue  # macOS resource forks and hidden files are not content
        if info.file_size > settings.UPLOAD_MAX_BYTES:
            outcomes.append(UploadOutcome(label, None, False, "This file in the zip is larger than the upload limit."))
            continue
        if info.compress_size and info.file_size / info.compress_size > ZIP_MAX_RATIO:
            outcomes.append(UploadOutcome(label, None, False, "This file in the zip expands suspiciously (zip bomb)."))
            continue
        try:
            with archive.open(info) as member:
                # Bounded read: the size in the header may lie.
                member_data = _read_bounded(member, settings.UPLOAD_MAX_BYTES)
        except InvalidInput as exc:
            outcomes.append(UploadOutcome(label, None, False, exc.message))
            continue
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            outcomes.append(UploadOutcome(label, None, False, f"This file in the zip cannot be read ({exc})."))
            continue
        for outcome in _create_from_bytes(
            owner=owner, name=member_name, data=member_data, visibility=visibility, keep_location=keep_location, depth=1
        ):
            outcomes.append(UploadOutcome(label, outcome.item, outcome.created, outcome.error))
    if not outcomes:
        outcomes.append(UploadOutcome(name, None, False, "The zip holds no files."))
    return outcomes


ZIP_REFUSED = "Upload zip files through the admin; the API takes one picture or note per request."


def items_create_from_files(
    *,
    owner: AbstractBaseUser,
    files: Iterable[IO[bytes]],
    visibility: str = Item.Visibility.PRIVATE,
    expand_zips: bool = True,
    keep_location: bool = False,
) -> list[UploadOutcome]:
    """Create items from uploaded files: pictures, .txt/.md notes, or zips of both
    (``keep_location``: see ``item_create_image``).

    Each file succeeds or fails on its own; a bad file never stops the others. With
    ``expand_zips=False`` (the API: one item per request) a zip is refused before any of
    its members is read or saved.
    """
    _visibility(visibility)
    outcomes: list[UploadOutcome] = []
    for upload in files:
        name = _clean_name(getattr(upload, "name", "") or "upload")
        # A zip may be larger than one file may; its members are checked one by one.
        is_zip = zipfile.is_zipfile(upload)
        upload.seek(0)
        if is_zip and not expand_zips:
            outcomes.append(UploadOutcome(name, None, False, ZIP_REFUSED))
            continue
        if is_zip:
            size = getattr(upload, "size", None)
            if size is not None and size > settings.ZIP_MAX_TOTAL_BYTES:
                limit = settings.ZIP_MAX_TOTAL_BYTES // (1024 * 1024)
                outcomes.append(UploadOutcome(name, None, False, f"The file is larger than the {limit} MB limit."))
                continue
            outcomes.extend(_create_from_zip(owner=owner, name=name, source=upload, visibility=visibility,
                                             keep_location=keep_location))  # fmt: skip
            continue
        try:
            data = _read_bounded(upload, settings.UPLOAD_MAX_BYTES)
        except InvalidInput as exc:
            outcomes.append(UploadOutcome(name, None, False, exc.message))
            continue
        outcomes.extend(_create_from_bytes(owner=owner, name=name, data=data, visibility=visibility,
                                           keep_location=keep_location))  # fmt: skip
    return outcomes
