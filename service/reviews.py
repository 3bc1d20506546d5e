"""Substantive review of drawn declarations: states, transitions, history and the audit trail.

The states and transitions follow docs/architecture.md "Review states" (from the Act, Arts. 11–14, and the
Rule, Arts. 7–10). Every change is a new `ReviewEvent`; nothing is edited or deleted (the
database refuses it, `service.triggers` V2). A correction is a new event that restates an
earlier one and names it. Each event's full internal record — with a random salt — is hashed,
and the digest goes into the transparency log as `review.recorded` (protocol §10) in the same
transaction, so an outcome can never be rewritten unnoticed while nothing personal is public.
The columns `review_case` keeps of where a case stands are only ever set by replaying its stored
events (`replay`); the database refuses any other change to them (`service.triggers` V3).

Who may do what: the reviewer a case is assigned to takes its steps; an admin opens cases and
assigns them; operators may look. The views check roles; these functions check the assignee.
"""

import json
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lottery.canonical import canonical_json, digest
from lottery.timestamps import format_timestamp
from service import clock
from service.config import Settings
from service.i18n import roc_date
from service.keystore import current_signer
from service.labels import FINE_GROUND_SOURCES, STAGE_LABELS, state_label
from service.models import Declarant, Draw, LogEntry, Office, ReviewCase, ReviewEvent, User, utcnow
from service.transparency import inclusion, latest_checkpoint, record

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


# ---------------------------------------------------------------------------------------------
# The hashed record
# ---------------------------------------------------------------------------------------------


def review_record(
    case: ReviewCase,
    *,
    sequence: int,
    kind: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    recorded_at: datetime,
    note: str,
    due_on: date | None,
    assignee: str | None,
    fine_amount: int | None,
    fine_ground: str | None,
    corrects: int | None,
    salt: str,
) -> dict[str, Any]:
    """The full internal record of one event: what `record_digest` is the SHA-256 of (as JCS)."""
    return {
        "format": RECORD_FORMAT,
        "draw_id": case.log_draw_id,
        "case_id": case.id,
        "case_number": case.case_number,
        "year": case.roc_year,
        "stage": case.stage,
        "origin": case.origin,
        "sequence": sequence,
        "kind": kind,
        "from_state": from_state,
        "to_state": to_state,
        "actor": actor,
        "time": format_timestamp(recorded_at),
        "note": note,
        "due_on": due_on.isoformat() if due_on else None,
        "assignee": assignee,
        "fine": {"amount": fine_amount, "ground": fine_ground} if fine_amount is not None else None,
        "corrects": corrects,
        "salt": salt,
    }


def record_of(event: ReviewEvent) -> dict[str, Any]:
    """Rebuild the hashed record of a stored event (an auditor recomputes its digest from this)."""
    return review_record(
        event.case,
        sequence=event.sequence,
        kind=event.kind,
        from_state=event.from_state,
        to_state=event.to_state,
        actor=event.actor.username,
        recorded_at=event.recorded_at,
        note=event.note,
        due_on=event.due_on,
        assignee=event.assignee.username if event.assignee else None,
        fine_amount=event.fine_amount,
        fine_ground=event.fine_ground,
        corrects=event.corrects.sequence if event.corrects else None,
        salt=event.salt,
    )


def log_event_of(event: ReviewEvent) -> dict[str, Any]:
    """The `review.recorded` log event for a stored event (protocol §10)."""
    return {
        "type": "review.recorded",
        "time": format_timestamp(event.recorded_at),
        "draw_id": event.case.log_draw_id,
        "record_digest": event.record_digest,
    }


@dataclass
class _Pending:
    """An event built but not yet stored (it needs its log index first)."""

    case: ReviewCase
    values: dict[str, Any]


