"""Stored floor-plan files: original uploads, rendered backgrounds and each organisation's DXF layer map.

Everything lives under one root folder (config UPLOAD_FOLDER, else instance/uploads), one folder per
organisation and floor. The web layer builds the Storage from its config; nothing here reads the app.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.errors import NotFound
from inventory.importers.base import Background
from inventory.models import Floor

RASTER_EXTENSIONS = (".png", ".jpg", ".jpeg", ".pdf")
VECTOR_EXTENSIONS = (".json", ".geojson", ".zip", ".imdf", ".dxf")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def stored_upload(floor: Floor) -> dict[str, str] | None:
    """The floor's original vector upload (token and name) when it can be imported again with another mapping."""
    name = (floor.original_upload or "").rsplit("/", 1)[-1]
    if len(name) < 34 or not _TOKEN.match(name[:32]) or not name.lower().endswith(VECTOR_EXTENSIONS):
        return None
    return {"token": name[:32], "name": name[33:]}


@dataclass(frozen=True)
class Storage:
    """The upload folder of one app."""

    root: Path

    @classmethod
    def from_config(cls, config: Mapping[str, Any], instance_path: str) -> Storage:
        """The folder named by UPLOAD_FOLDER, else <instance>/uploads."""
        return cls(Path(config.get("UPLOAD_FOLDER") or os.path.join(instance_path, "uploads")))

    def _floor_dir(self, floor: Floor) -> Path:
        return self.root / str(floor.venue.organisation_id) / f"floor-{floor.id}"

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _resolve(self, floor: Floor, relative: str) -> Path:
        """A stored file of this floor; anything outside the floor's folder is refused as not found."""
        base = self._floor_dir(floor).resolve()
        path = (self.root / relative).resolve()
        if base not in path.parents or not path.is_file():
            raise NotFound(f"file {relative}")
        return path

    def store_upload(self, floor: Floor, filename: str, data: bytes) -> tuple[str, str]:
        """Keep the original upload under <org>/floor-<id>/uploads/; returns its token and relative path."""
        token = uuid.uuid4().hex
        folder = self._floor_dir(floor) / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        name = _SAFE_NAME.sub("_", os.path.basename(filename.replace("\\", "/")))[-100:] or "upload"
        path = folder / f"{token}-{name}"
        partial = path.with_name(f".{path.name}.partial")
        try:
            partial.write_bytes(data)
            os.replace(partial, path)  # a full disk leaves no half file under the real name
        finally:
            partial.unlink(missing_ok=True)
        return token, self._relative(path)

    def read_upload(self, floor: Floor, token: str) -> tuple[str, bytes, str]:
        """(original file name, bytes, relative path) of a stored upload of this floor."""
        if not _TOKEN.match(token or ""):
            raise NotFound("upload")
        folder = self._floor_dir(floor) / "uploads"
        matches = sorted(folder.glob(f"{token}-*")) if folder.is_dir() else []
        original = floor.original_upload or ""
        if not matches and original.rsplit("/", 1)[-1].startswith(token + "-"):
            # A floor created from one level of a multi-level file shares the first floor's stored upload.
            path = (self.root / original).resolve()
            org_dir = (self.root / str(floor.venue.organisation_id)).resolve()
            if org_dir in path.parents and path.is_file():
                matches = [path]
        if not matches:
            raise NotFound("upload")
        path = matches[0]
        return path.name[len(token) + 1:], path.read_bytes(), self._relative(path)

    def _parse_path(self, floor: Floor, token: str) -> Path:
        if not _TOKEN.match(token or ""):
            raise NotFound("upload")
        return self._floor_dir(floor) / "imports" / f"{token}.json"

    def read_import(self, floor: Floor, token: str) -> dict[str, Any] | None:
        """The background import's status (and, once done, its stored parse) of one upload of this floor."""
        try:
            data = json.loads(self._parse_path(floor, token).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_import(self, floor: Floor, token: str, status: Mapping[str, Any]) -> None:
        """Replace an upload's import status atomically, so a polling page never reads half a file."""
        path = self._parse_path(floor, token)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        partial.write_text(json.dumps(status), encoding="utf-8")
        os.replace(partial, path)

    def save_import_image(self, floor: Floor, token: str, level: int, png: bytes) -> str:
        """Keep a level's rendered background beside the stored parse; returns its relative path."""
        path = self._parse_path(floor, token).with_name(f"{token}-level-{level}.png")
        path.write_bytes(png)
        return self._relative(path)

    def read_import_image(self, floor: Floor, relative: str) -> bytes:
        """A background kept by save_import_image."""
        return self._resolve(floor, relative).read_bytes()

    def discard_upload(self, floor: Floor, token: str) -> None:
        """Delete a stored upload that could not be read (its import status stays, for the page to show why)."""
        folder = self._floor_dir(floor) / "uploads"
        if _TOKEN.match(token or "") and folder.is_dir():
            for path in folder.glob(f"{token}-*"):
                path.unlink(missing_ok=True)

    def background_path(self, floor: Floor) -> Path:
        """The floor's background image file, or NotFound."""
        if not floor.background_image:
            raise NotFound("background")
        return self._resolve(floor, floor.background_image)

    def save_background(self, floor: Floor, background: Background) -> str:
        """Write a rendered background PNG for the floor; returns its relative path."""
        folder = self._floor_dir(floor)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"background-{uuid.uuid4().hex}.png"
        path.write_bytes(background.png)
        if background.vector_lines_px:
            lines = [[round(v, 2) for v in seg] for seg in background.vector_lines_px]
            path.with_suffix(".lines.json").write_text(json.dumps(lines), encoding="utf-8")
        return self._relative(path)

    def read_vector_lines(self, floor: Floor) -> list[list[float]]:
        """The straight vector lines (pixels) kept beside the floor's background; empty if it has none."""
        try:
            path = self.background_path(floor).with_suffix(".lines.json")
            data = json.loads(path.read_text(encoding="utf-8"))
        except (NotFound, OSError, ValueError):
            return []
        return data if isinstance(data, list) else []

    def saved_layer_map(self, organisation_id: int) -> dict[str, str]:
        """The DXF layer -> role mapping an organisation last confirmed."""
        path = self.root / str(organisation_id) / "dxf-layer-map.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def save_layer_map(self, organisation_id: int, mapping: Mapping[str, str]) -> None:
        """Merge a confirmed DXF layer mapping into the organisation's saved one."""
        merged = {**self.saved_layer_map(organisation_id), **{k.lower(): v for k, v in mapping.items()}}
        folder = self.root / str(organisation_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "dxf-layer-map.json").write_text(json.dumps(merged, sort_keys=True, indent=1), encoding="utf-8")
