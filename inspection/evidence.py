"""Evidence photos: JPEG or PNG only, size-limited, re-encoded without EXIF (GPS included), with a thumbnail."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from inventory.errors import NotFound
from inventory.fields import ValidationError
from inventory.floor_storage import Storage

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
THUMBNAIL_PX = 320
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}


@dataclass(frozen=True)
class Photo:
    """A checked, cleaned photo ready to store: the re-encoded bytes and their thumbnail."""

    data: bytes
    thumbnail: bytes
    mime: str
    extension: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        """Digest of the stored (cleaned) bytes."""
        return hashlib.sha256(self.data).hexdigest()


def max_bytes() -> int:
    """The upload limit (INSPECTION_PHOTO_MAX_BYTES, default 10 MB)."""
    return int(current_app.config.get("INSPECTION_PHOTO_MAX_BYTES") or MAX_BYTES)


def clean_photo(raw: bytes, limit: int) -> Photo:
    """Check an upload is a JPEG or PNG within the limits and re-encode it with no metadata at all."""
    if not raw:
        raise ValidationError("photo", _("the file is empty"))
    if len(raw) > limit:
        raise ValidationError("photo", f"the photo is {len(raw) / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            kind = probe.format
            width, height = probe.size
            if kind not in FORMATS:
                raise ValidationError("photo", f"only JPEG or PNG photos are accepted, not {kind or 'this file'}")
            if width * height > MAX_PIXELS:
                raise ValidationError("photo", f"the photo is {width}×{height} pixels; at most "
                                               f"{MAX_PIXELS // 1_000_000} megapixels are accepted")
            probe.load()
            image = ImageOps.exif_transpose(probe)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError("photo", _("the file is not a JPEG or PNG image (or it is damaged)")) from None
    mime, extension = FORMATS[kind]
    image.info = {}  # nothing of the original's metadata (EXIF, GPS, ICC, text chunks) is written back
    if kind == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    data = _encode(image, kind)
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    return Photo(data=data, thumbnail=_encode(thumb, "JPEG"), mime=mime, extension=extension,
                 width=image.width, height=image.height)


def _encode(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": 88, "optimize": True} if kind == "JPEG" else {"optimize": True}
    image.save(out, format=kind, **options)
    return out.getvalue()


def _storage() -> Storage:
    return Storage.from_config(current_app.config, current_app.instance_path)


def folder_of(organisation_id: int, inspection_id: int) -> str:
    """The folder (relative to the upload root) holding one inspection's photos."""
    return f"{organisation_id}/inspection-{inspection_id}"


def write(folder: str, photo: Photo) -> tuple[str, str]:
    """Write a photo and its thumbnail; return their relative paths (the caller removes them if the save fails)."""
    root = _storage().root
    token = uuid.uuid4().hex
    path, thumb = f"{folder}/{token}.{photo.extension}", f"{folder}/{token}-thumb.jpg"
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / path).write_bytes(photo.data)
    (root / thumb).write_bytes(photo.thumbnail)
    return path, thumb


def remove(*relative: str) -> None:
    """Delete stored files (after a failed save)."""
    root = _storage().root
    for name in relative:
        (root / name).unlink(missing_ok=True)


def resolve(folder: str, relative: str) -> Path:
    """A stored file inside an inspection's folder; anything else is not found."""
    root = _storage().root
    base = (root / folder).resolve()
    path = (root / relative).resolve()
    if base not in path.parents or not path.is_file():
        raise NotFound(f"file {relative}")
    return path
