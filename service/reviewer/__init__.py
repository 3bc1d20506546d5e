"""The reviewers' workspace: cases, their history and next steps, assignment, the annual report."""

from typing import Any

from flask import Blueprint

from service.labels import KIND_LABELS, ORIGIN_LABELS, STAGE_LABELS, STATE_LABELS, state_label
from service.reports import OUTCOME_STATES
from service.reviews import FINE_GROUNDS

reviewer_blueprint = Blueprint("reviewer", __name__, url_prefix="/reviews")


@reviewer_blueprint.context_processor
def review_labels() -> dict[str, Any]:
    """Labels for states, stages and fine grounds in the reviewer templates."""
    return {
        "state_label": state_label,
        "stage_labels": STAGE_LABELS,
        "origin_labels": ORIGIN_LABELS,
        "kind_labels": KIND_LABELS,
        "state_labels": STATE_LABELS,
        "fine_grounds": FINE_GROUNDS,
        "outcome_states": OUTCOME_STATES,
    }


from service.reviewer import admin_views, case_views, notices_views, report_views, salts_views  # noqa: E402, F401  (routes register on import)
