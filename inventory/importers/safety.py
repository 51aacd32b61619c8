"""Defences against hostile uploads: size limits, zip bombs, image decompression bombs, sniffing.

No importer parses XML (DXF is a tagged text format, IMDF/WRLD are JSON, PDF is parsed by PDFium, and
Pillow's XMP reader is never called), so there is no XML attack surface; any future XML reader must use
defusedxml.
"""

from __future__ import annotations

import io
import json
import posixpath
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from inventory.importers.base import ImportFailed, Limits

_CHUNK = 1 << 16


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def check_size(n: int, where: str, limits: Limits) -> None:
    """Refuse an upload larger than the configured limit."""
    if n > limits.max_upload_bytes:
        raise ImportFailed(
            f"file is {_mb(n)}, above the {_mb(limits.max_upload_bytes)} upload limit", where=where
        )


def read_file(path: Path, limits: Limits) -> bytes:
    """Read a regular file, refusing it before reading if it is over the size limit."""
    where = path.name
    try:
        st = path.stat()
    except OSError as exc:
        raise ImportFailed(f"cannot read file: {exc.strerror or exc}", where=str(path)) from exc
    if not stat.S_ISREG(st.st_mode):
        raise ImportFailed("not a regular file", where=str(path))
    check_size(st.st_size, where, limits)
    with path.open("rb") as fh:
        data = fh.read(limits.max_upload_bytes + 1)
    check_size(len(data), where, limits)
    return data


def read_directory(path: Path, limits: Limits) -> dict[str, bytes]:
    """Read the regular files of a directory (recursively) under the same limits as a zip archive."""
    files: dict[str, bytes] = {}
    total = 0
    for p in sorted(path.rglob("*")):
        if p.is_symlink() or not p.is_file():
            continue
        if len(files) >= limits.max_zip_entries:
            raise ImportFailed(f"more than {limits.max_zip_entries} files", where=path.name)
        data = read_file(p, limits)
        total += len(data)
        if total > limits.max_zip_total_bytes:
            raise ImportFailed(f"files total more than {_mb(limits.max_zip_total_bytes)}", where=path.name)
        files[p.relative_to(path).as_posix()] = data
    if not files:
        raise ImportFailed("directory is empty", where=path.name)
    return files


def read_zip(data: bytes, where: str, limits: Limits) -> dict[str, bytes]:
    """Members of a zip archive, refusing bombs (entry count, total size, compression ratio) and traversal."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ImportFailed(f"not a readable zip archive ({exc})", where=where) from exc
    if len(infos) > limits.max_zip_entries:
        raise ImportFailed(
            f"zip has {len(infos)} entries, more than the {limits.max_zip_entries} allowed", where=where
        )
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_zip_total_bytes:
        raise ImportFailed(
            f"zip expands to {_mb(declared)}, more than the {_mb(limits.max_zip_total_bytes)} allowed", where=where
        )
    files: dict[str, bytes] = {}
    total = 0
    for info in infos:
        name = info.filename
        entry = f"{where}:{name}"
        if info.is_dir():
            continue
        norm = posixpath.normpath(name.replace("\\", "/"))
        if norm.startswith(("/", "../")) or norm == ".." or ":" in norm.split("/")[0]:
            raise ImportFailed("unsafe path in zip entry", where=entry)
        if info.flag_bits & 0x1:
            raise ImportFailed("encrypted zip entries are not supported", where=entry)
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > limits.max_zip_ratio:
            raise ImportFailed(
                f"compression ratio {ratio:.0f}:1 exceeds {limits.max_zip_ratio:.0f}:1 (zip bomb?)", where=entry
            )
        if norm.startswith("__MACOSX/") or posixpath.basename(norm).startswith("._"):
            continue
        # Headers can lie: count what actually comes out.
        buf = bytearray()
        try:
            with zf.open(info) as fh:
                while chunk := fh.read(_CHUNK):
                    buf += chunk
                    total += len(chunk)
                    if len(buf) > info.file_size or total > limits.max_zip_total_bytes:
                        raise ImportFailed("entry expands beyond its declared size (zip bomb?)", where=entry)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise ImportFailed(f"corrupt zip entry ({exc})", where=entry) from exc
        files[norm] = bytes(buf)
    if not files:
        raise ImportFailed("zip archive is empty", where=where)
    return files


def open_image(data: bytes, where: str, limits: Limits) -> Image.Image:
    """Decode an image fully, refusing decompression bombs and truncated or unreadable files."""
    # Our own pixel limit is checked from the header before decoding; no global Pillow state is changed,
    # so concurrent uploads in one process cannot interfere.
    try:
        im = Image.open(io.BytesIO(data))
        w, h = im.size
        if w * h > limits.max_image_pixels:
            raise ImportFailed(
                f"image is {w}x{h} = {w * h / 1e6:.0f} Mpixel, above the "
                f"{limits.max_image_pixels / 1e6:.0f} Mpixel limit (decompression bomb?)",
                where=where,
            )
        im.load()
    except ImportFailed:
        raise
    except Image.DecompressionBombError as exc:
        raise ImportFailed(f"image too large to decode safely, decompression bomb? ({exc})", where=where) from exc
    except UnidentifiedImageError as exc:
        raise ImportFailed("not a readable PNG or JPEG image", where=where) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImportFailed(f"corrupt or truncated image ({exc})", where=where) from exc
    return im


def load_json(data: bytes, where: str) -> Any:
    """Parse JSON text (UTF-8, BOM allowed) with a one-line error naming the file and position."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"not UTF-8 text (byte {exc.start})", where=where) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", where=where) from exc
    except RecursionError as exc:
        raise ImportFailed("JSON nested too deeply", where=where) from exc


_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"AutoCAD Binary DXF", "dxf"),
    (b"AC10", "dwg"),
    (b"GIF8", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
]


def sniff(data: bytes) -> str:
    """Guess the content type from the bytes: png, jpeg, pdf, zip, dxf, dwg, json, or unknown."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if b"%PDF-" in data[:1024]:
        return "pdf"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return "json"
    lines = [ln.strip() for ln in head.splitlines()[:8]]
    if len(lines) >= 2 and lines[0] in (b"0", b"999") and (b"SECTION" in lines or lines[0] == b"999"):
        return "dxf"
    return "unknown"
