"""`flask seed-demo`: demo organisations, users, camera models and three venues, into an empty database."""

from __future__ import annotations

from datetime import date

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from accounts.cli import create_user, get_or_create_jurisdiction, get_or_create_organisation
from accounts.models import Role, User
from extensions import db
from inventory import demo_plans
from inventory.choices import StorageLocation, VenueType
from inventory.floorio import import_floor
from inventory.models import CameraModel, Floor, Terminal, Venue

# (email, name, role, scope) — the README lists these; the password is DEMO_PASSWORD.
DEMO_USERS = [
    ("admin@sightline.example", "Ada Admin", Role.ADMIN, {}),
    ("manager@huangpu-hotels.example", "Mei Manager", Role.MANAGER, {"organisation": "Huangpu Hospitality Group"}),
    ("manager@freshmart.example", "Fang Manager", Role.MANAGER, {"organisation": "FreshMart Supermarkets"}),
    ("manager@bluewave.example", "Bo Manager", Role.MANAGER, {"organisation": "Blue Wave Leisure"}),
    ("planner@sightline.example", "Pan Planner", Role.PLANNER,
     {"planned": ["Huangpu Hospitality Group", "FreshMart Supermarkets", "Blue Wave Leisure"]}),
    ("inspector@shanghai-cac.example", "Ivy Inspector", Role.INSPECTOR,
     {"jurisdiction": "Shanghai city inspection", "districts": ["Huangpu", "Jing'an", "Songjiang"]}),
    ("inspector@songjiang.example", "Song Inspector", Role.INSPECTOR,
     {"jurisdiction": "Songjiang district", "districts": ["Songjiang"]}),
]

CAMERA_MODELS = [
    ("Hikvision", "DS-2CD2143G2-I", 2688, 103.0, 103.0, 30.0, False),
    ("Hikvision", "DS-2CD2646G2-IZS", 2688, 29.0, 107.0, 40.0, False),
    ("Dahua", "IPC-HFW2431S-S-S2", 2688, 87.0, 87.0, 30.0, False),
    ("Dahua", "DHI-ASI7213X-T1", 1280, 60.0, 60.0, None, True),
    ("Axis", "P3268-LV", 3840, 35.0, 103.0, 30.0, False),
    ("Uniview", "IPC2124LB-SF28KM-G", 2688, 98.0, 98.0, 30.0, False),
]

VENUES = [
    ("Bund View Hotel", VenueType.HOTEL, "Huangpu", "88 Zhongshan East 1st Rd", "Huangpu Hospitality Group",
     3, demo_plans.hotel_floor),
    ("FreshMart Jing'an", VenueType.SUPERMARKET, "Jing'an", "1200 West Nanjing Rd", "FreshMart Supermarkets",
     0, demo_plans.supermarket_floor),
    ("Blue Wave Natatorium", VenueType.POOL_FITNESS, "Songjiang", "500 Zhongshan Middle Rd",
     "Blue Wave Leisure", 0, demo_plans.pool_floor),
]


def seed_demo(password: str) -> dict[str, int]:
    """Create the demo data; the caller commits."""
    for email, name, role, scope in DEMO_USERS:
        create_user(email, name, password, role, **scope)
    for manufacturer, model, hpx, hmin, hmax, ir, face in CAMERA_MODELS:
        db.session.add(CameraModel(manufacturer=manufacturer, model=model, hpx=hpx, hfov_min_deg=hmin,
                                   hfov_max_deg=hmax, ir_range_m=ir, face_recognition=face))
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN))
    assert admin is not None
    for name, venue_type, district, address, organisation, level, plan in VENUES:
        org = get_or_create_organisation(organisation)
        venue = Venue(organisation_id=org.id, name=name, type=venue_type, district=district, address=address)
        db.session.add(venue)
        db.session.flush()
        collection = plan()
        floor = Floor(venue=venue, level=level, name=collection["name"], structure=[])
        db.session.add(floor)
        db.session.flush()
        import_floor(admin, floor, collection)
        for number, terminal in enumerate(sorted(floor.terminals, key=lambda t: t.code)):
            _dress(terminal, number)
        _compliance_details(venue, floor)
    get_or_create_jurisdiction("Shanghai city inspection", [])
    db.session.flush()
    return {"users": len(DEMO_USERS), "venues": len(VENUES), "camera_models": len(CAMERA_MODELS)}


