"""The camera-plan optimizer: the smallest set of cameras meeting every required zone, with a certificate.

``plan(floor, options) -> Plan`` (see docs/optimizer.md).  Modules, in the order a run uses them:
``options`` (PlanOptions, validation), ``candidates`` (poses per mode, privacy first), ``witnesses`` (the
witness matrix), ``prepare`` (everything before the first solve), ``loop`` (the refinement loop),
``certificate`` (decisions, bound, status) and ``explain`` (per-camera explanations).
"""

from planner.plan.certificate import Plan
from planner.plan.loop import plan
from planner.plan.options import DEFAULT_MODELS, MODES, CameraModel, PlanCosts, PlanOptions
from planner.plan.prepare import Prepared, prepare

__all__ = ["DEFAULT_MODELS", "MODES", "CameraModel", "Plan", "PlanCosts", "PlanOptions", "Prepared", "plan",
           "prepare"]
