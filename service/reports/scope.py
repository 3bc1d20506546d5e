"""What a report covers: a year or a council session's period (ROC dates, 民國114年3月15日)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from service.declaration_files import CellValueError, parse_declaration_date
from service.i18n import is_english
from service.models import REVIEW_STATES

TAIPEI = ZoneInfo("Asia/Taipei")


ROC_OFFSET = 1911


#: Outcome states in report order (every state but `closed`: a closed case counts under the
#: outcome it was closed from).
OUTCOME_STATES = tuple(s for s in REVIEW_STATES if s != "closed")


#: A case whose history reached one of these has its outcome (closed yet or not) …
DECIDED_STATES = ("no_discrepancy", "correction_notice", "trust_notice", "fined", "not_fined", "explained")


#: … and one standing in any of these is still being reviewed.
OPEN_STATES = (
    "drawn", "querying", "under_review", "discrepancy", "statement_invited", "explanation_requested", "referred",
)  # fmt: skip


#: States a case may have passed through that the report names apart (outside the sum).
PASSED_STATES = ("discrepancy", "referred")


#: A council period longer than this is refused (a session is months, a term four years).
MAX_PERIOD_DAYS = 5 * 366


class ReportError(ValueError):
    """The report cannot be made as asked (a bad period); the message says why."""


def roc_date(day: date, *, era: bool = True) -> str:
    """`民國108年11月8日` (`108年11月8日` without `era`); `2019-11-08` in English."""
    if is_english():
        return day.isoformat()
    text = f"{day.year - ROC_OFFSET}年{day.month}月{day.day}日"
    return f"民國{text}" if era else text


def roc_short(day: date) -> str:
    """`108/11/08`: the ROC date as offices type it (what the period form shows back)."""
    return f"{day.year - ROC_OFFSET}/{day.month:02d}/{day.day:02d}"


@dataclass(frozen=True)
class Period:
    """A council session's period: Taiwan dates, both days included."""

    start: date
    end: date

    def bounds(self) -> tuple[datetime, datetime]:
        """The period in UTC: from the first day's midnight in Taipei to the midnight after the last."""
        first = datetime.combine(self.start, time(), TAIPEI).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(), TAIPEI).astimezone(UTC)
        return first, after


def _period_day(text: str | None, which: Any) -> date:
    if not (text or "").strip():
        raise ReportError(gettext("Enter the %(which)s date of the period.", which=which))
    try:
        return parse_declaration_date(text)
    except CellValueError as error:
        message = error.message_en if is_english() else error.message_zh
        raise ReportError(gettext("The %(which)s date: %(problem)s", which=which, problem=message)) from error


def parse_period(start: str | None, end: str | None) -> Period:
    """The period from the form's two dates (ROC `108/11/08`, `1081108`, `民國108年11月8日` or ISO).

    Raises `ReportError` naming the problem: a missing or unreadable date, an end before the
    start, or a period longer than five years.
    """
    first = _period_day(start, _l("start"))
    last = _period_day(end, _l("end"))
    if last < first:
        raise ReportError(
            gettext(
                "The period ends (%(end)s) before it starts (%(start)s).",
                end=roc_date(last),
                start=roc_date(first),
            )
        )
    if (last - first).days > MAX_PERIOD_DAYS:
        raise ReportError(gettext("A period is at most five years long."))
    return Period(first, last)
