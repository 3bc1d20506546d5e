"""Substantive review of drawn declarations: states, transitions, history and the audit trail.

The package's one entry point: import from `service.reviews`, not its modules — `rules`
(states, transitions, fine grounds), `records` (hashed records, replay), `opening`, `steps`
(steps, corrections, assignment), `reading` and `proofs`.

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

from service.reviews.opening import (
    AUTO_ASSIGNMENT_NOTE,
    DrawCases,
    even_split,
    open_case_based,
    open_cases_for_draw,
    open_on_completion,
    review_cases_of,
    reviewers_of,
    selections_in,
    selections_of,
    waiting_work,
)
from service.reviews.proofs import RecordProof, prove_case
from service.reviews.reading import (
    CaseFilters,
    TimelineItem,
    agencies_of,
    correctable,
    due_soon,
    find_cases,
    overdue,
    timeline,
)
from service.reviews.records import (
    PROJECTED,
    Projection,
    effective,
    log_event_of,
    record_of,
    replay,
    review_record,
)
from service.reviews.rules import (
    COMPARISON_ONLY,
    DEFAULT_DUE_DAYS,
    DUE_SOON_DAYS,
    FINE_GROUNDS,
    MAX_NOTE,
    RECORD_FORMAT,
    TAIPEI,
    TRANSITIONS,
    FineGround,
    InvalidTransition,
    NotAssignee,
    ReviewError,
    StaleState,
    allowed_next,
    case_based_log_id,
    taipei_today,
)
from service.reviews.steps import assign, check_fine, correct, lock_case, transition

__all__ = [
    "AUTO_ASSIGNMENT_NOTE",
    "COMPARISON_ONLY",
    "DEFAULT_DUE_DAYS",
    "DUE_SOON_DAYS",
    "FINE_GROUNDS",
    "MAX_NOTE",
    "PROJECTED",
    "RECORD_FORMAT",
    "TAIPEI",
    "TRANSITIONS",
    "CaseFilters",
    "DrawCases",
    "FineGround",
    "InvalidTransition",
    "NotAssignee",
    "Projection",
    "RecordProof",
    "ReviewError",
    "StaleState",
    "TimelineItem",
    "agencies_of",
    "allowed_next",
    "assign",
    "case_based_log_id",
    "check_fine",
    "correct",
    "correctable",
    "due_soon",
    "effective",
    "even_split",
    "find_cases",
    "lock_case",
    "log_event_of",
    "open_case_based",
    "open_cases_for_draw",
    "open_on_completion",
    "overdue",
    "prove_case",
    "record_of",
    "replay",
    "review_cases_of",
    "review_record",
    "reviewers_of",
    "selections_in",
    "selections_of",
    "taipei_today",
    "timeline",
    "transition",
    "waiting_work",
]
