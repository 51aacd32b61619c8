"""Adapter from a stored plan (floor snapshot + parameters + review locks) to the framework-free optimizer."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from planner.errors import InputError
from planner.floor import parse_floor
from planner.plan import PlanOptions, plan


class EngineError(RuntimeError):
    """The optimizer refused the input (bad geometry, conflicting locks, ...)."""


def options_from(parameters: dict[str, Any], *, workers: int, progress: Callable[[dict], None] | None,
                 cancel: threading.Event | None) -> PlanOptions:
    """PlanOptions from a plan's stored parameters."""
    options = PlanOptions(
        mode=parameters.get("mode", "reduce"),
        reaim_step=float(parameters["reaim_step"]) if parameters.get("reaim") else None,
        allow_face=bool(parameters.get("allow_face_recognition", False)),
        time_limit=float(parameters.get("time_limit", 60.0)),
        seed=int(parameters.get("seed", 0)),
        workers=workers,
        progress=progress,
        cancel=cancel,
    )
    if parameters.get("design_spacing"):
        options.design_spacing = float(parameters["design_spacing"])
    if parameters.get("k_override"):
        options.k_override = int(parameters["k_override"])
    options.excluded_poses = tuple((float(a["x"]), float(a["y"]), float(a["heading_deg"]))
                                   for a in parameters.get("rejected_additions") or ()
                                   if None not in (a.get("x"), a.get("y"), a.get("heading_deg")))
    return options


def with_locks(snapshot: dict[str, Any], locks: dict[str, str]) -> dict[str, Any]:
    """A copy of the snapshot whose terminals carry the review's locks (the stored snapshot stays as it was)."""
    if not locks:
        return snapshot
    collection = copy.deepcopy(snapshot)
    for feature in collection["features"]:
        props = feature["properties"]
        if props.get("kind") == "terminal" and str(props.get("id")) in locks:
            props["locked"] = locks[str(props["id"])]
    return collection


def run_optimizer(snapshot: dict[str, Any], parameters: dict[str, Any], *, progress: Callable[[dict], None] | None,
                  cancel: threading.Event | None, workers: int = 2,
                  locks: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the optimizer on a floor snapshot and return the plan as JSON (the `plan` CLI's output)."""
    try:
        floor = parse_floor(with_locks(snapshot, locks or {}))
        result = plan(floor, options_from(parameters, workers=workers, progress=progress, cancel=cancel))
    except InputError as exc:
        raise EngineError(str(exc)) from exc
    return result.to_dict()


def tradeoff_curves(snapshot: dict[str, Any], parameters: dict[str, Any], *, locks: dict[str, str] | None,
                    workers: int, seconds_per_point: float) -> dict[str, list[dict]]:
    """Minimum cameras against the covered fraction and against k (planner.tradeoff) for a plan's inputs."""
    from dataclasses import replace

    from planner.tradeoff import coverage_curve, k_curve

    try:
        floor = parse_floor(with_locks(snapshot, locks or {}))
        options = options_from(parameters, workers=workers, progress=None, cancel=None)
        options = replace(options, time_limit=seconds_per_point, explain=False, k_override=None)
        return {"coverage": coverage_curve(floor, (1.0, 0.99, 0.95, 0.9), options),
                "k": k_curve(floor, (1, 2, 3), options)}
    except InputError as exc:
        raise EngineError(str(exc)) from exc