def _pending(
    case: ReviewCase,
    *,
    sequence: int,
    kind: str,
    from_state: str | None,
    to_state: str,
    actor: User,
    now: datetime,
    note: str,
    due_on: date | None = None,
    assignee: User | None = None,
    fine_amount: int | None = None,
    fine_ground: str | None = None,
    corrects: ReviewEvent | None = None,
) -> _Pending:
    salt = secrets.token_hex(32)
    values: dict[str, Any] = {
        "sequence": sequence,
        "kind": kind,
        "from_state": from_state,
        "to_state": to_state,
        "actor": actor,
        "recorded_at": now,
        "note": note,
        "due_on": due_on,
        "assignee": assignee,
        "fine_amount": fine_amount,
        "fine_ground": fine_ground,
        "corrects": corrects,
        "salt": salt,
    }
    values["record_digest"] = digest(
        review_record(
            case,
            sequence=sequence,
            kind=kind,
            from_state=from_state,
            to_state=to_state,
            actor=actor.username,
            recorded_at=now,
            note=note,
            due_on=due_on,
            assignee=assignee.username if assignee else None,
            fine_amount=fine_amount,
            fine_ground=fine_ground,
            corrects=corrects.sequence if corrects else None,
            salt=salt,
        )
    )
    return _Pending(case, values)


def _store(session: Session, settings: Settings, pending: list[_Pending]) -> list[ReviewEvent]:
    """Log every pending event as `review.recorded`, sign a checkpoint, then store the events.

    All in the caller's transaction: the history and its log entries commit together.
    """
    if not pending:
        return []
    signer = current_signer(session, settings)
    entries = [
        {
            "type": "review.recorded",
            "time": format_timestamp(item.values["recorded_at"]),
            "draw_id": item.case.log_draw_id,
            "record_digest": item.values["record_digest"],
        }
        for item in pending
    ]
    indices = record(session, [signer], entries)
    events = []
    for item, index in zip(pending, indices, strict=True):
        event = ReviewEvent(case=item.case, log_index=index, **item.values)
        session.add(event)
        events.append(event)
    session.flush()
    return events


# ---------------------------------------------------------------------------------------------
# Opening cases
# ---------------------------------------------------------------------------------------------


def _clean_note(note: str, *, required: bool = True) -> str:
    text = (note or "").strip()
    if required and len(text) < 2:
        raise ReviewError(_l("Write a note: say what was done and why."))
    if len(text) > MAX_NOTE:
        raise ReviewError(_l("The note is longer than %(limit)s characters.", limit=MAX_NOTE))
    return text


def _check_due(due_on: date | None, now: datetime) -> None:
    if due_on is not None and due_on < taipei_today(now):
        raise ReviewError(_l("The due date %(date)s is in the past.", date=roc_date(due_on)))


def selections_of(draw: Draw) -> dict[str, str]:
    """The case numbers a completed draw selected → `review` or `comparison` (protocol §8 stages)."""
    if draw.result is None:
        return {}
    return selections_in(json.loads(draw.result))


def selections_in(result: Mapping[str, Any]) -> dict[str, str]:
    """The case numbers a result document selected → `review` or `comparison`.

    Every stage's selections become cases: the comparison stage (前後年度比對) marks its own, any
    other stage is a review; a declarant both stages selected gets one case, marked `comparison`.
    """
    selected: dict[str, str] = {}
    for stage in result["stages"]:
        for item in stage["selected"]:
            if stage["name"] == "comparison":
                selected[item["id"]] = "comparison"
            else:
                selected.setdefault(item["id"], "review")
    return selected


def open_cases_for_draw(
    session: Session,
    settings: Settings,
    draw: Draw,
    actor: User,
    *,
    due_on: date | None = None,
    now: datetime | None = None,
) -> list[ReviewCase]:
    """Open a review case for every entry a completed draw selected (those not opened yet).

    A declarant the comparison stage selected too gets one case, marked `comparison`. Since
    cases open themselves when a draw completes (`open_on_completion`), this is the admin's way
    for draws completed before that, and opens nothing for a draw whose cases are open.
    """
    now = now or clock.now()
    if draw.status != "completed":
        raise ReviewError(_l("Review cases are opened from a completed draw."))
    if actor.office_id != draw.office_id:
        raise ReviewError(_l("This draw belongs to another office."))
    due_on = due_on or taipei_today(now) + timedelta(days=DEFAULT_DUE_DAYS)
    _check_due(due_on, now)
    cases, pending = _new_cases(session, draw, selections_of(draw), actor, due_on, now)
    _store(session, settings, pending)
    _project(session, cases, now)
    return cases


