"""A small city for the dashboard tests: its expected figures are worked out by hand in the tests."""

from __future__ import annotations

from datetime import datetime

from accounts.cli import create_user
from accounts.models import Organisation, Role
from compliance.models import Finding
from extensions import db
from inspection.models import Inspection, InspectionStatus
from inventory.choices import TerminalStatus, VenueType
from inventory.models import Floor, Terminal, Venue
from plans.models import Decision, Plan, PlanDecision, PlanState

PASSWORD = "city-password"
INSPECTOR_HUANGPU = "huangpu@inspect.example"
INSPECTOR_XUHUI = "xuhui@inspect.example"
MANAGER_ALPHA = "manager@alpha.example"
ADMIN = "admin@city.example"
REMOVED = datetime(2026, 11, 1)


def _terminals(venue: Venue, floor: Floor, specs: list[tuple]) -> dict[str, Terminal]:
    out = {}
    for n, (code, kind, face, status, enrolled, *rest) in enumerate(specs):
        t = Terminal(venue_id=venue.id, floor=floor, code=code, kind=kind, x=n, y=0, face_recognition=face,
                     status=status, enrolled_count=enrolled, removed_at=rest[0] if rest else None)
        db.session.add(t)
        out[code] = t
    return out


def _venue(org: Organisation, name: str, venue_type: VenueType, district: str, removed: bool = False) -> Venue:
    venue = Venue(organisation_id=org.id, name=name, type=venue_type, district=district,
                  removed_at=REMOVED if removed else None)
    db.session.add(venue)
    db.session.flush()
    return venue


def _floor(venue: Venue, level: int) -> Floor:
    floor = Floor(venue=venue, level=level, name=f"L{level}", structure=[])
    db.session.add(floor)
    db.session.flush()
    return floor


def _finding(venue: Venue, severity: str, status: str, n: int) -> None:
    db.session.add(Finding(venue_id=venue.id, rule_id="CN-01", key=f"k{n}", severity=severity, status=status,
                           subject="x", message="x", detail={}))


