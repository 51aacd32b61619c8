"""What an inline terminal save (the load test's write) asks the database: no floor cost counted twice, and
no floor, venue or user reloaded after the commit (the response shows none of them; the request log takes
the user's id from the loaded identity) (docs/reliability.md "Load", session 7)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from extensions import db
from inventory.models import Terminal
from tests.recording import recorded_statements

TERMINAL_COUNT = re.compile(r"SELECT terminal\.floor_id, count\(\*\) AS count_1\s+FROM terminal\s", re.S)


def _save(app, client, floor_id: int, serial: str, turn: float = 0.0) -> tuple[list[str], list[str], str]:
    """Save a terminal's serial inline (turned by `turn` degrees); return the statements before and after the
    commit, and the response."""
    with app.app_context():
        terminal = db.session.scalars(sa.select(Terminal).where(Terminal.floor_id == floor_id,
                                                                Terminal.status == "active").limit(1)).one()
        form = {"code": terminal.code, "kind": terminal.kind.value, "status": terminal.status.value,
                "heading_deg": str((terminal.heading_deg + turn) % 360), "hfov_deg": str(terminal.hfov_deg), "serial": serial}
        engine, terminal_id = db.engine, terminal.id
    before: list[str] = []
    after: list[str] = []
    sink = [before]
    record = lambda *args, **_kw: sink[0].append(args[2])  # noqa: E731
    switch = lambda *_args, **_kw: sink.__setitem__(0, after)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", record)
    sa.event.listen(engine, "commit", switch)
    try:
        response = client.post(f"/terminals/{terminal_id}/row", data=form, headers={"HX-Request": "true"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        sa.event.remove(engine, "commit", switch)
    assert response.status_code == 200, response.get_data(as_text=True)
    return before, after, response.get_data(as_text=True)


def test_a_save_too_costly_for_its_transaction_counts_the_floor_once(demo_app, manager, hotel) -> None:
    demo_app.config["COMPLIANCE_INLINE_LIMIT"] = 1  # the demo floor is then too costly: its check is queued
    # Turned too: a serial number alone is read by no rule, and queues nothing (findings.service.EVALUATED).
    before, _after, page = _save(demo_app, manager, hotel, "SAVE-ONCE-1", turn=10.0)
    assert "saved." in page
    assert len([s for s in before if TERMINAL_COUNT.search(s)]) == 1, [s[:80] for s in before]
    assert any(s.startswith(("INSERT INTO compliance_checks", "UPDATE compliance_checks")) for s in before)
    with demo_app.app_context():
        assert db.session.scalar(sa.select(Terminal.serial).where(Terminal.serial == "SAVE-ONCE-1")) == "SAVE-ONCE-1"


def test_after_its_commit_a_save_reloads_no_floor_or_venue(demo_app, manager, hotel) -> None:
    _before, after, page = _save(demo_app, manager, hotel, "SAVE-RELOAD-1")
    assert "SAVE-RELOAD-1" in page and 'hx-swap-oob="innerHTML"' in page  # the row and the fresh counts
    reloads = [s for s in after if re.search(r'\bWHERE "?(floor|venue|user)"?\.id = ', s)]
    assert not reloads, reloads
    assert any(re.search(r"FROM terminal\s+WHERE terminal\.id = ", s) for s in after)  # the row shows the stored terminal


def _venue_loads(app, client, path: str) -> list[str]:
    with app.app_context():
        engine = db.engine
    with recorded_statements(engine) as seen:
        assert client.get(path, headers={"HX-Request": "true"}).status_code == 200
    return [s for s in seen if re.search(r"FROM venue\s+WHERE venue\.id = ", s)]


def test_a_floor_or_terminal_comes_with_its_venue(demo_app, manager, hotel) -> None:
    with demo_app.app_context():
        terminal_id = db.session.scalar(sa.select(Terminal.id).where(Terminal.floor_id == hotel).limit(1))
    for path in (f"/floors/{hotel}", f"/api/v1/floors/{hotel}/editor", f"/terminals/{terminal_id}/row?edit=1"):
        assert not _venue_loads(demo_app, manager, path), path
