"""The review workflow's rules: states and transitions, fine grounds, the refusals.

The states and transitions follow docs/architecture.md "Review states" (from the Act, Arts. 11–14,
and the Rule, Arts. 7–10).
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from service.i18n import roc_date
from service.labels import FINE_GROUND_SOURCES
from service.models import Office, utcnow

TAIPEI = ZoneInfo("Asia/Taipei")


#: A newly opened case is due this many days later unless the admin says otherwise.
DEFAULT_DUE_DAYS = 30


#: Open cases due within this many days are listed as "due soon".
DUE_SOON_DAYS = 7


MAX_NOTE = 2000


#: Names the shape of the hashed record, so a later change of shape is a new version.
RECORD_FORMAT = "sunshine-draw/review-record/1"


#: docs/architecture.md "Review states": from each state, the states a case may move to next.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "drawn": ("querying",),
    # data requested through the declaration check platform (Rule Art. 8)
    "querying": ("under_review",),
    "under_review": ("no_discrepancy", "discrepancy", "explanation_requested"),
    "no_discrepancy": ("closed",),
    "discrepancy": ("statement_invited",),
    # the declarant is invited to state their view (陳述意見) before any finding
    "statement_invited": ("correction_notice", "trust_notice", "referred"),
    # not intentional: notice to correct (Rule Art. 10)
    "correction_notice": ("closed",),
    # assets not placed in trust as the Act requires
    "trust_notice": ("closed",),
    # suspected intentional false declaration (Act Art. 12); ethics units refer to the Ministry
    "referred": ("fined", "not_fined"),
    "fined": ("closed",),
    "not_fined": ("closed",),
    # comparison stage only: wealth rose by more than a year's income (Act Art. 12 para. 2)
    "explanation_requested": ("explained", "referred"),
    "explained": ("closed",),
    "closed": (),
}


#: States only a comparison-stage case (前後年度比對) can reach.
COMPARISON_ONLY = frozenset({"explanation_requested"})


@dataclass(frozen=True)
class FineGround:
    """A ground for a fine under the Act, with the range of the fine in NT$ (inclusive)."""

    code: str
    label: Any
    #: The article, translated (service.labels.FINE_GROUND_SOURCES).
    source: Any
    minimum: int
    maximum: int


#: Act Art. 12 (公職人員財產申報法第十二條, as amended 2014-01-29): the administrative fines a
#: referral can end in. Para. 4 (still not declaring after a fine: a criminal penalty, set by a
#: court) and para. 5 (misuse of declaration data by anyone) are not outcomes of a review.
FINE_GROUNDS: dict[str, FineGround] = {
    ground.code: ground
    for ground in (
        # para. 1: 故意隱匿財產為不實之申報 — NT$200,000 to 4,000,000
        FineGround(
            "concealment",
            _l("Intentional concealment of assets (故意隱匿財產)"),
            FINE_GROUND_SOURCES["concealment"],
            200_000,
            4_000_000,
        ),
        # para. 2: increase beyond twice a year's salary income, not explained — NT$150,000 to 3,000,000
        FineGround(
            "unexplained-increase",
            _l("Increase in assets not explained (財產增加未為合理說明)"),
            FINE_GROUND_SOURCES["unexplained-increase"],
            150_000,
            3_000_000,
        ),
        # para. 3: 故意申報不實 — NT$60,000 to 1,200,000
        FineGround(
            "false-declaration",
            _l("Intentionally false declaration (故意申報不實)"),
            FINE_GROUND_SOURCES["false-declaration"],
            60_000,
            1_200_000,
        ),
        # para. 3, second sentence: when the falsely declared amount is below the minimum fine,
        # the fine may be reduced (得酌量減輕) — so below NT$60,000
        FineGround(
            "false-declaration-reduced",
            _l("Intentionally false declaration, fine reduced (故意申報不實，酌量減輕)"),
            FINE_GROUND_SOURCES["false-declaration-reduced"],
            1,
            59_999,
        ),
        # para. 3: 無正當理由未依規定期限申報 — NT$60,000 to 1,200,000
        FineGround(
            "late-declaration",
            _l("Not declared in time without good reason (未依規定期限申報)"),
            FINE_GROUND_SOURCES["late-declaration"],
            60_000,
            1_200_000,
        ),
    )
}


class ReviewError(ValueError):
    """This review step cannot be taken; the message says why."""


class InvalidTransition(ReviewError):
    """The case cannot move to that state from where it is; the message names the allowed next steps."""


class NotAssignee(ReviewError):
    """Only the reviewer the case is assigned to may act on it (HTTP 403)."""


class StaleState(ReviewError):
    """The case moved on since the page was shown (HTTP 409)."""


def taipei_today(now: datetime | None = None) -> date:
    """Today's date in Taiwan (due dates are Taiwan dates)."""
    return (now or utcnow()).astimezone(TAIPEI).date()


def allowed_next(state: str, stage: str) -> tuple[str, ...]:
    """The states a case of `stage` in `state` may move to next."""
    return tuple(s for s in TRANSITIONS.get(state, ()) if stage == "comparison" or s not in COMPARISON_ONLY)


def case_based_log_id(office: Office, roc_year: int) -> str:
    """The stable pseudo draw id that a case-based check's log events carry.

    `case-based.<office slug>.<ROC year>`: one per office and year, so the public log shows
    that case-based checks of that year were recorded, and nothing about whom. The dots keep
    it apart from the office's real draw ids, which by convention use dashes.
    """
    return f"case-based.{office.slug}.{roc_year}"


def clean_note(note: str, *, required: bool = True) -> str:
    text = (note or "").strip()
    if required and len(text) < 2:
        raise ReviewError(_l("Write a note: say what was done and why."))
    if len(text) > MAX_NOTE:
        raise ReviewError(_l("The note is longer than %(limit)s characters.", limit=MAX_NOTE))
    return text


def check_due(due_on: date | None, now: datetime) -> None:
    if due_on is not None and due_on < taipei_today(now):
        raise ReviewError(_l("The due date %(date)s is in the past.", date=roc_date(due_on)))
