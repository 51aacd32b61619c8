"""Plan (one optimizer run on a floor snapshot) and its per-terminal decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from accounts.models import User, utcnow
from extensions import db
from inventory.choices import Choice, db_enum
from inventory.models import Floor, Terminal


class PlanState(Choice):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Decision(Choice):
    KEEP = "keep"
    REMOVE = "remove"
    REAIM = "reaim"
    ADD = "add"


class Review(Choice):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class WorkKind(Choice):
    REMOVE = "remove"
    REAIM = "reaim"
    INSTALL = "install"


class Plan(db.Model):
    """One optimizer run: the floor as it was, the parameters, the state and the certificate."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    floor_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("floor.id", ondelete="CASCADE"), index=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    mode: so.Mapped[str] = so.mapped_column(sa.String(10))
    parameters: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    # The sightline-floor/1 collection the run saw, so anyone can re-verify it later from stored geometry.
    floor_snapshot: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    inputs_hash: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    state: so.Mapped[PlanState] = so.mapped_column(db_enum(PlanState), default=PlanState.QUEUED)
    progress: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    cancel_requested: so.Mapped[bool] = so.mapped_column(default=False)
    started_at: so.Mapped[datetime | None] = so.mapped_column()
    finished_at: so.Mapped[datetime | None] = so.mapped_column()
    solver_status: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    objective: so.Mapped[float | None] = so.mapped_column()
    bound: so.Mapped[float | None] = so.mapped_column()
    seconds: so.Mapped[float | None] = so.mapped_column()
    uncovered_m2: so.Mapped[float | None] = so.mapped_column()
    privacy_overlap_m2: so.Mapped[float | None] = so.mapped_column()
    result: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    # Before/after SVGs, drawn once by the worker so page views do no geometry.
    drawings: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    # Per kept or added camera: required area per zone that falls below its k without it (planner.necessity).
    necessity: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    # Trade-off curves on the same snapshot (planner.tradeoff), computed on request: {state, coverage, k, error}.
    tradeoff: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    approved_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    approved_at: so.Mapped[datetime | None] = so.mapped_column()
    # Versions: the n-th plan of its floor, and the plan whose review it re-runs.
    version: so.Mapped[int] = so.mapped_column(default=1)
    parent_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("plan.id", ondelete="SET NULL"))
    # Review locks honoured by this run ({terminal code: "keep" | "remove"}); they belong to the plan, not the terminal.
    locks: so.Mapped[dict[str, str] | None] = so.mapped_column(sa.JSON)
    heartbeat_at: so.Mapped[datetime | None] = so.mapped_column()
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    # Set to the floor id while this is the floor's approved plan in force; unique, so two can never be in force.
    in_force_floor_id: so.Mapped[int | None] = so.mapped_column(unique=True)
    superseded_at: so.Mapped[datetime | None] = so.mapped_column()
    superseded_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("plan.id", ondelete="SET NULL"))

    floor: so.Mapped[Floor] = so.relationship()
    created_by: so.Mapped[User | None] = so.relationship(foreign_keys=[created_by_id])
    approved_by: so.Mapped[User | None] = so.relationship(foreign_keys=[approved_by_id])
    decisions: so.Mapped[list[PlanDecision]] = so.relationship(back_populates="plan", cascade="all, delete-orphan",
                                                               order_by="PlanDecision.id")
    work_items: so.Mapped[list[WorkItem]] = so.relationship(back_populates="plan", cascade="all, delete-orphan",
                                                            order_by="WorkItem.id")

    @property
    def finished(self) -> bool:
        """Whether the run has stopped, for good or ill."""
        return self.state in (PlanState.DONE, PlanState.FAILED, PlanState.CANCELLED)

    @property
    def in_force(self) -> bool:
        """Whether this is the approved plan in force on its floor."""
        return self.in_force_floor_id is not None


class PlanDecision(db.Model):
    """What the plan proposes for one terminal, why, and the planner's review of it."""

    # The city overview joins a floor's terminals to the decisions of its plan in force by code.
    __table_args__ = (sa.Index("ix_plan_decision_plan_id_terminal_code", "plan_id", "terminal_code"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    plan_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    terminal_code: so.Mapped[str] = so.mapped_column(sa.String(50))
    decision: so.Mapped[Decision] = so.mapped_column(db_enum(Decision))
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    pose: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    review: so.Mapped[Review | None] = so.mapped_column(db_enum(Review))
    review_comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    reviewed_at: so.Mapped[datetime | None] = so.mapped_column()

    plan: so.Mapped[Plan] = so.relationship(back_populates="decisions")
    reviewed_by: so.Mapped[User | None] = so.relationship()

    @property
    def lock(self) -> str | None:
        """The lock a rejection puts on the next version: a rejected removal or turn keeps, a rejected keep removes.

        A keep lock holds the terminal at its installed heading (the optimizer offers no re-aim of a locked keep),
        so a rejected turn keeps the camera where it points now. A rejected new camera is no lock: see
        ``plans.service.rejected_additions``.
        """
        if self.review != Review.REJECTED:
            return None
        return {Decision.REMOVE: "keep", Decision.REAIM: "keep", Decision.KEEP: "remove"}.get(self.decision)


class WorkItem(db.Model):
    """One change an approved plan asks the venue to carry out, ticked off by the facility manager."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    plan_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    kind: so.Mapped[WorkKind] = so.mapped_column(db_enum(WorkKind))
    terminal_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("terminal.id", ondelete="SET NULL"))
    label: so.Mapped[str] = so.mapped_column(sa.String(50))
    heading_deg: so.Mapped[float | None] = so.mapped_column()
    pose: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)
    cancelled: so.Mapped[bool] = so.mapped_column(default=False)
    done_at: so.Mapped[datetime | None] = so.mapped_column()
    done_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))

    plan: so.Mapped[Plan] = so.relationship(back_populates="work_items")
    terminal: so.Mapped[Terminal | None] = so.relationship()
    done_by: so.Mapped[User | None] = so.relationship()
