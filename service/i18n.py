"""Language and time zone: zh-TW first, English on request (`?lang=en`, remembered in a cookie).

Times are stored and signed in UTC; people read them in Taiwan time. In Chinese, dates are
written the way offices write them, in the ROC calendar (民國 year = Gregorian year − 1911):
`114/03/15 14:30` in tables and lists, `民國114年3月15日` in sentences. English gets the
Gregorian `2025-03-15 14:30` and `15 March 2025`. Only signed documents keep UTC.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, Response, has_request_context, request
from flask_babel import get_locale, gettext, ngettext

LOCALES = {"zh": "zh_Hant_TW", "en": "en"}
COOKIE = "lang"
TAIPEI = ZoneInfo("Asia/Taipei")
#: The ROC calendar counts years from 1912 (民國元年).
ROC_OFFSET = 1911
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
    """True when the page is shown in English (outside a request: English, like the locale)."""
    return not has_request_context() or str(get_locale()) == "en"


def taipei_moment(value: datetime | str) -> datetime:
    """A stored UTC time (naive means UTC) or an RFC 3339 `...Z` string, in Taiwan time."""
    if isinstance(value, str):
        value = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TAIPEI)


def roc_date(value: date | datetime | str | None, style: str = "short") -> str:
    """A day as people here write it: `114/03/15` (short) or `民國114年3月15日` (long).

    A datetime (or RFC 3339 string) is taken in Taiwan time first. English: `2025-03-15`
    (short) or `15 March 2025` (long).
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str) and len(value) == 10:
        day = date.fromisoformat(value)  # a stored day, such as a filing's `2025-12-22`
    elif isinstance(value, (datetime, str)):
        day = taipei_moment(value).date()
    else:
        day = value
    if is_english():
        return day.isoformat() if style == "short" else f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    year = day.year - ROC_OFFSET
    if style == "short":
        return f"{year:03d}/{day.month:02d}/{day.day:02d}"
    return f"民國{year}年{day.month}月{day.day}日"


def taipei_time(value: datetime | str | None, style: str = "minutes", seconds: bool = False) -> str:
    """A moment in Taiwan time: `114/03/15 14:30` (minutes), with `:05` (`seconds`), the time of
    day alone (`time`: `14:30`), or the weekday and time (`weekday`: `星期六 14:30`); in a
    sentence (`long`): `民國114年3月15日 14:30`, with `seconds=True` `14:30:05`. English uses
    Gregorian dates (`2025-03-15 14:30`, `15 March 2025 14:30`)."""
    if value is None or value == "":
        return ""
    moment = taipei_moment(value)
    clock = moment.strftime("%H:%M:%S" if style == "seconds" or seconds else "%H:%M")
    if style == "time":
        return clock
    if style == "weekday":
        weekday = moment.weekday()
        return f"{_WEEKDAYS_EN[weekday]} {clock}" if is_english() else f"星期{_WEEKDAYS_ZH[weekday]} {clock}"
    return f"{roc_date(moment, 'long' if style == 'long' else 'short')} {clock}"


def wtforms_messages() -> list[str]:
    """WTForms' own messages that our forms can show, in this request's language.

    Forms read them from this application's catalogue (service/forms.py), in Taiwan usage
    (此欄位為必填。), not from WTForms' own zh_TW catalogue (此欄位是必需的。); listing them
    here is what puts them in the catalogue (`pybabel extract`).
    """
    return [
        gettext("This field is required."),
        gettext("Field must be between %(min)d and %(max)d characters long."),
        ngettext(
            "Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long.", 2
        ),
        ngettext(
            "Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters.", 2
        ),
        ngettext("Field must be exactly %(max)d character long.", "Field must be exactly %(max)d characters long.", 2),
        gettext("Number must be at least %(min)s."),
        gettext("Number must be at most %(max)s."),
        gettext("Number must be between %(min)s and %(max)s."),
        gettext("Invalid input."),
        gettext("Not a valid choice."),
        gettext("Invalid Choice: could not coerce."),
        gettext("Not a valid integer value."),
        gettext("Not a valid decimal value."),
        gettext("Not a valid date value."),
        gettext("Not a valid datetime value."),
    ]


def register(app: Flask) -> None:
    """Remember an explicit language choice and expose helpers and filters to templates."""
    from service.labels import event_label, fine_ground_source, plan_rule_lines, stage_label

    @app.after_request
    def remember_language(response: Response) -> Response:
        chosen = request.args.get("lang")
        if chosen in LOCALES:
            response.set_cookie(COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response

    app.jinja_env.globals.update(
        html_lang=html_lang,
        is_english=is_english,
        stage_label=stage_label,
        event_label=event_label,
        fine_ground_source=fine_ground_source,
        plan_rule_lines=plan_rule_lines,
    )
    app.jinja_env.filters.update(taipei=taipei_time, roc_date=roc_date)