#: The note of the assignment a completed draw makes on its own (a person's notes are their own words).
AUTO_ASSIGNMENT_NOTE = "抽籤完成時依案號順序輪流分派"


def open_on_completion(
    session: Session, settings: Settings, draw: Draw, result: Mapping[str, Any], actor: User, now: datetime
) -> list[ReviewCase]:
    """Open a case for every entry the result selected, as the draw completes, in its transaction.

    Logged at `now` (the completion's time), due `settings.notice_due_days` later (the due date
    each drawn declarant's notice prints, `service.notices`), by `actor` (who
    completed the draw). Each case is inserted as `drawn` with nothing recorded, then its
    `opened` event — and, when the office has active reviewers, an `assignment` event giving the
    cases out in turn by case number (`even_split`) — is logged and the case projected from them.
    Cases already open for the draw are left alone, so running it twice opens nothing new.
    """
    due_on = taipei_today(now) + timedelta(days=settings.notice_due_days)
    cases, pending = _new_cases(session, draw, selections_in(result), actor, due_on, now)
    reviewers = {reviewer.id: reviewer for reviewer in reviewers_of(session, draw.office_id)}
    by_id = {case.id: case for case in cases}
    for case_id, reviewer_id in even_split(cases, list(reviewers.values())).items():
        case = by_id[case_id]
        pending.append(
            _pending(
                case, sequence=2, kind="assignment", from_state="drawn", to_state="drawn", actor=actor, now=now,
                note=AUTO_ASSIGNMENT_NOTE, due_on=due_on, assignee=reviewers[reviewer_id],
            )
        )  # fmt: skip
    _store(session, settings, pending)
    _project(session, cases, now)
    return cases


@dataclass(frozen=True)
class DrawCases:
    """How a completed draw's review cases stand: opened, assigned, and the office's reviewers."""

    opened: int
    assigned: int
    reviewers: int


def review_cases_of(session: Session, draw: Draw) -> DrawCases:
    """The counts the console shows after completion (and what to do when there is no reviewer)."""
    opened, assigned = session.execute(
        select(func.count(ReviewCase.id), func.count(ReviewCase.assignee_id)).where(ReviewCase.draw_pk == draw.id)
    ).one()
    return DrawCases(int(opened), int(assigned), len(reviewers_of(session, draw.office_id)))


def waiting_work(session: Session, office_id: int) -> dict[str, int]:
    """What stands between the office and its cases being worked on, for an empty case list:
    `reviewers` (active ones), `unopened` (completed draws without cases: completed before cases
    opened themselves) and `unassigned` (open cases without a reviewer)."""
    with_cases = select(ReviewCase.draw_pk).where(ReviewCase.office_id == office_id, ReviewCase.draw_pk.is_not(None))
    unopened = session.scalar(
        select(func.count(Draw.id)).where(
            Draw.office_id == office_id, Draw.status == "completed", Draw.id.not_in(with_cases)
        )
    )
    unassigned = session.scalar(
        select(func.count(ReviewCase.id)).where(
            ReviewCase.office_id == office_id, ReviewCase.assignee_id.is_(None), ReviewCase.state != "closed"
        )
    )
    return {
        "reviewers": len(reviewers_of(session, office_id)),
        "unopened": int(unopened or 0),
        "unassigned": int(unassigned or 0),
    }


