"""Every main page at phone (390×844) and desktop (1280×800) width: no sideways scrolling, screenshots of each."""

from __future__ import annotations

import pytest

from tests.browser.site import DESKTOP, PAGES, PHONE, SCREENSHOTS, SitePage, site  # noqa: F401
from tests.conftest import MANAGER_A, PLANNER

OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > width + 1 && getComputedStyle(el).position !== 'fixed';
  }).filter(el => !el.closest('.scroll-x, .leaflet-container')).slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && el.className.baseVal === undefined ? '.' + String(el.className).split(' ').join('.') : '') + ' ' + Math.round(el.getBoundingClientRect().right));
  return {scroll: document.documentElement.scrollWidth, inner: width, wide};
}"""


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("target", PAGES, ids=[p.name for p in PAGES])
def test_page_fits_the_viewport(site, target: SitePage, viewport: dict[str, int]) -> None:  # noqa: F811
    page = site.open(target.user, viewport)
    page.goto(target.path(site.ids))
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{target.name}-{viewport['width']}.png"), full_page=True)
    size = page.evaluate(OVERFLOW)
    page.context.close()
    assert size["scroll"] <= size["inner"], f"{target.name} is {size['scroll']} px wide in {size['inner']} px: {size['wide']}"


def test_phone_menu_folds_and_opens(site) -> None:  # noqa: F811
    page = site.open(MANAGER_A, PHONE)
    page.goto("/")
    sign_out = page.get_by_role("button", name="Sign out")
    assert not sign_out.is_visible()
    toggle = page.get_by_role("button", name="Menu")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true" and sign_out.is_visible()
    # Sign out reads as light text on the dark bar: its contrast is at least WCAG AA's 4.5:1.
    assert page.evaluate(CONTRAST, ".topbar .sign-out") >= 4.5
    for link in ("Venues", "Camera models", "API tokens"):
        assert page.get_by_role("link", name=link).bounding_box()["height"] >= 40
    page.keyboard.press("Escape")
    assert not sign_out.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    page.context.close()


def test_desktop_top_bar_has_no_menu_button(site) -> None:  # noqa: F811
    page = site.open(MANAGER_A, DESKTOP)
    page.goto("/")
    assert not page.get_by_role("button", name="Menu").is_visible()
    assert page.get_by_role("button", name="Sign out").is_visible()
    page.context.close()


def test_phone_floor_map_fills_the_width_with_thumb_sized_controls(site) -> None:  # noqa: F811
    page = site.open(MANAGER_A, PHONE)
    page.goto(f"/floors/{site.ids['floor']}")
    page.wait_for_selector("#floor-map .leaflet-control-zoom-in")
    content = page.evaluate("document.querySelector('main').clientWidth")
    box = page.locator("#floor-map").bounding_box()
    assert box["width"] >= content - 40 and box["height"] >= 320
    for control in ("#floor-map .leaflet-control-zoom-in", "#floor-map .leaflet-control-zoom-out",
                    ".fe-toolbar [data-tool=select]", ".fe-toolbar [data-tool=camera]"):
        size = page.locator(control).bounding_box()
        assert size["width"] >= 44 and size["height"] >= 44, (control, size)
    page.context.close()


def test_phone_before_after_maps_stack_at_full_width(site) -> None:  # noqa: F811
    page = site.open(PLANNER, PHONE)
    page.goto(f"/plans/{site.ids['plan']}")
    content = page.evaluate("document.querySelector('main').clientWidth")
    before, after = (page.locator("#before-after figure svg").nth(i).bounding_box() for i in (0, 1))
    assert after["y"] >= before["y"] + before["height"]  # one above the other
    assert before["width"] >= content - 40 and after["width"] >= content - 40
    page.context.close()


# The contrast ratio (WCAG 2) of an element's text colour on the first opaque background behind it.
CONTRAST = """(selector) => {
  const el = document.querySelector(selector);
  const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  let node = el, bg = null;
  while (node && node.nodeType === 1) { const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length < 4 || c[3] > 0.9) { if (c.length >= 3 && !(c.length === 4 && c[3] === 0)) { bg = c; break; } } node = node.parentElement; }
  bg = bg || [255, 255, 255];
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


# The terminal table's layout: whether it scrolls inside its box, how its rows show, what each cell's label says.
TERMINAL_TABLE = """() => {
  const table = document.querySelector('#terminal-table');
  const rows = [...table.querySelectorAll('tbody tr')];
  const cells = [...rows[0].querySelectorAll('td[data-label]')];
  return {scrolls: table.scrollWidth > table.clientWidth + 1, right: table.getBoundingClientRect().right,
          inner: window.innerWidth, rowDisplay: getComputedStyle(rows[0]).display, rows: rows.length,
          stacked: rows.slice(1).every((r, i) => r.getBoundingClientRect().top >= rows[i].getBoundingClientRect().bottom),
          shown: cells.map(td => getComputedStyle(td, '::before').content), names: cells.map(td => td.dataset.label),
          overflowing: [...table.querySelectorAll('td')].filter(td => td.scrollWidth > td.clientWidth + 1).length};
}"""


def test_phone_terminal_table_is_cards_without_sideways_scrolling(site) -> None:  # noqa: F811
    page = site.open(MANAGER_A, PHONE)
    page.goto(f"/floors/{site.ids['floor']}")
    page.wait_for_selector("#terminal-table tbody tr")
    layout = page.evaluate(TERMINAL_TABLE)
    assert layout["rows"] >= 2 and layout["rowDisplay"] == "block" and layout["stacked"], layout
    assert not layout["scrolls"] and layout["right"] <= layout["inner"] and not layout["overflowing"], layout
    # Each cell of a card names its column (the CSS shows data-label before the value).
    assert layout["names"][:3] == ["ID", "Kind", "Status"]
    assert layout["shown"] == [f'"{name}"' for name in layout["names"]]
    # The inline edit works inside a card and its fields fit too.
    first = page.locator("#terminal-table tbody tr").first
    first.get_by_role("button", name="Edit").click()
    page.wait_for_selector("#terminal-table tbody tr.editing input[name=serial]")
    editing = page.evaluate(TERMINAL_TABLE)
    assert not editing["scrolls"] and editing["right"] <= editing["inner"] and not editing["overflowing"], editing
    page.context.close()


def test_desktop_terminal_table_stays_a_table(site) -> None:  # noqa: F811
    page = site.open(MANAGER_A, DESKTOP)
    page.goto(f"/floors/{site.ids['floor']}")
    page.wait_for_selector("#terminal-table tbody tr")
    layout = page.evaluate(TERMINAL_TABLE)
    assert layout["rowDisplay"] == "table-row" and not layout["scrolls"], layout
    page.context.close()