def build_city() -> dict[str, int]:
    """Create the city (the caller commits); return the venue ids by name."""
    admin = create_user(ADMIN, "Admin", PASSWORD, Role.ADMIN)
    create_user(INSPECTOR_HUANGPU, "Hu Inspector", PASSWORD, Role.INSPECTOR, jurisdiction="Huangpu bureau",
                districts=["Huangpu"])
    create_user(INSPECTOR_XUHUI, "Xu Inspector", PASSWORD, Role.INSPECTOR, jurisdiction="Xuhui bureau",
                districts=["xuhui"])
    create_user(MANAGER_ALPHA, "Al Manager", PASSWORD, Role.MANAGER, organisation="Alpha Hotels")
    create_user("planner@city.example", "Pl Planner", PASSWORD, Role.PLANNER, planned=["Alpha Hotels"])
    alpha = db.session.query(Organisation).filter_by(name="Alpha Hotels").one()
    alpha.legal_entity = "Alpha Holdings Ltd"
    beta = Organisation(name="Beta Marts")
    gamma = Organisation(name="Gamma Pools", legal_entity="Gamma Group")
    db.session.add_all([beta, gamma])
    db.session.flush()
    active, planned, gone = TerminalStatus.ACTIVE, TerminalStatus.PLANNED_REMOVAL, TerminalStatus.REMOVED

    # V1: Huangpu hotel. Floor 1 has an approved plan in force; floor 2 has none.
    v1 = _venue(alpha, "Alpha Bund", VenueType.HOTEL, "Huangpu")
    f1 = _floor(v1, 1)
    _terminals(v1, f1, [("C1", "camera", False, active, None), ("C2", "camera", False, planned, None),
                        ("C3", "camera", False, active, None), ("FR1", "face_terminal", True, planned, 50_000),
                        ("FR2", "camera", True, active, 35_000)])
    plan = Plan(floor=f1, mode="reduce", parameters={}, floor_snapshot={"features": []}, inputs_hash="h",
                state=PlanState.DONE, approved_at=datetime(2026, 11, 20), approved_by_id=admin.id,
                in_force_floor_id=f1.id)
    db.session.add(plan)
    db.session.flush()
    for code, decision in (("C1", Decision.KEEP), ("C2", Decision.REMOVE), ("C3", Decision.REAIM),
                           ("FR1", Decision.REMOVE), ("FR2", Decision.KEEP), ("N-1", Decision.ADD)):
        db.session.add(PlanDecision(plan_id=plan.id, terminal_code=code, decision=decision))
    # An older, superseded plan of the same floor must not count.
    old = Plan(floor=f1, mode="reduce", parameters={}, floor_snapshot={"features": []}, inputs_hash="g",
               state=PlanState.DONE, approved_at=datetime(2026, 11, 1), superseded_at=datetime(2026, 11, 20))
    db.session.add(old)
    db.session.flush()
    db.session.add(PlanDecision(plan_id=old.id, terminal_code="C1", decision=Decision.REMOVE))
    f2 = _floor(v1, 2)
    _terminals(v1, f2, [("C4", "camera", False, active, None), ("C5", "camera", False, planned, None),
                        ("C6", "camera", False, gone, None), ("C7", "camera", False, active, None, REMOVED),
                        ("FR3", "face_terminal", True, active, 0)])
    for n, (severity, status) in enumerate([("prohibited", "open"), ("prohibited", "open"), ("must", "open"),
                                            ("prohibited", "fixed")]):
        _finding(v1, severity, status, n)
    db.session.add(Inspection(venue_id=v1.id, inspector_id=admin.id, status=InspectionStatus.SIGNED_OFF,
                              signed_off_at=datetime(2026, 11, 25)))

    # V2: Huangpu supermarket, no plan, an accepted (not open) prohibited finding, an inspection in progress.
    v2 = _venue(beta, "Beta Market", VenueType.SUPERMARKET, "Huangpu")
    _terminals(v2, _floor(v2, 0), [("C1", "camera", False, active, None), ("C2", "camera", False, active, None)])
    _finding(v2, "prohibited", "accepted", 9)
    db.session.add(Inspection(venue_id=v2.id, inspector_id=admin.id, status=InspectionStatus.IN_PROGRESS))

    # V3: Xuhui hotel of the same entity (Alpha Holdings): one face terminal, one camera, one open prohibited.
    v3 = _venue(alpha, "Alpha Xuhui", VenueType.HOTEL, "Xuhui")
    _terminals(v3, _floor(v3, 0), [("FR4", "face_terminal", True, active, 10_000),
                                   ("C1", "camera", False, active, None)])
    _finding(v3, "prohibited", "open", 10)
    db.session.add(Inspection(venue_id=v3.id, inspector_id=admin.id, status=InspectionStatus.SIGNED_OFF,
                              signed_off_at=datetime(2026, 11, 26)))

    # V4: removed Huangpu hotel of Alpha: nothing of it counts (its 20,000 enrolled would put Alpha over).
    v4 = _venue(alpha, "Alpha Closed", VenueType.HOTEL, "Huangpu", removed=True)
    _terminals(v4, _floor(v4, 0), [(f"C{n}", "camera", False, active, None) for n in range(10)]
               + [("FR9", "face_terminal", True, active, 20_000)])
    _finding(v4, "prohibited", "open", 11)

    # V5: Xuhui pool of Gamma Group, above the filing threshold.
    v5 = _venue(gamma, "Gamma Pool", VenueType.POOL_FITNESS, "Xuhui")
    _terminals(v5, _floor(v5, 0), [("FR5", "face_terminal", True, active, 120_000)])
    db.session.flush()
    return {v.name: v.id for v in (v1, v2, v3, v4, v5)}
