"""Floor map labels (terminal IDs, zone and finding names) on a phone and a desktop: at every zoom the labels shown
lie inside the map and none overlaps another; colliding ones are hidden and come back when there is room."""

from __future__ import annotations

import itertools

import pytest

from tests.browser.site import DESKTOP, PHONE, site, wait_until  # noqa: F401
from tests.conftest import MANAGER_A

# Every label element on the map with its box and whether it is shown (rendered, not transparent).
LABELS = """() => {
  const map = document.querySelector('#floor-map');
  const shown = el => { for (let n = el; n && n !== map; n = n.parentElement) {
      const s = getComputedStyle(n); if (s.display === 'none' || s.visibility === 'hidden' || s.opacity === '0') return false; }
    const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const box = r => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  const els = [...map.querySelectorAll('.fe-cam .lbl, .leaflet-tooltip.fe-zone-label, .leaflet-tooltip.fe-finding-label')];
  return {map: box(map.getBoundingClientRect()), runs: +map.dataset.labelsRuns || 0,
          labels: els.map(el => ({text: el.textContent, shown: shown(el), box: box(el.getBoundingClientRect())}))};
}"""


def _check(layout: dict) -> list[dict]:
    """Assert the shown labels are inside the map and pairwise apart; return them."""
    outer = layout["map"]
    shown = [label for label in layout["labels"] if label["shown"]]
    for label in shown:
        b = label["box"]
        assert (b["left"] >= outer["left"] - 0.5 and b["top"] >= outer["top"] - 0.5 and b["right"] <= outer["right"] + 0.5
                and b["bottom"] <= outer["bottom"] + 0.5), (label, outer)
    for a, b in itertools.combinations(shown, 2):
        x, y = a["box"], b["box"]
        # Half a pixel of tolerance for sub-pixel rounding of touching boxes.
        apart = (x["right"] <= y["left"] + 0.5 or y["right"] <= x["left"] + 0.5
                 or x["bottom"] <= y["top"] + 0.5 or y["bottom"] <= x["top"] + 0.5)
        assert apart, (a, b)
    return shown


def _relaid(page, before: int) -> dict:  # type: ignore[no-untyped-def]
    """Wait for a layout run after `before` and for the page to settle, then read the labels."""
    wait_until(page, f"+document.querySelector('#floor-map').dataset.labelsRuns > {before}")
    page.wait_for_timeout(200)
    return page.evaluate(LABELS)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_map_labels_stay_inside_and_apart_at_every_zoom(site, viewport) -> None:  # noqa: F811
    page = site.open(MANAGER_A, viewport)
    page.goto(f"/floors/{site.ids['floor']}")
    page.wait_for_selector("#floor-editor[data-ready='1']")
    wait_until(page, "document.querySelector('#floor-editor').dataset.findings !== undefined")
    layout = _relaid(page, 0)
    terminals = [label for label in layout["labels"] if label["text"].startswith(("C-", "F-"))]
    assert len(terminals) >= 5 and any(not label["text"].startswith(("C-", "F-")) for label in layout["labels"])
    fitted = _check(layout)
    assert fitted, "no label shown at the fitted view"
    zoom = page.evaluate("window.sightlineFloorMap.getZoom()")
    hidden_at, shown_at = {}, {}
    for step in (-1.5, -0.5, 1, 2, 3):
        runs = layout["runs"]
        page.evaluate(f"window.sightlineFloorMap.setZoom({zoom + step})")
        layout = _relaid(page, runs)
        shown = _check(layout)
        hidden_at[step] = len(layout["labels"]) - len(shown)
        shown_at[step] = {label["text"] for label in shown}
    # Zoomed out, labels collide and some are hidden; zoomed in, some of those have room again.
    assert hidden_at[-1.5] > 0
    assert shown_at[1] - shown_at[-1.5] or shown_at[2] - shown_at[-1.5], shown_at
    # Panned so terminals sit at the map's edge: their labels flip inwards or hide, never cross the edge.
    runs = layout["runs"]
    page.evaluate("(z) => { const m = window.sightlineFloorMap; m.setZoom(z);"
                  " m.panBy([m.getSize().x / 3, m.getSize().y / 4], {animate: false}); }", zoom)
    _check(_relaid(page, runs))
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()
