"""In the browser: the compliance page links each offender to the floor map, which selects it, draws the
intruding area with its label and shows zone names; accepting a finding goes through the real form (CSRF on)."""

from __future__ import annotations

import re

from tests.browser.conftest import login


def test_finding_link_selects_the_camera_and_the_map_labels_the_intrusion(page):  # type: ignore[no-untyped-def]
    login(page)
    page.goto("/")
    page.click("#venue-list a:has-text('Bund View Hotel')")
    page.click("#venue-compliance")
    row = page.locator("#finding-list tr[data-rule='CN-03'][data-subject='C-305']")
    assert "Public toilet (women)" in row.inner_text()
    row.locator("a.offender").click()
    page.wait_for_url(re.compile(r"/floors/\d+\?select=C-305"))
    page.wait_for_selector("#floor-editor[data-ready='1'][data-selected='C-305']")
    page.wait_for_function("Number(document.querySelector('#floor-editor').dataset.findings) >= 1")
    labels = page.locator(".leaflet-tooltip.fe-finding-label").all_inner_texts()
    assert "CN-03 C-305 · 6.42 m²" in labels
    zone_labels = page.locator(".leaflet-tooltip.fe-zone-label").all_inner_texts()
    assert "Public toilet (women)" in zone_labels and "Corridor" in zone_labels
    # The selected terminal's panel is open for C-305.
    assert page.locator(".fe-panel form[data-form=terminal]").count() == 1
    assert page.errors == []  # type: ignore[attr-defined]


def test_accepting_a_finding_in_the_page(page):  # type: ignore[no-untyped-def]
    login(page)
    page.goto("/")
    page.click("#venue-list a:has-text('Bund View Hotel')")
    page.click("#venue-compliance")
    row = page.locator("#finding-list tr[data-rule='CN-05'][data-subject='F-306']")
    row.locator("textarea[name=justification]").fill("check-in kiosk; the ID desk is beside it")
    row.locator("button:has-text('Accept with justification')").click()
    page.wait_for_selector("#finding-list tr[data-rule='CN-05'][data-status='accepted']")
    assert "accepted by Mei Manager" in page.locator("#finding-list tr[data-rule='CN-05']").inner_text()
