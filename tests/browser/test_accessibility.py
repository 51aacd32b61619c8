"""axe-core (vendored, static/vendor/axe-core) on every main page: no serious or critical violations."""

from __future__ import annotations

import re

import pytest

from tests.browser.site import DESKTOP, PAGES, PHONE, SitePage, site, wait_until  # noqa: F401
from tests.conftest import MANAGER_A

AXE = "/static/vendor/axe-core/4.14.1/axe.min.js"
# WCAG 2.1 A and AA plus axe's best practices (landmarks, one main, unique names).
RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
                                          resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').split('\\n').slice(1, 2).join(''))}));
}"""


def axe_violations(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """The page's serious and critical axe-core violations (axe is loaded from the site, so CSP 'self' allows it)."""
    page.add_script_tag(url=AXE)
    return page.evaluate(RUN)


def _report(violations: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['id']} ({v['help']}): {'; '.join(v['nodes'])}" for v in violations)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("target", PAGES, ids=[p.name for p in PAGES])
def test_page_has_no_serious_accessibility_violations(site, target: SitePage, viewport: dict[str, int]) -> None:  # noqa: F811
    page = site.open(target.user, viewport)
    page.goto(target.path(site.ids))
    page.wait_for_load_state("networkidle")
    violations = axe_violations(page)
    page.context.close()
    assert not violations, f"{target.name}:\n{_report(violations)}"


def test_map_marks_intrusions_by_pattern_and_label_not_colour_alone(site) -> None:  # noqa: F811
    page = site.open(MANAGER_A, DESKTOP)
    page.goto(f"/floors/{site.ids['floor']}")
    page.wait_for_selector("#floor-editor[data-ready='1']")
    wait_until(page, "Number(document.querySelector('#floor-editor').dataset.intrusions) > 0", 30)
    fills = page.evaluate("""() => [...document.querySelectorAll('path.fe-ov-intrusion')].map(p => {
        const fill = getComputedStyle(p).fill, id = (fill.match(/#([\\w-]+)/) || [])[1];
        return {fill, pattern: !!(id && document.getElementById(id) && document.getElementById(id).tagName === 'pattern')}; })""")
    assert fills and all(f["pattern"] for f in fills), fills
    # The plan drawings hatch the same things, and each intrusion carries a title naming the camera and the zone.
    page.goto(f"/plans/{site.ids['plan']}")
    intrusion = page.locator("#before-after svg path.intrusion").first
    assert "url(" in intrusion.evaluate("p => getComputedStyle(p).fill")
    assert re.search(r"\b[A-Z]+-\d+\b", intrusion.locator("title").text_content() or "")  # the camera's ID
    page.context.close()
