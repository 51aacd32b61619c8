"""Administration: users, organisations and jurisdictions; admin only, CSRF-protected, every change audited."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from accounts.models import Jurisdiction, Organisation, Role, User
from audit.models import AuditEvent
from extensions import db
from inventory.models import Venue
from tests.conftest import ADMIN, DEMO_PASSWORD, INSPECTOR_CITY, MANAGER_A, PLANNER, AuthActions

ADMIN_PAGES = ["/admin/users", "/admin/users/new", "/admin/organisations", "/admin/jurisdictions", "/admin/audit"]


def _user(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def _org_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Organisation.id).where(Organisation.name == name))


def _events(app, object_type: str, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = sa.select(AuditEvent).where(AuditEvent.object_type == object_type)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(db.session.scalars(query.order_by(AuditEvent.id)))


@pytest.mark.parametrize("email", [MANAGER_A, PLANNER, INSPECTOR_CITY])
def test_only_admins_reach_administration(client, auth, email):
    auth.login(email)
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 403, url
    assert client.post("/admin/users/new", data={"email": "x@y.example", "name": "X", "role": "admin",
                                                  "password": "long-enough"}).status_code == 403
    assert client.post("/admin/organisations", data={"name": "Sneaky"}).status_code == 403
    assert _user(client.application, "x@y.example") is None
    assert "Administration" not in client.get("/").get_data(as_text=True)


def test_signed_out_visitors_go_to_sign_in(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_creates_a_manager_who_can_sign_in(client, auth, demo_app):
    auth.login(ADMIN)
    org = _org_id(demo_app, "FreshMart Supermarkets")
    response = client.post("/admin/users/new", data={"email": " New.Manager@FreshMart.example ", "name": "Nan New",
                                                     "role": "manager", "organisation_id": str(org),
                                                     "password": "fresh-password"})
    assert response.status_code == 302
    user = _user(demo_app, "new.manager@freshmart.example")
    assert user.role == Role.MANAGER and user.organisation_id == org and user.active
    created = _events(demo_app, "user", "create")[-1]
    assert created.object_id == user.id and created.after["organisation"] == "FreshMart Supermarkets"
    assert "password" not in str(created.after) and user.password_hash not in str(created.after)
    assert created.user_id == _user(demo_app, ADMIN).id
    auth.logout()
    assert auth.login("new.manager@freshmart.example", "fresh-password").status_code == 302


def test_invite_shows_a_temporary_password_once(client, auth, demo_app):
    auth.login(ADMIN)
    page = client.post("/admin/users/new", data={"email": "invited@sightline.example", "name": "Ina Invited",
                                                 "role": "admin"}).get_data(as_text=True)
    password = re.search(r'id="temporary-password">([^<]+)<', page).group(1)
    auth.logout()
    assert auth.login("invited@sightline.example", password).status_code == 302


@pytest.mark.parametrize("data, field", [
    ({"role": "manager"}, "organisation_id"),
    ({"role": "inspector"}, "jurisdiction_id"),
    ({"role": "manager", "organisation_id": "999999"}, "organisation_id"),
    ({"role": "overlord"}, "role"),
    ({"role": "admin", "email": "not-an-email"}, "email"),
    ({"role": "admin", "email": MANAGER_A}, "email"),
    ({"role": "admin", "password": "short"}, "password"),
    ({"role": "admin", "name": "  "}, "name"),
])
def test_bad_user_input_names_the_field_and_saves_nothing(client, auth, demo_app, data, field):
    auth.login(ADMIN)
    before = len(_events(demo_app, "user"))
    form = {"email": "someone@sightline.example", "name": "Some One", "password": "", **data}
    response = client.post("/admin/users/new", data=form)
    assert response.status_code == 422
    assert f'class="field invalid" for="u-{ {"organisation_id": "org", "jurisdiction_id": "jur"}.get(field, field) }"' \
        in response.get_data(as_text=True)
    if form["email"] != MANAGER_A:
        assert _user(demo_app, form["email"].strip().lower()) is None
    assert len(_events(demo_app, "user")) == before


def test_role_change_moves_scope_and_audits_only_changed_fields(client, auth, demo_app):
    auth.login(ADMIN)
    manager = _user(demo_app, MANAGER_A)
    with demo_app.app_context():
        jurisdiction = db.session.scalar(sa.select(Jurisdiction.id).where(Jurisdiction.name == "Songjiang district"))
    response = client.post(f"/admin/users/{manager.id}", data={"name": manager.name, "role": "inspector",
                                                               "jurisdiction_id": str(jurisdiction),
                                                               "organisation_id": str(manager.organisation_id)})
    assert response.status_code == 302
    changed = _user(demo_app, MANAGER_A)
    assert changed.role == Role.INSPECTOR and changed.organisation_id is None and changed.jurisdiction_id
    event = _events(demo_app, "user", "update")[-1]
    assert event.before == {"role": "manager", "organisation": "Huangpu Hospitality Group", "jurisdiction": None}
    assert event.after == {"role": "inspector", "organisation": None, "jurisdiction": "Songjiang district"}


def test_admin_cannot_lock_themselves_out(client, auth, demo_app):
    auth.login(ADMIN)
    me = _user(demo_app, ADMIN)
    assert client.post(f"/admin/users/{me.id}", data={"name": me.name, "role": "planner"}).status_code == 422
    client.post(f"/admin/users/{me.id}/active", data={"active": "0"})
    assert _user(demo_app, ADMIN).role == Role.ADMIN and _user(demo_app, ADMIN).active


def test_deactivation_ends_sessions_at_once_and_blocks_sign_in(demo_app, client, auth):
    victim_client = demo_app.test_client()
    AuthActions(victim_client).login(MANAGER_A)
    assert victim_client.get("/").status_code == 200
    auth.login(ADMIN)
    manager = _user(demo_app, MANAGER_A)
    assert client.post(f"/admin/users/{manager.id}/active", data={"active": "0"}).status_code == 302
    assert victim_client.get("/").status_code == 302  # the open session is over
    assert AuthActions(victim_client).login(MANAGER_A).status_code == 401
    assert [e.after for e in _events(demo_app, "user", "deactivate")] == [{"active": False}]
    assert "deactivated" in client.get("/admin/users").get_data(as_text=True)
    client.post(f"/admin/users/{manager.id}/active", data={"active": "1"})
    assert AuthActions(victim_client).login(MANAGER_A).status_code == 302


def test_password_reset_ends_sessions_and_replaces_the_password(demo_app, client, auth):
    victim_client = demo_app.test_client()
    AuthActions(victim_client).login(PLANNER)
    auth.login(ADMIN)
    planner = _user(demo_app, PLANNER)
    assert client.post(f"/admin/users/{planner.id}/password", data={"password": "tiny"}).status_code == 422
    assert client.post(f"/admin/users/{planner.id}/password", data={"password": "brand-new-pass"}).status_code == 302
    assert victim_client.get("/").status_code == 302
    assert AuthActions(victim_client).login(PLANNER).status_code == 401
    assert AuthActions(victim_client).login(PLANNER, "brand-new-pass").status_code == 302
    (event,) = _events(demo_app, "user", "password_reset")
    assert "brand-new-pass" not in str(event.after) and event.object_id == planner.id


def test_organisations_create_rename_and_refuse_duplicates(client, auth, demo_app):
    auth.login(ADMIN)
    assert client.post("/admin/organisations", data={"name": "Pudong Malls", "legal_entity": "Pudong Malls Ltd"}
                       ).status_code == 302
    org = _org_id(demo_app, "Pudong Malls")
    duplicate = client.post("/admin/organisations", data={"name": "FreshMart Supermarkets"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    assert client.post(f"/admin/organisations/{org}", data={"name": "Pudong Malls Group",
                                                            "legal_entity": "Pudong Malls Ltd"}).status_code == 302
    created, renamed = _events(demo_app, "organisation")
    assert created.action == "create" and created.after == {"name": "Pudong Malls", "legal_entity": "Pudong Malls Ltd"}
    assert renamed.before == {"name": "Pudong Malls"} and renamed.after == {"name": "Pudong Malls Group"}
    assert client.get("/admin/organisations/999999").status_code == 404


def _district_id(app, name: str) -> str:
    from accounts.districts import District

    with app.app_context():
        return str(db.session.scalar(sa.select(District.id).where(District.name == name)))


def test_jurisdiction_districts_decide_what_its_inspectors_see(client, auth, demo_app):
    auth.login(ADMIN)
    form = client.get("/admin/jurisdictions").get_data(as_text=True)
    assert form.count('name="districts"') == 16 and "黄浦区" not in form and "Chongming" in form
    unknown = client.post("/admin/jurisdictions", data={"name": "Nowhere", "districts": "999999"})
    assert unknown.status_code == 422 and 'class="field district-choice invalid"' in unknown.get_data(as_text=True)
    assert client.post("/admin/jurisdictions", data={"name": "Jing'an district",
                                                     "districts": _district_id(demo_app, "Jing'an")}
                       ).status_code == 302
    with demo_app.app_context():
        jurisdiction = db.session.scalar(sa.select(Jurisdiction).where(Jurisdiction.name == "Jing'an district"))
        assert jurisdiction.districts == ["Jing'an"]
    client.post("/admin/users/new", data={"email": "jingan@cac.example", "name": "Jin Inspector", "role": "inspector",
                                          "jurisdiction_id": str(jurisdiction.id), "password": "inspect-me"})
    auth.logout()
    auth.login("jingan@cac.example", "inspect-me")
    page = client.get("/").get_data(as_text=True)
    assert "FreshMart Jing&#39;an" in page and "Bund View Hotel" not in page
    (event,) = _events(demo_app, "jurisdiction")
    assert event.after == {"name": "Jing'an district", "districts": ["Jing'an"]}
    auth.logout()
    auth.login(ADMIN)
    assert client.post(f"/admin/jurisdictions/{jurisdiction.id}", data={
        "name": "Jing'an district", "districts": [_district_id(demo_app, "Jing'an"), _district_id(demo_app, "Huangpu")]
    }).status_code == 302
    changed = _events(demo_app, "jurisdiction")[-1]
    assert changed.before == {"districts": ["Jing'an"]} and changed.after == {"districts": ["Huangpu", "Jing'an"]}


def test_admin_forms_need_the_csrf_token(csrf_app):
    from tests.conftest import seed

    seed(csrf_app)
    client = csrf_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": ADMIN, "password": DEMO_PASSWORD, "csrf_token": token})
    assert client.post("/admin/organisations", data={"name": "No Token Ltd"}).status_code == 400
    assert _org_id(csrf_app, "No Token Ltd") is None


def test_users_change_their_own_password_and_other_sessions_end(demo_app, client, auth):
    other_device = demo_app.test_client()
    AuthActions(other_device).login(MANAGER_A)
    auth.login(MANAGER_A)
    wrong = client.post("/account/password", data={"current_password": "nope", "new_password": "another-pass",
                                                   "confirm_password": "another-pass"})
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(as_text=True)
    mismatch = client.post("/account/password", data={"current_password": DEMO_PASSWORD,
                                                      "new_password": "another-pass", "confirm_password": "other"})
    assert mismatch.status_code == 422
    short = client.post("/account/password", data={"current_password": DEMO_PASSWORD, "new_password": "short",
                                                   "confirm_password": "short"})
    assert short.status_code == 422
    ok = client.post("/account/password", data={"current_password": DEMO_PASSWORD, "new_password": "another-pass",
                                                "confirm_password": "another-pass"})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # this session stays
    assert other_device.get("/").status_code == 302  # the other one is over
    assert AuthActions(other_device).login(MANAGER_A).status_code == 401
    assert AuthActions(other_device).login(MANAGER_A, "another-pass").status_code == 302
    (event,) = _events(demo_app, "user", "password_change")
    assert event.user_id == event.object_id == _user(demo_app, MANAGER_A).id


def test_admin_new_venue_form_has_an_organisation_field(client, auth, demo_app):
    auth.login(ADMIN)
    form = client.get("/venues/new").get_data(as_text=True)
    assert 'name="organisation_id"' in form and "Blue Wave Leisure" in form
    venue = {"name": "Admin Arcade", "type": "hotel", "district": "Huangpu"}
    missing = client.post("/venues/new", data=venue)
    assert missing.status_code == 422 and 'class="field invalid" for="f-organisation_id"' in missing.get_data(as_text=True)
    assert client.post("/venues/new", data={**venue, "organisation_id": "999999"}).status_code == 422
    org = _org_id(demo_app, "Blue Wave Leisure")
    assert client.post("/venues/new", data={**venue, "organisation_id": str(org)}).status_code == 302
    with demo_app.app_context():
        assert db.session.scalar(sa.select(Venue.organisation_id).where(Venue.name == "Admin Arcade")) == org


def test_managers_do_not_pick_an_organisation(client, auth, demo_app):
    auth.login(MANAGER_A)
    assert 'name="organisation_id"' not in client.get("/venues/new").get_data(as_text=True)
    other = _org_id(demo_app, "Blue Wave Leisure")
    client.post("/venues/new", data={"name": "Mine", "type": "hotel", "district": "Huangpu",
                                     "organisation_id": str(other)})
    with demo_app.app_context():
        assert db.session.scalar(sa.select(Venue.organisation_id).where(Venue.name == "Mine")) \
            == _user(demo_app, MANAGER_A).organisation_id


def test_user_list_shows_when_each_user_last_signed_in(client, auth, demo_app):
    auth.login(PLANNER)
    auth.logout()
    auth.login(ADMIN)
    page = client.get("/admin/users").get_data(as_text=True)
    planner_row = page.split(f"{PLANNER}</a>")[1].split("</tr>")[0]
    manager_row = page.split(f"{MANAGER_A}</a>")[1].split("</tr>")[0]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", planner_row) and "never" in manager_row
