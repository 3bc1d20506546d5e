"""A case's steps, corrections and assignment: each one new event, checked against the rules.

The reviewer a case is assigned to takes its steps; an admin assigns. The views check roles;
these functions check the assignee. A correction is a new event that restates an earlier one
and names it.
"""

from collections.abc import Mapping
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.config import Settings
from service.labels import state_label
from service.models import ReviewCase, ReviewEvent, User, utcnow
from service.reviews.records import effective, pending_event, project_cases, store_events
from service.reviews.rules import (
    FINE_GROUNDS,
    InvalidTransition,
    NotAssignee,
    ReviewError,
    StaleState,
    allowed_next,
    check_due,
    clean_note,
)


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
    note = clean_note(note)
    due_on, fine_amount, fine_ground = _step_details(to_state, due_on, fine_amount, fine_ground)
    check_due(due_on, now)
    (event,) = store_events(
        session,
        settings,
        [
            pending_event(
                case, sequence=_next_sequence(session, case), kind="transition", from_state=case.state,
                to_state=to_state, actor=actor, now=now, note=note, due_on=due_on, fine_amount=fine_amount,
                fine_ground=fine_ground,
            )
        ],
    )  # fmt: skip
    project_cases(session, [case], now)
    return event


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
    note = clean_note(note)
    due_on, fine_amount, fine_ground = _step_details(new_state, due_on, fine_amount, fine_ground)
    (event,) = store_events(
        session,
        settings,
        [
            pending_event(
                case, sequence=_next_sequence(session, case), kind="correction", from_state=target.from_state,
                to_state=new_state, actor=actor, now=now, note=note, due_on=due_on, fine_amount=fine_amount,
                fine_ground=fine_ground, corrects=target,
            )
        ],
    )  # fmt: skip
    project_cases(session, [case], now)
    return event


def assign(
    session: Session,
    settings: Settings,
    assignments: Mapping[int, User | None],
    actor: User,
    *,
    note: str = "",
    now: datetime | None = None,
) -> list[ReviewEvent]:
    """Assign (or reassign, or unassign) cases, each change a logged event. Only an admin of the office."""
    now = now or utcnow()
    if actor.role != "admin":
        raise ReviewError(_l("Only an admin assigns cases."))
    note = clean_note(note, required=False)
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
            pending_event(
                case, sequence=_next_sequence(session, case), kind="assignment", from_state=case.state,
                to_state=case.state, actor=actor, now=now, note=note, due_on=case.due_on, assignee=reviewer,
            )
        )  # fmt: skip
        changed.append(case)
    events = store_events(session, settings, pending)
    project_cases(session, changed, now)
    return events
