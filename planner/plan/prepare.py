"""Everything before the first solve: the engine, candidates (privacy first), witnesses and the objective."""

from __future__ import annotations

import time
from dataclasses import dataclass

from planner.coverage import Engine
from planner.floor import Floor
from planner.plan.candidates import Candidates, prepare_candidates
from planner.plan.options import Clock, PlanOptions, emit, validate
from planner.plan.witnesses import WitnessMatrix, ZoneData
from planner.setcover import lexicographic_costs


@dataclass
class Objective:
    """The lexicographic objective (faces, then cameras, then changes) folded into one weight per column."""

    weights: list[int]
    level_face: list[int]
    level_change: list[int]

    @property
    def camera_scale(self) -> int:
        """The multiplier of the camera level inside the folded weights."""
        return max(1, sum(self.level_change) + 1)


@dataclass
class Prepared:
    """Everything the solve needs: the engine, allowed candidates, zones, the witness matrix and the objective."""

    engine: Engine
    candidates: Candidates
    zones: list[ZoneData]
    matrix: WitnessMatrix
    objective: Objective

    @property
    def cols(self) -> list:
        """The candidate poses, in column order."""
        return self.candidates.poses


def _objective_for(candidates: Candidates, options: PlanOptions) -> Objective:
    """Per-column costs: face terminals used, then cameras, then new installs and re-aims."""
    costs = options.costs
    poses = candidates.poses
    level_face = [costs.face if p.face_recognition else 0 for p in poses]
    level_cam = [costs.camera for _ in poses]
    level_change = [costs.new_install if p.change == "new" else costs.reaim if p.change == "reaim" else 0
                    for p in poses]
    weights = lexicographic_costs([level_face, level_cam, level_change]) if poses else []
    return Objective(weights, level_face, level_change)


def prepare(floor: Floor, options: PlanOptions, clock: Clock | None = None) -> Prepared:
    """Data, privacy exclusion, witnesses and the coverage matrix (everything before the first solve)."""
    validate(floor, options)
    clock = clock or Clock.for_options(options)
    start = clock.start
    engine = Engine(floor, options.ppm)
    emit(options, phase="candidates", seconds=time.perf_counter() - start)
    candidates = prepare_candidates(floor, engine, options, clock)
    zones = []
    for z in floor.zones_of("required"):
        region = engine.region(z)
        zones.append(ZoneData(z, options.k_override or z.k, region, options.spacing_for(region.area)))
    emit(options, phase="witnesses", seconds=time.perf_counter() - start, candidates=len(candidates.poses))
    matrix = WitnessMatrix.build(engine, candidates.poses, zones, options.boundary_witnesses, clock,
                                 options.workers)
    return Prepared(engine, candidates, zones, matrix, _objective_for(candidates, options))