def _new_cases(
    session: Session, draw: Draw, selected: dict[str, str], actor: User, due_on: date, now: datetime
) -> tuple[list[ReviewCase], list[_Pending]]:
    """Insert the cases of `selected` not yet open for the draw (as `drawn`, nothing recorded) and
    build their `opened` events, in case-number order."""
    existing = set(session.scalars(select(ReviewCase.case_number).where(ReviewCase.draw_pk == draw.id)))
    wanted = [number for number in sorted(selected) if number not in existing]
    declarants: dict[str, Declarant] = {}
    for start in range(0, len(wanted), 500):
        query = select(Declarant).where(
            Declarant.office_id == draw.office_id,
            Declarant.roc_year == draw.roc_year,
            Declarant.case_number.in_(wanted[start : start + 500]),
        )
        declarants.update((d.case_number, d) for d in session.scalars(query))
    missing = [number for number in wanted if number not in declarants]
    if missing:
        raise ReviewError(_l("Selected case numbers without a declarant: %(ids)s", ids=", ".join(missing)))
    cases = []
    for case_number in wanted:
        case = ReviewCase(
            office_id=draw.office_id,
            draw_pk=draw.id,
            declarant_id=declarants[case_number].id,
            roc_year=draw.roc_year,
            case_number=case_number,
            stage=selected[case_number],
            origin="lottery",
            log_draw_id=draw.draw_id,
            state="drawn",
            due_on=due_on,
            created_by_id=actor.id,
            created_at=now,
            updated_at=now,
        )
        session.add(case)
        cases.append(case)
    session.flush()
    pending = [
        _pending(
            case, sequence=1, kind="opened", from_state=None, to_state="drawn", actor=actor, now=now,
            note=f"{draw.draw_id}: {case.stage}", due_on=due_on,
        )
        for case in cases
    ]  # fmt: skip
    return cases, pending


