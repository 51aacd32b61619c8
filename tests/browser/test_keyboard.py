"""Keyboard only (Tab, Enter, Escape): sign in, every form's fields in reach, the terminal table's inline edit and the
plan review decisions; the focused control is always visibly marked."""

from __future__ import annotations

import pytest

from tests.browser.site import DESKTOP, PHONE, site, wait_until  # noqa: F401
from tests.browser.test_accessibility import axe_violations
from tests.conftest import ADMIN, DEMO_PASSWORD, MANAGER_A, PLANNER

FOCUSED = """() => { const el = document.activeElement; if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  return {tag: el.tagName.toLowerCase(), name: el.getAttribute('name'), id: el.id, text: (el.innerText || el.value || '').trim().slice(0, 40),
          label: el.getAttribute('aria-label'),
          // A date field's calendar button is focused inside the input's own shadow part (the input is then not
          // :focus); that part is outlined by the ::-webkit-calendar-picker-indicator rule in app.css.
          outlined: !el.matches(':focus') || (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2),
          inMain: !!el.closest('main'), row: (el.closest('tr') || {}).id || null}; }"""


def tab_until(page, predicate, limit: int = 200) -> dict:  # type: ignore[no-untyped-def]
    """Press Tab until the focused element matches; every element focused on the way must show a focus outline."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused:
            assert focused["outlined"], f"no visible focus on {focused}"
            if predicate(focused):
                return focused
    raise AssertionError("Tab never reached the control")


def test_sign_in_with_the_keyboard_only(site) -> None:  # noqa: F811
    page = site.open(None, DESKTOP)
    page.goto("/login")
    assert page.evaluate(FOCUSED)["name"] == "email"  # autofocus
    page.keyboard.type(MANAGER_A)
    tab_until(page, lambda f: f["name"] == "password")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.context.close()


def test_skip_link_and_phone_menu_by_keyboard(site) -> None:  # noqa: F811
    page = site.open(MANAGER_A, PHONE)
    page.goto("/")
    assert tab_until(page, lambda f: True)["text"] == "Skip to content"  # the first stop on every page
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto("/")
    tab_until(page, lambda f: f["text"] == "Menu")
    page.keyboard.press("Enter")
    tab_until(page, lambda f: f["text"] == "Camera models")
    page.keyboard.press("Enter")
    page.wait_for_url("**/camera-models")
    page.context.close()


FORMS = [  # (user, path given the demo ids, names of the fields every form must reach by Tab)
    (MANAGER_A, lambda ids: "/venues/new", None),
    (MANAGER_A, lambda ids: f"/terminals/{ids['terminal']}/edit", None),
    (MANAGER_A, lambda ids: f"/venues/{ids['venue']}/floors/new", None),
    (MANAGER_A, lambda ids: "/camera-models/new", None),
    (MANAGER_A, lambda ids: f"/floors/{ids['floor']}/terminals/import", None),
    (MANAGER_A, lambda ids: "/account/password", None),
    (MANAGER_A, lambda ids: "/tokens", None),
    (PLANNER, lambda ids: f"/floors/{ids['floor']}/plans", None),
    (ADMIN, lambda ids: "/admin/users/new", None),
    (ADMIN, lambda ids: f"/admin/users/{ids['user']}", None),
]
CONTROLS = """() => [...document.querySelectorAll('main input, main select, main textarea, main button')]
  .filter(el => el.type !== 'hidden' && !el.disabled && el.offsetParent !== null && el.tabIndex >= 0)
  .map(el => el.name || el.id || el.innerText.trim())"""


@pytest.mark.parametrize("user,path,_", FORMS, ids=[f[1]({"venue": 0, "floor": 0, "terminal": 0, "user": 0})
                                                     .strip("/").replace("/", "-").replace("-0", "") for f in FORMS])
def test_every_form_field_is_reached_by_tab(site, user, path, _) -> None:  # noqa: F811
    page = site.open(user, DESKTOP)
    page.goto(path(site.ids))
    wanted = set(page.evaluate(CONTROLS))
    assert wanted, "no form controls found"
    reached: set[str] = set()
    for _step in range(250):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if not focused:
            continue
        assert focused["outlined"], f"no visible focus on {focused}"
        if focused["inMain"]:
            reached.add(focused["name"] or focused["id"] or focused["text"])
        if wanted <= reached:
            break
    page.context.close()
    assert wanted <= reached, f"never reached by Tab: {sorted(wanted - reached)}"


def test_terminal_table_inline_edit_by_keyboard(site) -> None:  # noqa: F811
    page = site.open(MANAGER_A, DESKTOP)
    page.goto(f"/floors/{site.ids['floor']}")
    button = tab_until(page, lambda f: f["text"] == "Edit" and (f["row"] or "").startswith("terminal-"))
    row = button["row"]
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#{row}.editing")
    # Focus moves into the row; Tab walks its fields in column order.
    wait_until(page, "document.activeElement && document.activeElement.name === 'code'")
    assert tab_until(page, lambda f: True)["name"] == "kind"
    assert not axe_violations(page), "the inline edit row has accessibility violations"
    tab_until(page, lambda f: f["name"] == "heading_deg")
    page.keyboard.press("Control+A")
    page.keyboard.type("45")
    page.keyboard.press("Enter")  # submits the row's form
    page.wait_for_selector(f"#{row}:not(.editing)")
    assert "45°" in page.inner_text(f"#{row}")
    # Focus is back on the row's Edit button, so the next Enter edits the same row again.
    assert page.evaluate(FOCUSED)["text"] == "Edit" and page.evaluate(FOCUSED)["row"] == row
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#{row}.editing")
    tab_until(page, lambda f: f["text"] == "Cancel")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#{row}:not(.editing)")
    page.context.close()


def test_review_decisions_by_keyboard(site) -> None:  # noqa: F811
    page = site.open(PLANNER, DESKTOP)
    page.goto(f"/plans/{site.ids['plan']}")
    comment = tab_until(page, lambda f: f["name"] == "comment")
    row = comment["row"]
    page.keyboard.type("checked on site")
    assert tab_until(page, lambda f: True)["text"] == "Accept"
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#{row} .badge:has-text('Accepted')")
    assert "checked on site" in page.inner_text(f"#{row}")
    row_el = page.locator(f"#{row}")
    row_el.locator("input[name=comment]").focus()
    assert tab_until(page, lambda f: True)["text"] == "Accept"
    assert tab_until(page, lambda f: True)["text"] == "Reject"
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#{row} .badge:has-text('Rejected')")
    page.context.close()
