"""Languages: the locale of each request (user setting, then browser, then English) and the switch."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Blueprint, Flask, abort, has_request_context, redirect, request, session
from flask_babel import Babel, format_date, format_datetime, format_decimal, format_number, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException

import config
from extensions import db
from web import safe_next

# The site's languages: code -> name shown in the switch (in its own language).
LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}
DEFAULT_LOCALE = "en"
TRANSLATIONS = Path(__file__).with_name("translations")
# Babel spells zh_CN as zh_Hans_CN and looks its catalogue up under that name (then "zh"), so the directory is named so.
CATALOGUE_DIRS: dict[str, str] = {"en": "en", "zh_CN": "zh_Hans_CN"}

babel = Babel()


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark for extraction, translate later"
    """Mark a string for the catalogue without translating it here."""
    return message

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """Return the request's locale: the signed-in user's choice, the session's, then Accept-Language.

    API clients pick the language of each response with Accept-Language, before the user's saved choice.
    Outside a request (CLI, worker) it is the default locale.
    """
    if not has_request_context():
        return DEFAULT_LOCALE
    if request.path.startswith("/api/") and request.accept_languages:
        best = request.accept_languages.best_match(list(LANGUAGES))
        if best:
            return best
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LOCALE) or DEFAULT_LOCALE


def current_language() -> str:
    """Return the code in LANGUAGES of the request's locale (Babel itself spells zh_CN as zh_Hans_CN)."""
    locale = get_locale()
    if locale is None:
        return DEFAULT_LOCALE
    code = "_".join(part for part in (locale.language, locale.territory) if part)
    return code if code in LANGUAGES else locale.language if locale.language in LANGUAGES else DEFAULT_LOCALE


def html_lang() -> str:
    """Return the BCP 47 tag of the request's locale for <html lang>, e.g. zh-CN."""
    return current_language().replace("_", "-")


@bp.post("/language")
def switch_language():  # type: ignore[no-untyped-def]
    """Remember the chosen language (on the user when signed in, else in the session) and go back."""
    code = request.form.get("locale", "")
    if code not in LANGUAGES:
        abort(400, description=_("locale: must be one of %(choices)s", choices=", ".join(LANGUAGES)))
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return redirect(safe_next(request.form.get("next")))


def decimal(value: float | int | None, places: int = 1) -> str:
    """Format a number with a fixed count of decimals in the request's locale (e.g. 1,234.5)."""
    if value is None:
        return "—"
    pattern = "#,##0." + "0" * places if places else "#,##0"
    # Round as Python's "%.nf" does (on the binary value), so pages agree with the figures in exports.
    return format_decimal(float(f"{value:.{places}f}"), format=pattern)


def area(value: float | int | None, places: int = 1) -> str:
    """Format an area in square metres in the request's locale, e.g. 12.5 m²."""
    return _("%(area)s m²", area=decimal(value or 0, places))


def when(value: datetime | date | None, with_time: bool = True, *, seconds: bool = False,
         time_only: bool = False, zone: bool = False) -> str:
    """Format a stored (naive UTC) date-time as wall-clock time in the site's zone, in the request's locale.

    Tables get ISO-like digits; zone=True adds the zone's name in the locale's words (China Standard Time,
    中国标准时间) for reports and sentences that stand alone. A calendar date has no zone and is shown as it is.
    """
    if value is None:
        return "—"
    if not isinstance(value, datetime):
        return format_date(value, "yyyy-MM-dd")
    pattern = ("HH:mm" if time_only else "yyyy-MM-dd HH:mm" if with_time else "yyyy-MM-dd") + (":ss" if seconds else "")
    return format_datetime(value, pattern + (" zzzz" if zone else ""))


# Werkzeug's standard descriptions, which pages show when a route gives no message of its own.
_HTTP_MESSAGES: dict[int, str] = {
    400: N_("The request could not be understood: a value is missing or malformed."),
    401: N_("Please sign in to see this page."),
    403: N_("You don't have the permission to access this page."),
    404: N_("The page was not found. If you typed the address, please check it and try again."),
    405: N_("This action is not allowed here."),
    413: N_("The upload is too large."),
    422: N_("The request could not be processed."),
    429: N_("Too many requests: please wait a moment and try again."),
    500: N_("Something went wrong on the server. Please try again; if it keeps happening, tell your administrator."),
}


def http_message(error: HTTPException) -> str:
    """The error's own description, or Werkzeug's standard one for its code in the request's language."""
    standard = type(error).description
    if error.description and error.description != standard:
        return str(error.description)
    return _(_HTTP_MESSAGES[error.code]) if error.code in _HTTP_MESSAGES else str(error.description or error.name)


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile each messages.po under directory to messages.mo when the .mo is missing or older; return those written."""
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the locale selector and expose the language helpers to templates."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    # Times are stored in UTC; Flask-Babel shows them in this zone. An unknown zone stops start-up here.
    app.config["BABEL_DEFAULT_TIMEZONE"] = config.checked_timezone(app.config.get("SIGHTLINE_TIMEZONE", "UTC"))
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)

    @app.before_request
    def _settle_locale() -> None:
        # A write's commit expires the signed-in user: choosing the locale (cached for the request) before it saves
        # reloading the user to translate the answer.
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.endpoint != "static":
            get_locale()
    app.jinja_env.globals.update(html_lang=html_lang, languages=LANGUAGES,
                                current_language=current_language)
    app.jinja_env.filters.update(number=format_number, decimal=decimal, area=area, when=when)
    from compliance.citation import rule_sources, rule_statement

    app.jinja_env.globals.update(rule_sources=lambda rule: rule_sources(rule, current_language()),
                                 rule_statement=lambda rule: rule_statement(rule, current_language()))
