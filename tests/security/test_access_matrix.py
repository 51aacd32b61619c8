"""The access-control matrix: every route of `app.url_map`, called as seven users on objects of two organisations.

The users: anonymous; the manager of organisation A and of B; a planner for A; the inspector of A's district
and of B's; an admin. Each call gets its own fresh objects (a venue, a floor with a background and an upload,
a terminal, a camera model, an API token), so deleting one cannot hide the next call's result; plan routes
share one planned floor per organisation. The expected answer comes from `access_table.ROUTES` and
`accounts.access.POLICY` alone: not visible -> 404, visible but not allowed -> 403, anonymous -> 401 (API) or
the sign-in page, allowed -> anything else but a 5xx. Calls carry empty bodies, so "allowed" often means a
422 naming a field: the point is who gets past the access checks, and that those checks come first.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from flask import Flask

from accounts.access import POLICY
from accounts.models import Role
from tests.security.access_table import ROUTES
from tests.security.matrix import ORGANISATIONS, PERSONAS, call, expected, fresh_objects, routes


def test_every_route_has_an_entry_and_every_entry_a_route(matrix_app: Flask) -> None:
    present = {(endpoint, method) for endpoint, method, _ in routes(matrix_app)}
    listed = {(endpoint, method) for endpoint, methods in ROUTES.items() for method in methods}
    missing = sorted(present - listed)
    assert not missing, f"routes with no entry in tests/security/access_table.py: {missing}"
    assert not listed - present, f"entries naming no route: {sorted(listed - present)}"


def test_access_matrix(matrix_app: Flask) -> None:
    mismatches: list[str] = []
    calls = 0
    reads: dict[str, dict[str, Any]] = {}
    # SIGHTLINE_MATRIX_ONLY=inspection.,admin. runs only those endpoints (while working on them).
    only = tuple(filter(None, os.environ.get("SIGHTLINE_MATRIX_ONLY", "").split(",")))
    # Reads first, on one set of objects per organisation; every write gets objects of its own.
    for endpoint, method, url_rule in sorted(routes(matrix_app), key=lambda r: (r[1] != "GET", r[0], r[1])):
        rule = ROUTES.get(endpoint, {}).get(method)
        if rule is None or (only and not endpoint.startswith(only)):
            continue  # reported by test_every_route_has_an_entry_and_every_entry_a_route
        names_object = bool(set(url_rule.arguments) - {"filename", "stem", "locale", "name"})
        for persona in PERSONAS:
            for key in (ORGANISATIONS if names_object else (None,)):
                org = key or "A"
                if method != "GET" or org not in reads:
                    with matrix_app.app_context():
                        objects = fresh_objects(matrix_app, org, matrix_app.config["MATRIX_SHARED"][org])
                    if method == "GET":
                        reads[org] = objects
                objects = reads[org] if method == "GET" else objects
                got, response = call(matrix_app, endpoint, method, url_rule, rule, persona, key, objects)
                want = expected(rule, persona, key, objects["owner"])
                calls += 1
                if got != want:
                    detail = response.get_data(as_text=True)[:120] if response.is_json else ""
                    mismatches.append(f"{method} {endpoint} as {persona.name} on {key or '-'}: want {want}, got "
                                      f"{got} ({response.status_code} {detail.strip()})")
    assert calls > 500 or only
    assert not mismatches, f"{len(mismatches)} of {calls} calls differ from the table:\n" + "\n".join(mismatches)


def test_the_documented_policy_is_the_code_policy() -> None:
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    documented = {match[0]: {Role(role.strip()) for role in match[1].split(",")}
                  for match in re.findall(r"^\| `(\w+)` \|[^|]*\| ([a-z, ]+) \|$", text, flags=re.MULTILINE)}
    assert documented == {action.value: set(roles) for action, roles in POLICY.items()}
