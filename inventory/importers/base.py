"""Shared types for the floor-plan importers: results, options, the Importer protocol and the error type."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from planner.errors import InputError
from planner.floor import FORMAT as FORMAT_TAG  # noqa: F401 - re-exported; the engine owns the format name


class ImportFailed(InputError):
    """A file could not be imported; `where` names the file, layer or feature, the message gives the reason."""


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to every upload (all configurable; defaults suit a web upload)."""

    max_upload_bytes: int = 50 * 1024 * 1024
    max_zip_entries: int = 2_000
    max_zip_total_bytes: int = 200 * 1024 * 1024
    max_zip_ratio: float = 100.0
    max_image_pixels: int = 64_000_000
    max_render_pixels: int = 16_000_000
    max_dxf_entities: int = 200_000
    max_features: int = 200_000
    # Wall-clock seconds one import may take (checked between steps); None for no limit.
    max_seconds: float | None = 120.0


@dataclass(frozen=True)
class ImportOptions:
    """What the user chose in the upload form; every field has a safe default."""

    repair: bool = False
    # DXF: layer name -> role (see dxf.ROLES); unmapped layers are guessed from their names and content.
    layer_map: dict[str, str] | None = None
    # DXF: drawing units overriding $INSUNITS (e.g. "mm", "m", "in").
    units: str | None = None
    # DXF: metres per drawing unit, overriding the units.
    scale: float | None = None
    # DXF: two drawing points and the distance between them in metres, overriding units and scale.
    calibration: tuple[tuple[float, float], tuple[float, float], float] | None = None
    # DXF: which of several drawings in model space to import (1 = the largest).
    cluster: int | None = None
    # IMDF: a level in several parts becomes one floor ("merge", outline around every part) or one floor per part.
    level_parts: str = "merge"
    # IMDF unit category or WRLD type -> private/general/required/wall/ignore (WRLD also glass), the user's
    # confirmed answer overriding the built-in mapping.
    category_map: dict[str, str] | None = None
    # WRLD: treat window polygons as glass that sight passes through.
    windows_see_through: bool = True
    # Raster/PDF: 0-based page for PDFs.
    page: int = 0
    render_background: bool = True


@dataclass
class Background:
    """A rendered plan image; `extent_m` is (xmin, ymin, xmax, ymax) in floor metres, None until calibrated."""

    png: bytes
    width_px: int
    height_px: int
    extent_m: tuple[float, float, float, float] | None = None
    page: int | None = None
    page_count: int | None = None
    # Vector PDFs: the page's straight stroked segments as [x0, y0, x1, y1] in this image's pixels (y down),
    # walls to confirm once the plan is calibrated (raster.walls_from_lines).
    vector_lines_px: list[list[float]] = field(default_factory=list)


@dataclass
class Level:
    """One imported floor: its name and a sightline-floor/1 FeatureCollection."""

    name: str
    floor: dict[str, Any]
    ordinal: float | None = None
    background: Background | None = None

    def counts(self) -> dict[str, int]:
        """Features per kind, plus zones per zone kind as `zone:<kind>`."""
        c: Counter[str] = Counter()
        for f in self.floor["features"]:
            p = f["properties"]
            c[p["kind"]] += 1
            if p["kind"] == "zone":
                c[f"zone:{p['zone']}"] += 1
        return dict(c)


@dataclass
class ImportResult:
    """Everything an import produced: floors, warnings, the category/layer mapping used, and georeference."""

    format: str
    source: str
    levels: list[Level]
    warnings: list[str] = field(default_factory=list)
    # How source categories/layers were mapped, for the user to confirm: [{"source": ..., "to": ..., "count": n}].
    mapping: list[dict[str, Any]] = field(default_factory=list)
    # For WGS84 inputs: {"projection": ..., "lon0": ..., "lat0": ..., "max_scale_error": ...}.
    georef: dict[str, Any] | None = None
    # Source features dropped, by source type.
    dropped: dict[str, int] = field(default_factory=dict)
    # DXF: the separate drawings found in model space, largest first: [{"index", "width_m", "height_m", "share"}].
    clusters: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per level name, the features per kind (see Level.counts), for the upload summary."""
        return {lv.name: lv.counts() for lv in self.levels}

    def to_json(self) -> dict[str, Any]:
        """The `python -m inventory.convert` output object."""
        return {"levels": [{"name": lv.name, "floor": lv.floor} for lv in self.levels]}


class Importer(Protocol):
    """What each format module provides."""

    name: str
    extensions: tuple[str, ...]

    def load(self, files: dict[str, bytes], source: str, options: ImportOptions, limits: Limits) -> ImportResult:
        """Convert the named files (one file, or an archive/directory's members) into an ImportResult."""
        ...


def with_choices(options: ImportOptions, choices: Mapping[str, str] | None) -> ImportOptions:
    """The options with the preview's choices applied: scale (metres per DXF unit), drawing (1, 2, ...), parts."""
    if not choices:
        return options
    changes: dict[str, Any] = {}
    scale = (choices.get("scale") or "").strip()
    if scale:
        try:
            changes["scale"] = float(scale)
        except ValueError as exc:
            raise ImportFailed(f"scale {scale!r} is not a number of metres per drawing unit", where="scale") from exc
        if not (changes["scale"] > 0 and changes["scale"] < float("inf")):
            raise ImportFailed(f"scale {scale!r} must be a positive number of metres per drawing unit", where="scale")
    drawing = (choices.get("drawing") or "").strip()
    if drawing:
        if not drawing.isdigit() or int(drawing) < 1:
            raise ImportFailed(f"drawing {drawing!r} must be 1, 2, ...", where="drawing")
        changes["cluster"] = int(drawing)
    parts = (choices.get("level_parts") or "").strip()
    if parts:
        if parts not in ("merge", "split"):
            raise ImportFailed(f"level parts {parts!r} must be merge or split", where="level_parts")
        changes["level_parts"] = parts
    return replace(options, **changes)


_deadline: ContextVar[tuple[float, float] | None] = ContextVar("import_deadline", default=None)


def start_clock(limits: Limits) -> object:
    """Start the import's time limit; returns a token for stop_clock."""
    if limits.max_seconds is None:
        return _deadline.set(None)
    return _deadline.set((time.monotonic() + limits.max_seconds, limits.max_seconds))


def stop_clock(token: object) -> None:
    """End the time limit started by start_clock."""
    _deadline.reset(token)  # type: ignore[arg-type]


_step_hook: ContextVar[Callable[[str], None] | None] = ContextVar("import_step_hook", default=None)


def watch_steps(hook: Callable[[str], None] | None) -> object:
    """Call `hook` with each step name the importer reaches (for a progress display); returns a token to reset."""
    return _step_hook.set(hook)


def reset_steps(token: object) -> None:
    """Stop the hook set by watch_steps."""
    _step_hook.reset(token)  # type: ignore[arg-type]


def check_time(step: str, where: str | None = None) -> None:
    """Refuse the import if it has run past its time limit, naming the step that took too long."""
    hook = _step_hook.get()
    if hook is not None:
        hook(step)
    limit = _deadline.get()
    if limit is not None and time.monotonic() > limit[0]:
        raise ImportFailed(f"import took longer than {limit[1]:g} s ({step}); nothing was imported", where=where)
