"""The load test's database: the demo data plus a generated 500-terminal mall floor in the hotel group's venues."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from planner.research.floorgen import generate_mall_floor

FLOOR_TERMINALS = 500
MALL_VENUE = "Load Mall"
MANAGER = "manager@huangpu-hotels.example"
INSPECTOR = "inspector@shanghai-cac.example"


def mall_collection(terminals: int = FLOOR_TERMINALS) -> dict[str, Any]:
    """A generated mall floor (planner.research.floorgen) with exactly `terminals` terminals, unique serials."""
    collection = generate_mall_floor(1, 800, camera_spacing=2.5, name="Load mall level 1")
    kept, count = [], 0
    for feature in collection["features"]:
        if feature["properties"]["kind"] == "terminal":
            count += 1
            if count > terminals:
                continue
            feature["properties"]["serial"] = f"LD-{count:04d}"
        kept.append(feature)
    if count < terminals:
        raise ValueError(f"the generated floor has {count} terminals, fewer than {terminals}")
    return {**collection, "features": kept}


def seed(password: str) -> dict[str, Any]:
    """Seed the demo data and the mall floor into the app's (empty, migrated) database; return the targets."""
    from accounts.cli import get_or_create_organisation
    from accounts.models import Role, User
    from compliance.models import ComplianceCheck
    from extensions import db
    from findings.service import evaluate_venue
    from inventory.choices import VenueType
    from inventory.demo import seed_demo
    from inventory.floorio import import_floor
    from inventory.models import Floor, Terminal, Venue

    seed_demo(password)
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
    org = get_or_create_organisation("Huangpu Hospitality Group")
    venue = Venue(organisation_id=org.id, name=MALL_VENUE, type=VenueType.MALL, district="Huangpu",
                  address="1 Load Test Rd")
    db.session.add(venue)
    db.session.flush()
    floor = Floor(venue=venue, level=1, name="Load mall level 1", structure=[])
    db.session.add(floor)
    db.session.flush()
    import_floor(admin, floor, mall_collection())
    db.session.commit()
    # Its findings now, as the queue worker would soon after the import (bench.load.cpu runs no worker): the floor
    # page lists them, and the served load's pages had them while the in-process figures had none. The check the
    # import queued is then done (left queued, every later edit of the venue would take it over).
    evaluate_venue(venue)
    db.session.commit()
    db.session.execute(sa.delete(ComplianceCheck).where(ComplianceCheck.venue_id == venue.id))  # done by the above
    db.session.commit()
    hotel = db.session.scalar(sa.select(Venue).where(Venue.organisation_id == org.id, Venue.name != MALL_VENUE))
    assert hotel is not None and admin is not None
    terminal_ids = list(db.session.scalars(sa.select(Terminal.id).where(Terminal.floor_id == floor.id)))
    return {"password": password, "manager": MANAGER, "inspector": INSPECTOR,
            "mall_venue": venue.id, "mall_floor": floor.id, "mall_terminals": terminal_ids,
            "hotel_venue": hotel.id, "hotel_floor": hotel.floors[0].id}
