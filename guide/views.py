"""Help pages: docs/guide/*.md rendered to HTML in the reader's language, with their screenshots."""

from __future__ import annotations

import re
from pathlib import Path

import markdown
from flask import Blueprint, abort, redirect, render_template, send_from_directory, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from i18n import DEFAULT_LOCALE, current_language

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide"
# The guide's pages in reading order: file stem -> title. A page is <stem>.md (English) or <stem>.<locale>.md.
PAGES = {"README": _l("User guide"), "manager": _l("Facility manager"), "planner": _l("Planner"),
         "inspector": _l("Inspector"), "administrator": _l("Administrator")}
ROLE_PAGES = {"manager": "manager", "planner": "planner", "inspector": "inspector", "admin": "administrator"}
# Links between guide pages point at the .md files (so they work when browsing the repository); here they point
# at the help routes. Links out of the guide (../x.md) are left alone.
_PAGE_LINK = re.compile(r'href="(?P<stem>[A-Za-z]+)(?:\.[A-Za-z_]+)?\.md(?P<anchor>#[^"]*)?"')

bp = Blueprint("guide", __name__, url_prefix="/help")


def page_source(stem: str, locale: str) -> Path:
    """The Markdown file of a guide page in the locale, falling back to English."""
    localised = GUIDE / f"{stem}.{locale}.md"
    return localised if locale != DEFAULT_LOCALE and localised.exists() else GUIDE / f"{stem}.md"


def render_page(stem: str, locale: str) -> str:
    """A guide page as HTML, its links to other guide pages turned into help URLs."""
    html = markdown.markdown(page_source(stem, locale).read_text(encoding="utf-8"),
                             extensions=["tables", "toc", "attr_list"], output_format="html")
    return _PAGE_LINK.sub(lambda m: 'href="' + url_for("guide.page", stem=m["stem"]) + (m["anchor"] or "") + '"'
                          if m["stem"] in PAGES else m[0], html)


@bp.get("")
def index():  # type: ignore[no-untyped-def]
    """The signed-in user's role page, or the guide's contents for everyone else."""
    stem = ROLE_PAGES.get(current_user.role.value) if current_user.is_authenticated else None
    return redirect(url_for("guide.page", stem=stem or "README"))


@bp.get("/<stem>")
def page(stem: str):  # type: ignore[no-untyped-def]
    """One guide page in the reader's language."""
    if stem not in PAGES:
        abort(404)
    return render_template("guide/page.html", html=render_page(stem, current_language()), stem=stem, pages=PAGES)


@bp.get("/img/<locale>/<name>")
def image(locale: str, name: str):  # type: ignore[no-untyped-def]
    """A screenshot of the guide (send_from_directory refuses paths outside the folder)."""
    if not re.fullmatch(r"[a-z]{2}(_[A-Z]{2})?", locale):
        abort(404)
    return send_from_directory(GUIDE / "img" / locale, name, max_age=3600)
