"""Reading cases: the filtered list, what is overdue or due soon, a case's timeline."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Declarant, ReviewCase, ReviewEvent
from service.reviews.records import effective
from service.reviews.rules import DUE_SOON_DAYS


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
    """The events a correction may name (openings and steps), oldest first."""
    return [e for e in case.events if e.kind in ("opened", "transition")]
