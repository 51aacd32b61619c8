"""In Chromium, the strict Content-Security-Policy blocks nothing the pages need: no violation on any main page
(the floor editor's Leaflet map, htmx, the plan drawings), and the behaviour moved out of inline handlers works."""

from __future__ import annotations

import pytest

from tests.browser.site import DESKTOP, PAGES, SitePage, site  # noqa: F401
from tests.conftest import MANAGER_A

VIOLATIONS = """() => window.__cspViolations || []"""
LISTEN = """() => { window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
    e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber + ':' + e.columnNumber)); }"""


def _open(site, user, path):  # type: ignore[no-untyped-def]  # noqa: F811
    page = site.open(user, DESKTOP)
    page.add_init_script(f"({LISTEN})()")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return page, console


@pytest.mark.parametrize("target", PAGES, ids=[p.name for p in PAGES])
def test_no_page_breaks_the_policy(site, target: SitePage) -> None:  # noqa: F811
    page, console = _open(site, target.user, target.path(site.ids))
    violations = page.evaluate(VIOLATIONS)
    errors = list(page.errors)
    page.context.close()
    assert not violations, violations
    assert not [line for line in console if "Content Security Policy" in line], console
    assert not errors, errors


def test_venue_delete_still_asks_first(site) -> None:  # noqa: F811
    page, _ = _open(site, MANAGER_A, f"/venues/{site.ids['venue']}")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("form.danger-zone button")
    page.wait_for_timeout(300)
    assert asked and "Delete this venue" in asked[0]
    assert page.url.endswith(f"/venues/{site.ids['venue']}")  # dismissed: nothing deleted, still on the venue
    assert not page.evaluate(VIOLATIONS)
    page.context.close()
