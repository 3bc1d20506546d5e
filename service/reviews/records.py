"""The hashed record of each review event and the replay that projects a case from its history.

Every change is a new `ReviewEvent`; nothing is edited or deleted (the database refuses it,
`service.triggers` V2). Each event's full internal record — with a random salt — is hashed, and
the digest goes into the transparency log as `review.recorded` (protocol §10) in the same
transaction. The columns `review_case` keeps of where a case stands are only ever set by
replaying its stored events (`replay`, `project_cases`); the database refuses any other change
to them (`service.triggers` V3).
"""

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lottery.canonical import digest
from lottery.timestamps import format_timestamp
from service.config import Settings
from service.keystore import current_signer
from service.models import ReviewCase, ReviewEvent, User
from service.reviews.rules import RECORD_FORMAT
from service.transparency import record


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
class PendingEvent:
    """An event built but not yet stored (it needs its log index first)."""

    case: ReviewCase
    values: dict[str, Any]


def pending_event(
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
) -> PendingEvent:
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
    return PendingEvent(case, values)


def store_events(session: Session, settings: Settings, pending: list[PendingEvent]) -> list[ReviewEvent]:
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


def project_cases(session: Session, cases: list[ReviewCase], now: datetime) -> None:
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
