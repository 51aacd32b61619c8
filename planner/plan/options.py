"""How to plan: the mode, candidate generation, tolerances, limits and callbacks (``PlanOptions``)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from planner.coverage import AREA_TOL_M2, PRIVACY_TOLERANCE_M2
from planner.errors import InputError
from planner.floor import Floor

MODES = ("reduce", "design", "mixed")
ProgressFn = Callable[[dict], None]


@dataclass(frozen=True)
class CameraModel:
    """A camera model of the library: horizontal pixels and hfov (fixed, or a varifocal range)."""

    name: str
    hpx: int
    hfov_deg: float
    hfov_min_deg: float | None = None
    hfov_max_deg: float | None = None


DEFAULT_MODELS: tuple[CameraModel, ...] = (CameraModel("generic-1080p-90", 1920, 90.0),)


@dataclass(frozen=True)
class PlanCosts:
    """Per-level costs of the lexicographic objective (faces, then cameras, then changes)."""

    face: int = 1  # level 1: each face-recognition terminal used
    camera: int = 1  # level 2: each camera in the plan
    new_install: int = 1  # level 3: each new camera
    reaim: int = 1  # level 3: each camera turned at its mount


@dataclass
class PlanOptions:
    """How to plan: mode, candidate generation, constraints' tolerances, limits and callbacks."""

    mode: str = "reduce"
    reaim_step: float | None = None  # degrees; None = keep installed poses
    design_spacing: float = 2.0  # metres between generated mounts along walls
    design_headings: int = 8
    design_corners: bool = True  # design mode: also mount points around every wall vertex
    design_in_required: bool = True  # design mode: only mounts inside (or within 0.5 m of) a required zone
    # Design mode: (x, y, heading) of proposed cameras a reviewer rejected; no candidate is generated at them again.
    excluded_poses: tuple[tuple[float, float, float], ...] = ()
    models: tuple[CameraModel, ...] = DEFAULT_MODELS
    allow_face: bool = False
    costs: PlanCosts = field(default_factory=PlanCosts)
    privacy_tolerance_m2: float = PRIVACY_TOLERANCE_M2
    area_tolerance_m2: float = AREA_TOL_M2
    witness_spacing: float | None = None  # metres; None = automatic per zone
    witnesses_per_zone: int = 300  # target of the automatic spacing
    boundary_witnesses: bool = True  # also sample along each zone's boundary (1 mm inside) and its corners
    k_override: int | None = None  # plan every required zone with this k (trade-off curves)
    max_rounds: int = 40
    time_limit: float = 60.0
    workers: int = 2
    seed: int = 0
    backend: str = "cpsat"
    deterministic: bool = True
    explain: bool = True
    ppm: dict[str, float] | None = None
    cancel: threading.Event | None = None
    progress: ProgressFn | None = None

    def spacing_for(self, area: float) -> float:
        """Witness grid spacing for a zone region of ``area`` m² (fixed, or about witnesses_per_zone points)."""
        return self.witness_spacing or min(5.0, max(0.25, math.sqrt(area / self.witnesses_per_zone)))


@dataclass
class Clock:
    """The run's time limit, shared by every phase: time left, cancellation, and the phase it stopped in."""

    start: float
    limit: float
    cancel: threading.Event | None = None
    stopped_in: str | None = None  # the first phase cut short by the limit or a cancel

    @classmethod
    def for_options(cls, options: PlanOptions, start: float | None = None) -> Clock:
        """A clock started now (or at ``start``) with the options' limit and cancel event."""
        return cls(time.perf_counter() if start is None else start, float(options.time_limit), options.cancel)

    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.perf_counter() - self.start

    def left(self, share: float = 1.0) -> float:
        """Seconds until ``share`` of the limit has passed (negative once it has)."""
        return self.start + share * self.limit - time.perf_counter()

    def out(self, phase: str, share: float = 1.0, reserve: float = 0.0) -> bool:
        """True (and remember the phase) once ``share`` of the limit minus ``reserve`` s is used up or cancelled."""
        if (self.cancel is not None and self.cancel.is_set()) or self.left(share) <= reserve:
            if self.stopped_in is None:
                self.stopped_in = phase
            return True
        return False


def emit(options: PlanOptions, **info: object) -> None:
    """Send one progress event to the caller's callback, if any."""
    if options.progress is not None:
        options.progress(dict(info))


def validate(floor: Floor, options: PlanOptions) -> None:
    """Refuse options and floors the planner cannot work with, naming the field."""
    if options.mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {options.mode!r}")
    if not isinstance(options.time_limit, int | float) or not math.isfinite(options.time_limit) \
            or options.time_limit <= 0:
        raise InputError(f"time limit must be a positive number of seconds, got {options.time_limit}")
    if options.reaim_step is not None and not 0 < options.reaim_step <= 180:
        raise InputError(f"re-aim step must be in (0, 180] degrees, got {options.reaim_step}")
    if options.design_spacing <= 0:
        raise InputError(f"design spacing must be positive, got {options.design_spacing}")
    if options.design_headings < 1:
        raise InputError(f"design headings must be at least 1, got {options.design_headings}")
    if options.k_override is not None and options.k_override < 1:
        raise InputError(f"k must be at least 1, got {options.k_override}")
    if not floor.zones_of("required"):
        raise InputError("the floor has no required zone: there is no coverage to plan")
