"""The Content-Security-Policy forbids inline script, and no page needs any: every HTML page of the route map,
as an admin and as a manager on real objects (plans with drawings included), carries no inline <script>, no
on* handler attribute, no javascript: URL, no style attribute and no <style> other than the drawings' hashed one."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

from flask import Flask

from plans.svg import STYLE
from security import content_security_policy
from tests.conftest import ADMIN, MANAGER_A
from tests.security.access_table import ROUTES
from tests.security.matrix import PERSONAS, call, fresh_objects, routes

# <script type="application/json"> holds data the page's own scripts read; browsers never run it, so CSP allows it.
DATA_TYPES = ("application/json", "application/ld+json")


class InlineFinder(HTMLParser):
    """Collects every inline script, handler and style of one HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")
        data_block = tag == "script" and (names.get("type") or "").lower() in DATA_TYPES
        if tag == "script" and not names.get("src") and not data_block:
            self.found.append("<script> without src")
        if tag in ("script", "style") and not data_block:
            self._in, self._text = tag, []

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            text = "".join(self._text)
            if tag == "script" and text.strip():
                self.found.append(f"inline script {text[:60]!r}")
            if tag == "style" and text != STYLE:
                self.found.append(f"<style> not allowed by the CSP: {text[:60]!r}")
            self._in = None


def inline_code(html: str) -> list[str]:
    """Inline scripts, handlers and styles of a page that a strict CSP would block."""
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def test_the_policy_allows_no_inline_script(matrix_app: Flask) -> None:
    policy = dict(part.strip().split(" ", 1) for part in content_security_policy().split(";"))
    assert policy["script-src"] == "'self'"
    assert "unsafe" not in content_security_policy()
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'" and policy["form-action"] == "'self'"
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    assert policy["style-src"] == f"'self' 'sha256-{digest}'"


def test_the_finder_finds_what_the_policy_blocks() -> None:
    assert inline_code('<select onchange="this.form.submit()"></select>')
    assert inline_code("<script>alert(1)</script>")
    assert inline_code('<div style="width: 3%"></div>')
    assert inline_code('<a href="javascript:alert(1)">x</a>')
    assert inline_code("<svg><style>.x{}</style></svg>")
    assert not inline_code(f'<script src="/static/js/app.js"></script><svg><style>{STYLE}</style></svg>')
    assert not inline_code('<script type="application/json" id="ui-strings">{"a": "b"}</script>')
    assert inline_code('<script type="module">alert(1)</script>')


def test_no_page_has_inline_code_and_every_response_carries_the_policy(matrix_app: Flask) -> None:
    pages = 0
    problems: list[str] = []
    for email in (ADMIN, MANAGER_A):
        persona = next(p for p in PERSONAS if p.email == email)
        with matrix_app.app_context():
            objects = fresh_objects(matrix_app, "A", matrix_app.config["MATRIX_SHARED"]["A"])
        for endpoint, method, rule in routes(matrix_app):
            if method != "GET" or method not in ROUTES.get(endpoint, {}):
                continue  # routes missing from the table are reported by the access matrix
            _, response = call(matrix_app, endpoint, method, rule, None, persona, "A", objects)
            assert response.headers.get("Content-Security-Policy") == content_security_policy(), endpoint
            if response.mimetype != "text/html" or response.status_code >= 300:
                continue
            pages += 1
            problems += [f"{endpoint}: {found}" for found in inline_code(response.get_data(as_text=True))]
    assert pages >= 30
    assert not problems, "\n".join(problems)