def open_case_based(
    session: Session,
    settings: Settings,
    office: Office,
    actor: User,
    *,
    roc_year: int,
    case_number: str,
    note: str,
    stage: str = "review",
    due_on: date | None = None,
    now: datetime | None = None,
) -> ReviewCase:
    """Open a case-based check (個案查核) of one declarant, outside any draw."""
    now = now or utcnow()
    if actor.office_id != office.id:
        raise ReviewError(_l("This declarant belongs to another office."))
    if stage not in STAGE_LABELS:
        raise ReviewError(_l("Unknown stage."))
    note = _clean_note(note)
    declarant = session.scalar(
        select(Declarant).where(
            Declarant.office_id == office.id, Declarant.roc_year == roc_year, Declarant.case_number == case_number
        )
    )
    if declarant is None:
        raise ReviewError(_l("No declarant %(case)s in year %(year)s.", case=case_number, year=roc_year))
    already = session.scalar(
        select(ReviewCase.id).where(
            ReviewCase.declarant_id == declarant.id, ReviewCase.origin == "case-based", ReviewCase.state != "closed"
        )
    )
    if already is not None:
        raise ReviewError(_l("%(case)s already has an open case-based check.", case=case_number))
    due_on = due_on or taipei_today(now) + timedelta(days=DEFAULT_DUE_DAYS)
    _check_due(due_on, now)
    case = ReviewCase(
        office_id=office.id,
        draw_pk=None,
        declarant_id=declarant.id,
        roc_year=roc_year,
        case_number=case_number,
        stage=stage,
        origin="case-based",
        log_draw_id=case_based_log_id(office, roc_year),
        state="drawn",
        due_on=due_on,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    pending = _pending(
        case, sequence=1, kind="opened", from_state=None, to_state="drawn", actor=actor, now=now, note=note,
        due_on=due_on,
    )  # fmt: skip
    _store(session, settings, [pending])
    _project(session, [case], now)
    return case


# ---------------------------------------------------------------------------------------------
# Steps, corrections, assignment
# ---------------------------------------------------------------------------------------------


def lock_case(session: Session, case_id: int) -> ReviewCase:
    """Reload the case under a write lock for the rest of the transaction."""
    case = session.scalar(
        select(ReviewCase).where(ReviewCase.id == case_id).with_for_update().execution_options(populate_existing=True)
    )
    if case is None:
        raise ReviewError(_l("This case no longer exists."))
    return case


def _require_assignee(case: ReviewCase, actor: User) -> None:
    if actor.office_id != case.office_id or actor.role != "reviewer" or case.assignee_id != actor.id:
        raise NotAssignee(_l("Only the reviewer this case is assigned to can record its steps."))


def _next_sequence(session: Session, case: ReviewCase) -> int:
    last = session.scalar(select(func.max(ReviewEvent.sequence)).where(ReviewEvent.case_id == case.id))
    return int(last or 0) + 1


def check_fine(amount: int | None, ground: str | None) -> tuple[int, str]:
    """Refuse a fine without a known ground or outside that ground's range (Act Art. 12)."""
    if ground not in FINE_GROUNDS:
        raise ReviewError(_l("Choose the ground of the fine (Act Art. 12)."))
    rule = FINE_GROUNDS[ground]
    if amount is None or not rule.minimum <= amount <= rule.maximum:
        raise ReviewError(
            _l(
                "For %(ground)s (%(source)s) the fine is NT$%(low)s to NT$%(high)s; %(amount)s is outside that range.",
                ground=str(rule.label),
                source=rule.source,
                low=f"{rule.minimum:,}",
                high=f"{rule.maximum:,}",
                amount=f"NT${amount:,}" if amount is not None else "—",
            )
        )
    return amount, ground


def _step_details(
    state: str, due_on: date | None, fine_amount: int | None, fine_ground: str | None
) -> tuple[date | None, int | None, str | None]:
    """The due date and fine a step into `state` keeps: none once closed; a fine only with `fined`."""
    if state == "closed":
        due_on = None
    if state == "fined":
        fine_amount, fine_ground = check_fine(fine_amount, fine_ground)
        return due_on, fine_amount, fine_ground
    if fine_amount is not None or fine_ground:
        raise ReviewError(_l("A fine is recorded only with the step “fined”."))
    return due_on, None, None


def _refusal(state: str, stage: str, wanted: str) -> InvalidTransition:
    allowed = allowed_next(state, stage)
    if not allowed:
        return InvalidTransition(_l("A case that is %(state)s takes no further steps.", state=state_label(state)))
    names = ", ".join(f"{state_label(s)} ({s})" for s in allowed)
    return InvalidTransition(
        _l(
            "A case that is %(state)s cannot become %(wanted)s. Allowed next: %(allowed)s.",
            state=state_label(state),
            wanted=state_label(wanted),
            allowed=names,
        )
    )


def transition(
    session: Session,
    settings: Settings,
    case_id: int,
    actor: User,
    to_state: str,
    *,
    note: str,
    due_on: date | None = None,
    fine_amount: int | None = None,
    fine_ground: str | None = None,
    expected_state: str | None = None,
    now: datetime | None = None,
) -> ReviewEvent:
    """Move a case one step on, recording who, when, why and the next due date (and a fine)."""
    now = now or utcnow()
    case = lock_case(session, case_id)
    _require_assignee(case, actor)
    if expected_state is not None and expected_state != case.state:
        raise StaleState(
            _l("The case is %(state)s now; reload the page to see what changed.", state=state_label(case.state))
        )
    if to_state not in allowed_next(case.state, case.stage):
        raise _refusal(case.state, case.stage, to_state)
    note = _clean_note(note)
    due_on, fine_amount, fine_ground = _step_details(to_state, due_on, fine_amount, fine_ground)
    _check_due(due_on, now)
    (event,) = _store(
        session,
        settings,
        [
            _pending(
                case, sequence=_next_sequence(session, case), kind="transition", from_state=case.state,
                to_state=to_state, actor=actor, now=now, note=note, due_on=due_on, fine_amount=fine_amount,
                fine_ground=fine_ground,
            )
        ],
    )  # fmt: skip
    _project(session, [case], now)
    return event


def effective(events: list[ReviewEvent]) -> dict[int, ReviewEvent]:
    """Each opened/step event's id → the event that now stands for it (its latest correction, or itself)."""
    standing: dict[int, ReviewEvent] = {}
    for event in sorted(events, key=lambda e: e.sequence):
        if event.kind in ("opened", "transition"):
            standing.setdefault(event.id, event)
        elif event.kind == "correction" and event.corrects_id is not None:
            standing[event.corrects_id] = event
    return standing


@dataclass(frozen=True)
class Projection:
    """What a case's history says it stands at now: the columns `review_case` keeps of it."""

    state: str
    assignee_id: int | None
    due_on: date | None
    fine_amount: int | None
    fine_ground: str | None
    last_event_sequence: int


#: The `review_case` columns that are a projection of its events (the trigger guards the same).
PROJECTED = ("state", "assignee_id", "due_on", "fine_amount", "fine_ground", "last_event_sequence")


def replay(events: list[ReviewEvent]) -> Projection | None:
    """Replay a case's events, oldest first, into where the case stands (None without events).

    An opening or a step sets the state and the due date (a step into `fined` sets the fine); a
    correction restates the step it names — the state and due date only when that step was the
    latest one, the fine always; an assignment sets the assignee.
    """
    if not events:
        return None
    state, due_on, assignee_id = "drawn", None, None
    fine: tuple[int | None, str | None] = (None, None)
    standing: dict[int, ReviewEvent] = {}
    latest_step: ReviewEvent | None = None
    for event in sorted(events, key=lambda e: e.sequence):
        if event.kind in ("opened", "transition"):
            standing[event.id] = latest_step = event
            state, due_on = event.to_state, event.due_on
            if event.to_state == "fined":
                fine = (event.fine_amount, event.fine_ground)
        elif event.kind == "correction" and event.corrects_id in standing:
            before = standing[event.corrects_id]
            if latest_step is not None and event.corrects_id == latest_step.id:
                state, due_on = event.to_state, event.due_on
            if event.to_state == "fined":
                fine = (event.fine_amount, event.fine_ground)
            elif before.to_state == "fined":
                fine = (None, None)
            standing[event.corrects_id] = event
        elif event.kind == "assignment":
            assignee_id = event.assignee_id
    return Projection(
        state=state,
        assignee_id=assignee_id,
        due_on=due_on,
        fine_amount=fine[0],
        fine_ground=fine[1],
        last_event_sequence=max(e.sequence for e in events),
    )


def _project(session: Session, cases: list[ReviewCase], now: datetime) -> None:
    """Set the cases' projected columns from their stored history (the database refuses anything else)."""
    by_case: dict[int, list[ReviewEvent]] = {case.id: [] for case in cases}
    ids = list(by_case)
    for start in range(0, len(ids), 500):
        query = select(ReviewEvent).where(ReviewEvent.case_id.in_(ids[start : start + 500]))
        for event in session.scalars(query):
            by_case[event.case_id].append(event)
    for case in cases:
        projection = replay(by_case[case.id])
        if projection is None:
            continue
        for column in PROJECTED:
            setattr(case, column, getattr(projection, column))
        case.updated_at = now
    session.flush()


def correct(
    session: Session,
    settings: Settings,
    case_id: int,
    actor: User,
    event_id: int,
    *,
    note: str,
    to_state: str | None = None,
    due_on: date | None = None,
    fine_amount: int | None = None,
    fine_ground: str | None = None,
    now: datetime | None = None,
) -> ReviewEvent:
    """Correct an earlier step with a new event that restates it and names it.

    The note, due date and fine of any step can be corrected; its resulting state only for the
    case's latest step (later steps were taken from it), and only to a state allowed from the
    step's starting state.
    """
    now = now or utcnow()
    case = lock_case(session, case_id)
    _require_assignee(case, actor)
    events = list(session.scalars(select(ReviewEvent).where(ReviewEvent.case_id == case.id)))
    target = next((e for e in events if e.id == event_id), None)
    if target is not None and target.kind == "correction":
        target = next((e for e in events if e.id == target.corrects_id), None)
    if target is None or target.kind not in ("opened", "transition"):
        raise ReviewError(_l("Only an opening or a step of this case can be corrected."))
    standing = effective(events)[target.id]
    latest_step = max((e for e in events if e.kind in ("opened", "transition")), key=lambda e: e.sequence)
    new_state = to_state or standing.to_state
    if new_state != standing.to_state:
        if target.id != latest_step.id or target.from_state is None:
            raise ReviewError(
                _l("Only the state of the latest step can be corrected: later steps were taken from this one.")
            )
        if new_state not in allowed_next(target.from_state, case.stage):
            raise _refusal(target.from_state, case.stage, new_state)
    note = _clean_note(note)
    due_on, fine_amount, fine_ground = _step_details(new_state, due_on, fine_amount, fine_ground)
    (event,) = _store(
        session,
        settings,
        [
            _pending(
                case, sequence=_next_sequence(session, case), kind="correction", from_state=target.from_state,
                to_state=new_state, actor=actor, now=now, note=note, due_on=due_on, fine_amount=fine_amount,
                fine_ground=fine_ground, corrects=target,
            )
        ],
    )  # fmt: skip
    _project(session, [case], now)
    return event


def assign(
    session: Session,
    settings: Settings,
    assignments: dict[int, User | None],
    actor: User,
    *,
    note: str = "",
    now: datetime | None = None,
) -> list[ReviewEvent]:
    """Assign (or reassign, or unassign) cases, each change a logged event. Only an admin of the office."""
    now = now or utcnow()
    if actor.role != "admin":
        raise ReviewError(_l("Only an admin assigns cases."))
    note = _clean_note(note, required=False)
    pending = []
    changed: list[ReviewCase] = []
    for case_id, reviewer in sorted(assignments.items()):
        case = lock_case(session, case_id)
        if case.office_id != actor.office_id:
            raise ReviewError(_l("This case belongs to another office."))
        if reviewer is not None and (
            reviewer.role != "reviewer" or reviewer.office_id != actor.office_id or not reviewer.active
        ):
            raise ReviewError(_l("Cases are assigned to active reviewers of the office."))
        if case.assignee_id == (reviewer.id if reviewer else None):
            continue
        if case.state == "closed":
            raise ReviewError(_l("%(case)s is closed; it is not assigned again.", case=case.case_number))
        pending.append(
            _pending(
                case, sequence=_next_sequence(session, case), kind="assignment", from_state=case.state,
                to_state=case.state, actor=actor, now=now, note=note, due_on=case.due_on, assignee=reviewer,
            )
        )  # fmt: skip
        changed.append(case)
    events = _store(session, settings, pending)
    _project(session, changed, now)
    return events


def reviewers_of(session: Session, office_id: int) -> list[User]:
    """The office's active reviewers, by name."""
    return list(
        session.scalars(
            select(User)
            .where(User.office_id == office_id, User.role == "reviewer", User.active.is_(True))
            .order_by(User.display_name, User.username)
        )
    )


def even_split(cases: list[ReviewCase], reviewers: list[User]) -> dict[int, int]:
    """Suggest assignees for the unassigned open cases so every reviewer ends with a near-equal load.

    Returns case id → reviewer id. Existing open assignments count towards a reviewer's load.
    """
    if not reviewers:
        return {}
    ids = {r.id for r in reviewers}
    load = Counter({r.id: 0 for r in reviewers})
    load.update(c.assignee_id for c in cases if c.state != "closed" and c.assignee_id in ids)
    order = {r.id: n for n, r in enumerate(reviewers)}
    suggestion = {}
    for case in sorted(cases, key=lambda c: c.case_number):
        if case.state == "closed" or case.assignee_id in ids:
            continue
        reviewer = min(load, key=lambda rid: (load[rid], order[rid]))
        suggestion[case.id] = reviewer
        load[reviewer] += 1
    return suggestion


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    """What the case lists can be narrowed by."""

    assignee_id: int | None = None
    stage: str | None = None
    state: str | None = None
    agency: str | None = None
    roc_year: int | None = None
    open_only: bool = False


def find_cases(session: Session, office_id: int, filters: CaseFilters | None = None) -> list[ReviewCase]:
    """The office's cases matching `filters`, soonest due first."""
    filters = filters or CaseFilters()
    query = select(ReviewCase).join(Declarant, ReviewCase.declarant_id == Declarant.id)
    query = query.where(ReviewCase.office_id == office_id)
    if filters.assignee_id is not None:
        query = query.where(ReviewCase.assignee_id == filters.assignee_id)
    if filters.stage:
        query = query.where(ReviewCase.stage == filters.stage)
    if filters.state:
        query = query.where(ReviewCase.state == filters.state)
    if filters.agency:
        query = query.where(Declarant.agency == filters.agency)
    if filters.roc_year:
        query = query.where(ReviewCase.roc_year == filters.roc_year)
    if filters.open_only:
        query = query.where(ReviewCase.state != "closed")
    query = query.order_by(ReviewCase.due_on.is_(None), ReviewCase.due_on, ReviewCase.case_number, ReviewCase.id)
    return list(session.scalars(query))


def overdue(cases: list[ReviewCase], today: date) -> list[ReviewCase]:
    """Open cases whose due date has passed."""
    return [c for c in cases if c.state != "closed" and c.due_on is not None and c.due_on < today]


def due_soon(cases: list[ReviewCase], today: date, days: int = DUE_SOON_DAYS) -> list[ReviewCase]:
    """Open cases due today or within `days` days."""
    limit = today + timedelta(days=days)
    return [c for c in cases if c.state != "closed" and c.due_on is not None and today <= c.due_on <= limit]


def agencies_of(session: Session, office_id: int) -> list[str]:
    """The agencies of the office's reviewed declarants (for the filter)."""
    query = (
        select(Declarant.agency)
        .join(ReviewCase, ReviewCase.declarant_id == Declarant.id)
        .where(ReviewCase.office_id == office_id)
        .distinct()
        .order_by(Declarant.agency)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class TimelineItem:
    """One event as the case page shows it, with the correction that replaced it, if any."""

    event: ReviewEvent
    corrected_by: ReviewEvent | None


def timeline(case: ReviewCase) -> list[TimelineItem]:
    """The case's events in order, each with its latest correction."""
    standing = effective(list(case.events))
    return [
        TimelineItem(event, standing[event.id] if standing.get(event.id, event) is not event else None)
        for event in case.events
    ]


def correctable(case: ReviewCase) -> list[ReviewEvent]:
    """The events a correction may name (openings and steps)."""
    return [e for e in case.events if e.kind in ("opened", "transition")]


# ---------------------------------------------------------------------------------------------
# Proof for auditors
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordProof:
    """One event's record, its log entry and its inclusion proof against a checkpoint."""

    event: ReviewEvent
    record: dict[str, Any]
    #: The log entry exactly as stored (canonical JSON text).
    entry: str
    index: int
    size: int
    path: list[bytes]
    #: True when the rebuilt record hashes to the digest stored with the event and in the log.
    digest_matches: bool


def prove_case(session: Session, case: ReviewCase) -> tuple[str, list[RecordProof]]:
    """The latest signed checkpoint and, for each event of the case, what an auditor needs.

    Refuses (ReviewError) when no checkpoint covers the case's events yet.
    """
    checkpoint = latest_checkpoint(session)
    if checkpoint is None:
        raise ReviewError(_l("The log has no checkpoint yet."))
    proofs = []
    for event in case.events:
        if event.log_index >= checkpoint.size:
            raise ReviewError(_l("The latest checkpoint does not cover this case's events yet."))
        rebuilt = record_of(event)
        stored = session.get(LogEntry, event.log_index)
        entry = stored.entry if stored is not None else ""
        matches = digest(rebuilt) == event.record_digest and entry.encode("utf-8") == canonical_json(
            log_event_of(event)
        )
        proofs.append(
            RecordProof(
                event=event,
                record=rebuilt,
                entry=entry,
                index=event.log_index,
                size=checkpoint.size,
                path=inclusion(session, event.log_index, checkpoint.size),
                digest_matches=matches,
            )
        )
    return checkpoint.note, proofs
