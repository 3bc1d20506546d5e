"""Opening cases: one per entry a completed draw selected (assigned evenly), or case-based."""

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import clock
from service.config import Settings
from service.labels import STAGE_LABELS
from service.models import Declarant, Draw, Office, ReviewCase, User, utcnow
from service.reviews.records import PendingEvent, pending_event, project_cases, store_events
from service.reviews.rules import DEFAULT_DUE_DAYS, ReviewError, case_based_log_id, check_due, clean_note, taipei_today


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
    check_due(due_on, now)
    cases, pending = _new_cases(session, draw, selections_of(draw), actor, due_on, now)
    store_events(session, settings, pending)
    project_cases(session, cases, now)
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
            pending_event(
                case, sequence=2, kind="assignment", from_state="drawn", to_state="drawn", actor=actor, now=now,
                note=AUTO_ASSIGNMENT_NOTE, due_on=due_on, assignee=reviewers[reviewer_id],
            )
        )  # fmt: skip
    store_events(session, settings, pending)
    project_cases(session, cases, now)
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
) -> tuple[list[ReviewCase], list[PendingEvent]]:
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
        pending_event(
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
    note = clean_note(note)
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
    check_due(due_on, now)
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
    pending = pending_event(
        case, sequence=1, kind="opened", from_state=None, to_state="drawn", actor=actor, now=now, note=note,
        due_on=due_on,
    )  # fmt: skip
    store_events(session, settings, [pending])
    project_cases(session, [case], now)
    return case


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
