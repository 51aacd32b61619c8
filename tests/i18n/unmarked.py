"""Find user-facing text in Jinja templates that is not marked for translation.

A template's text nodes (outside tags and outside <code>, <script>, <style>, <pre>), its user-facing attributes
(title, placeholder, aria-label, alt, data-confirm, hx-confirm) and the multi-word string literals in its
expressions must go through _() / gettext / {% trans %}. Brand names, file formats and symbols are allowed as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment
from jinja2.lexer import TOKEN_DATA, TOKEN_NAME, TOKEN_STRING

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm", "hx-confirm", "label"}
SKIP_ELEMENTS = {"code", "script", "style", "pre"}
GETTEXT_CALLS = {"_", "gettext", "ngettext", "pgettext", "lazy_gettext"}
# Calls whose string arguments are code (keys, paths, patterns), not text.
CODE_CALLS = {"replace", "startswith", "endswith", "split", "rsplit", "get", "url_for", "format", "strftime", "join"}
# Words that read the same in every language of the site: the product, formats, units and standards.
ALLOWED = {
    "Sightline", "CSV", "PDF", "GeoJSON", "DXF", "IMDF", "WRLD", "PNG", "JPEG", "JSON", "API", "UTF-8", "GB18030",
    "HFOV", "UTC", "ID", "OpenStreetMap", "Excel", "k", "m", "s", "px", "MB", "v", "N", "x", "y", "mm", "cm", "in",
    "ft", "m²", "YYYY-MM-DD", "YYYY", "MM", "DD", "English", "简体中文", "SVG", "GB", "CAC", "PIPL", "axe",
}
# CSS class names that macros emit as bare text (e.g. {% macro invalid(name) %} invalid{% endmacro %}).
CLASS_WORDS = {"invalid"}
PLACEHOLDER = "\x00"  # where an expression or tag stood inside the text


@dataclass(frozen=True)
class Unmarked:
    """One piece of text a template shows without translating it."""

    template: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.template}:{self.line}: {self.text!r}"


def _is_text(words: str) -> bool:
    """Whether a stretch of text has a word a person reads (letters beyond the allowed names and symbols)."""
    for word in re.findall(r"[A-Za-z][A-Za-z'’\-]*", words):
        if word not in ALLOWED and word.strip("'’-") not in ALLOWED:
            return True
    return False


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.found: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_ELEMENTS:
            self.skip += 1
        for name, value in attrs:
            if name in ATTRIBUTES and value and _is_text(value.replace(PLACEHOLDER, " ")):
                self.found.append((self.getpos()[0], f"{name}={value}"))

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_ELEMENTS and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        text = data.replace(PLACEHOLDER, " ").strip()
        # An attribute written inside a tag by a Jinja condition (<tr{% if x %} class="muted"{% endif %}>) leaves
        # the parser markup fragments, not text.
        if text.startswith("<") or '="' in text or text in CLASS_WORDS:
            return
        if not self.skip and text and _is_text(text):
            self.found.append((self.getpos()[0], text))


def unmarked_in(source: str, name: str, env: Environment | None = None) -> list[Unmarked]:
    """The unmarked user-facing strings of one template's source."""
    env = env or Environment(extensions=["jinja2.ext.i18n"])
    markup: list[str] = []
    lines: list[int] = []
    problems: list[Unmarked] = []
    previous: list[tuple[str, str]] = []
    callees: list[str] = []  # the function called at each open parenthesis
    in_trans = False
    for token in env.lexer.tokenize(source, name):
        lineno, kind, value = token.lineno, token.type, token.value
        if kind == TOKEN_DATA:
            markup.append(PLACEHOLDER if in_trans else value)
            lines.append(lineno)
            continue
        if kind == TOKEN_NAME and previous and previous[-1][0] == "block_begin":
            in_trans = value in ("trans", "pluralize") or (in_trans and value not in ("endtrans",))
            if value == "endtrans":
                in_trans = False
        if kind == "lparen":
            callees.append(previous[-1][1] if previous and previous[-1][0] == TOKEN_NAME else "")
        elif kind == "rparen" and callees:
            callees.pop()
        elif kind in ("variable_end", "block_end"):
            callees.clear()
        if kind == TOKEN_STRING:
            called = bool(callees) and callees[-1] in GETTEXT_CALLS | CODE_CALLS
            value = str(value)
            if not called and not value.startswith("<code>") and re.search(r"[A-Za-z]{2,}[ ,.;:]+[A-Za-z]{2,}", value) and _is_text(value) \
                    and not re.fullmatch(r"[\w.\-/#:%]+", value):
                problems.append(Unmarked(name, lineno, value))
        if kind in ("variable_begin", "block_begin") and not in_trans:
            markup.append(PLACEHOLDER)
        previous.append((kind, value))
        previous = previous[-3:]
    parser = _TextCollector()
    parser.feed("".join(markup))
    parser.close()
    problems.extend(Unmarked(name, line, text) for line, text in parser.found)
    return problems


def unmarked_templates(root: Path = TEMPLATES) -> list[Unmarked]:
    """Every unmarked user-facing string under the templates folder."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    found: list[Unmarked] = []
    for path in sorted(root.rglob("*.html")):
        found.extend(unmarked_in(path.read_text(encoding="utf-8"), str(path.relative_to(root)), env))
    return found
