"""Who may call each route: the one expected allow/deny table of the access-control matrix.

Each route's (endpoint, method) names a rule. `accounts.access.POLICY` says which roles an `Action` needs;
this table says which action (or which simpler rule) each route stands for. A route missing here, or an entry
naming no route, fails `test_access_matrix.py`, so a new route cannot escape the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.access import Action
from accounts.models import Role

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any signed-in user; the route names no object
VIEW = "view"  # anyone who can see the object (scope_filter); others 404
OWNER = "owner"  # only the user the object belongs to (API tokens); others 404
INSPECT = "inspect"  # inspectors whose districts hold the venue; others who see it 403
# Inspections in progress: inspectors and admins who see the venue read them (managers and planners read only
# signed-off ones, so an open one is 404 to them); only the inspector who started one changes it (others 403).
INSPECTION_READ = "inspection_read"
INSPECTION_EDIT = "inspection_edit"



@dataclass(frozen=True)
class Roles:
    """Pages for some roles whatever the object (the audit chain, the dashboard); others get `refused`."""

    roles: tuple[Role, ...]
    refused: str = "forbidden"  # or "hidden" (404) where the page's existence is not for other roles


Rule = Action | Roles | str

_E = Action.EDIT_INVENTORY
ALL = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _same(rule: Rule, *methods: str) -> dict[str, Rule]:
    return {method: rule for method in methods}


ROUTES: dict[str, dict[str, Rule]] = {
    "static": _same(PUBLIC, "GET"),
    "favicon": _same(PUBLIC, "GET"),
    "guide.index": _same(PUBLIC, "GET"),  # the user guide is for everyone, signed in or not
    "guide.page": _same(PUBLIC, "GET"),
    "guide.image": _same(PUBLIC, "GET"),
    "accounts.login": _same(PUBLIC, "GET", "POST"),
    "i18n.switch_language": _same(PUBLIC, "POST"),
    "observability.healthz": _same(PUBLIC, "GET"),
    "observability.readyz": _same(PUBLIC, "GET"),
    "observability.metrics": _same(PUBLIC, "GET"),  # the matrix calls from loopback; see test_observability
    "accounts.logout": _same(SIGNED_IN, "POST"),
    "accounts.tokens": _same(SIGNED_IN, "GET", "POST"),
    "accounts.revoke_token": _same(OWNER, "POST"),
    "audit_chain.chain_page": _same(Roles((Role.ADMIN, Role.INSPECTOR), refused="hidden"), "GET"),
    "dashboard.overview": _same(Roles((Role.INSPECTOR, Role.ADMIN)), "GET"),
    "dashboard.moves": _same(Roles((Role.INSPECTOR, Role.ADMIN)), "GET"),
    "dashboard.export_csv": _same(Roles((Role.INSPECTOR, Role.ADMIN)), "GET"),
    "accounts.change_password": _same(SIGNED_IN, "GET", "POST"),
    # administration: admins only, whatever the object
    **{f"admin.{name}": _same(Roles((Role.ADMIN,)), *methods) for name, methods in (
        ("home", ("GET",)), ("users", ("GET",)), ("user_create", ("GET", "POST")), ("user_edit", ("GET", "POST")),
        ("user_active", ("POST",)), ("user_password", ("POST",)), ("organisations", ("GET", "POST")),
        ("organisation_edit", ("GET", "POST")), ("jurisdictions", ("GET", "POST")),
        ("jurisdiction_edit", ("GET", "POST")), ("audit", ("GET",)))},
    # compliance
    "compliance.venue_compliance": _same(VIEW, "GET"),
    "compliance.recheck_status": _same(VIEW, "GET"),
    "compliance.accept_finding": _same(_E, "POST"),
    "api.venue_findings": _same(VIEW, "GET"),
    "api.floor_findings_geojson": _same(VIEW, "GET"),
    "api.finding_accept": _same(_E, "POST"),
    # inspections
    "inspection.index": _same(SIGNED_IN, "GET"),
    "inspection.create": _same(INSPECT, "POST"),
    "inspection.venue_list": _same(VIEW, "GET"),
    **{f"inspection.{name}": _same(INSPECTION_READ, "GET")
       for name in ("detail", "verification", "report_page", "report_pdf", "evidence")},
    **{f"inspection.{name}": _same(INSPECTION_EDIT, "POST")
       for name in ("answer", "upload", "undeclared", "remove_undeclared", "note", "verify", "sign_off")},
    # inventory pages
    "inventory.index": _same(SIGNED_IN, "GET"),
    "inventory.venue_create": _same(_E, "GET", "POST"),
    "inventory.venue_detail": _same(VIEW, "GET"),
    "inventory.venue_edit": _same(_E, "GET", "POST"),
    "inventory.venue_delete": _same(_E, "POST"),
    "audit.venue_audit": _same(VIEW, "GET"),
    "inventory.floor_create": _same(_E, "GET", "POST"),
    "inventory.floor_detail": _same(VIEW, "GET"),
    "inventory.floor_edit": _same(_E, "GET", "POST"),
    "inventory.floor_delete": _same(_E, "POST"),
    "inventory.terminal_create": _same(_E, "GET", "POST"),
    "inventory.terminal_edit": {"GET": VIEW, "POST": _E},  # read-only view for those who may not edit
    "inventory.terminal_row": {"GET": VIEW, "POST": _E},
    "inventory.terminal_delete": _same(_E, "POST"),
    "inventory.camera_models": _same(SIGNED_IN, "GET"),
    "inventory.camera_model_create": _same(_E, "GET", "POST"),
    "inventory.camera_model_edit": _same(_E, "GET", "POST"),
    "csv.export": _same(VIEW, "GET"),
    "csv.import_terminals": _same(_E, "GET", "POST"),
    "floors.background": _same(VIEW, "GET"),
    "floors.calibrate": _same(_E, "GET", "POST"),
    "floors.upload": _same(_E, "GET", "POST"),
    "floors.upload_status": _same(_E, "GET"),
    "floors.upload_preview": _same(_E, "POST"),
    "floors.upload_apply": _same(_E, "POST"),
    "floors.vector_lines": _same(_E, "GET", "POST"),
    # plans
    "plans.floor_plans": _same(VIEW, "GET"),
    "plans.plan_create": _same(Action.RUN_PLANS, "POST"),
    "plans.plan_compare": _same(VIEW, "GET"),
    "plans.plan_detail": _same(VIEW, "GET"),
    "plans.plan_progress": _same(VIEW, "GET"),
    "plans.plan_tradeoff": _same(Action.RUN_PLANS, "POST"),
    "plans.plan_cancel": _same(Action.RUN_PLANS, "POST"),
    "plans.plan_rerun": _same(Action.RUN_PLANS, "POST"),
    "plans.decision_review": _same(Action.RUN_PLANS, "POST"),
    "plans.plan_approve": _same(Action.APPROVE_PLANS, "POST"),
    "plans.work_done": _same(Action.CARRY_OUT_WORK, "POST"),
    "plans.export_csv": _same(VIEW, "GET"),
    "plans.export_geojson": _same(VIEW, "GET"),
    "plans.report": _same(VIEW, "GET"),
    "plans.report_pdf": _same(VIEW, "GET"),
    # JSON API
    "api.me": _same(SIGNED_IN, "GET"),
    "api.venue_list": _same(SIGNED_IN, "GET"),
    "api.venue_create": _same(_E, "POST"),
    "api.venue_get": _same(VIEW, "GET"),
    "api.venue_update": _same(_E, "PATCH", "PUT"),
    "api.venue_destroy": _same(_E, "DELETE"),
    "api.floor_list": _same(VIEW, "GET"),
    "api.floor_create": _same(_E, "POST"),
    "api.floor_get": _same(VIEW, "GET"),
    "api.floor_update": _same(_E, "PATCH", "PUT"),
    "api.floor_destroy": _same(_E, "DELETE"),
    "api.floor_editor_state": _same(VIEW, "GET"),
    "api.floor_geojson": _same(VIEW, "GET"),
    "api.floor_geojson_put": _same(_E, "PUT"),
    "api.floor_overlays": _same(VIEW, "GET"),
    "api.floor_zones_put": _same(Action.EDIT_ZONES, "PUT"),
    "api.terminal_list": _same(VIEW, "GET"),
    "api.terminal_create": _same(_E, "POST"),
    "api.terminal_get": _same(VIEW, "GET"),
    "api.terminal_update": _same(_E, "PATCH", "PUT"),
    "api.terminal_destroy": _same(_E, "DELETE"),
    "api.terminal_delete": _same(_E, "DELETE"),
    "api.terminal_pose": _same(_E, "PATCH"),
    "api.camera_model_list": _same(SIGNED_IN, "GET"),
    "api.camera_model_create": _same(_E, "POST"),
    "api.camera_model_get": _same(VIEW, "GET"),
    "api.camera_model_update": _same(_E, "PATCH", "PUT"),
    "api.camera_model_destroy": _same(_E, "DELETE"),
}
