"""Translations for the page scripts: every t('...') / field('...') text of static/js, plus choice and room-use labels.

The scripts are the one home of their texts: they are read here (Babel's JavaScript extractor, as `make i18n-extract`
reads them for the catalogue) and sent to the page as JSON for static/js/i18n.js.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Flask
from flask_babel import gettext

from inventory.choices import LABELS, USE_LABELS, action_label, label_of, use_label

SCRIPTS = Path(__file__).resolve().parent.parent / "static" / "js"
KEYWORDS = ("t", "field")


@cache
def script_msgids() -> tuple[str, ...]:
    """The literal texts the scripts translate, in file order."""
    from babel.messages.extract import extract_javascript

    found: list[str] = []
    for path in sorted(SCRIPTS.glob("*.js")):
        with path.open("rb") as fh:
            for _line, _func, message, _comments in extract_javascript(fh, KEYWORDS, [], {}):
                text = message[0] if isinstance(message, tuple) else message
                if text and not text.endswith(":"):
                    found.append(text)
    return tuple(dict.fromkeys(found))


def ui_strings() -> dict[str, str]:
    """English text -> text in the request's language, for the scripts (choice:<value> and use:<use> for labels)."""
    strings = {text: gettext(text) for text in script_msgids()}
    strings.update({f"choice:{value}": label_of(value) for value in LABELS})
    strings.update({f"use:{use}": use_label(use) for use in USE_LABELS})
    return strings


def init_app(app: Flask) -> None:
    """Give templates the page-script texts and the translated labels of choices, room uses, actions and roles."""
    app.jinja_env.globals.update(ui_strings=ui_strings, choice_label=label_of, use_label=use_label,
                                 action_label=action_label,
                                 role_label=lambda role: label_of(getattr(role, "value", role)))