def _dress(terminal: Terminal, number: int) -> None:
    """Give a demo terminal the inventory details a real register would hold."""
    terminal.installed_on = date(2021 + number % 4, 1 + number % 12, 1 + (number * 7) % 28)
    terminal.signage_posted = number % 3 != 0
    if terminal.face_recognition:
        terminal.storage_location = StorageLocation.CLOUD if number % 2 else StorageLocation.VENDOR
        terminal.retention_days = None if number % 2 else 365
    else:
        terminal.storage_location = StorageLocation.LOCAL_SERVER
        terminal.retention_days = 30


# Per venue: filing status, and per terminal the compliance details a real register would hold (CN-06 to CN-20).
DEMO_COMPLIANCE: dict[str, dict[str, object]] = {
    "Bund View Hotel": {"filing": None, "terminals": {
        "C-301": {"signage_x": 9.0, "signage_y": 8.0}, "C-302": {"signage_x": 43.0, "signage_y": 8.0},
        "F-306": {"enrolled_count": 12_000, "alternative_verification": "id_document",
                  "consent_mechanism": "separate_opt_in", "signage_type": "face_notice"}}},
    # FreshMart's face terminals hold 83,000 people: over 80 % of the CN-19 threshold.
    "FreshMart Jing'an": {"filing": None, "terminals": {
        "F-01": {"enrolled_count": 45_000, "consent_mechanism": "implied"},
        "F-02": {"enrolled_count": 38_000, "consent_mechanism": "bundled", "alternative_verification": "card"}}},
    # Blue Wave has filed: a plan that retires all its face terminals opens a CN-20 deregistration task.
    "Blue Wave Natatorium": {"filing": date(2025, 9, 1), "terminals": {
        "F-1": {"enrolled_count": 6_500, "alternative_verification": "none", "consent_mechanism": "bundled",
                "capture_zone": "Reception and turnstiles"},
        "F-2": {"enrolled_count": 6_500, "alternative_verification": "card", "consent_mechanism": "separate_opt_in",
                "necessity_note": "members' entry at the turnstile; card entry at the same gate"},
        "F-L1": {"enrolled_count": 2_000, "consent_mechanism": "bundled"}}},
}


def _compliance_details(venue: Venue, floor: Floor) -> None:
    """Filing status of the venue and compliance details of its terminals (zone names become zone ids)."""
    from inventory.choices import FilingStatus

    spec = DEMO_COMPLIANCE.get(venue.name, {})
    filed = spec.get("filing")
    if isinstance(filed, date):
        venue.filing_status, venue.filing_date = FilingStatus.FILED, filed
    zones = {z.name: z.key for z in floor.zones}
    by_code = {t.code: t for t in floor.terminals}
    for code, values in dict(spec.get("terminals", {})).items():  # type: ignore[call-overload]
        terminal = by_code[code]
        for name, value in values.items():
            setattr(terminal, name, zones[value] if name == "capture_zone" else value)
        if "signage_x" in values:
            terminal.signage_posted, terminal.signage_type = True, terminal.signage_type or "warning_sign"


def database_is_empty() -> bool:
    """Whether no user exists yet."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@with_appcontext
def seed_demo_command(if_empty: bool) -> None:
    """Load demo organisations, users, camera models and venues."""
    if not database_is_empty():
        if if_empty:
            click.echo("database not empty: demo data not loaded")
            return
        raise click.ClickException("the database already has users; demo data goes into an empty database")
    counts = seed_demo(current_app.config["DEMO_PASSWORD"])
    db.session.commit()
    click.echo(f"demo data loaded: {counts}")
