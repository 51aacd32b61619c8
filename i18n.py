"""Languages: the locale of each request (user setting, then browser, then English) and the switch."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, redirect, request, session
from flask_babel import Babel, get_locale
from flask_login import current_user

from extensions import db
from web import safe_next

# The site's languages: code -> name shown in the switch (in its own language).
LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}
DEFAULT_LOCALE = "en"

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """Return the request's locale: the signed-in user's choice, the session's, then Accept-Language."""
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
        abort(400, description=f"locale: must be one of {', '.join(LANGUAGES)}")
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    return redirect(safe_next(request.form.get("next")))


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the locale selector and expose the language helpers to templates."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)
    app.jinja_env.globals.update(html_lang=html_lang, languages=LANGUAGES,
                                current_language=current_language)
