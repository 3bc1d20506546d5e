"""Load the review case named in a URL, only from the signed-in user's own office (else 404)."""

from flask import abort
from flask_login import current_user

from service.extensions import db
from service.models import ReviewCase


def case_or_404(case_id: int) -> ReviewCase:
    """The case with this id if it belongs to the user's office; another office's case is a 404."""
    case = db.session.get(ReviewCase, case_id)
    if case is None or case.office_id != current_user.office_id:
        abort(404)
    return case
