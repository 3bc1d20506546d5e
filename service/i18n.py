"""Language and time zone: zh-TW first, English on request (`?lang=en`, remembered in a cookie)."""

from flask import Flask, Response, has_request_context, request
from flask_babel import get_locale

LOCALES = {"zh": "zh_Hant_TW", "en": "en"}
COOKIE = "lang"


def select_locale() -> str:
    """The locale for this request: `?lang=`, then the cookie, then zh-TW (English outside requests)."""
    if not has_request_context():
        return LOCALES["en"]
    chosen = request.args.get("lang") or request.cookies.get(COOKIE) or "zh"
    return LOCALES.get(chosen, LOCALES["zh"])


def select_timezone() -> str:
    """Times are stored in UTC and shown in Taiwan time."""
    return "Asia/Taipei"


def html_lang() -> str:
    """The value for `<html lang>`."""
    return "en" if str(get_locale()) == "en" else "zh-Hant-TW"


def is_english() -> bool:
    """True when the page is shown in English."""
    return str(get_locale()) == "en"


def register(app: Flask) -> None:
    """Remember an explicit language choice and expose helpers to templates."""

    @app.after_request
    def remember_language(response: Response) -> Response:
        chosen = request.args.get("lang")
        if chosen in LOCALES:
            response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response

    app.jinja_env.globals.update(html_lang=html_lang, is_english=is_english)
