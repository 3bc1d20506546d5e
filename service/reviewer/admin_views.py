"""The admin's part: open the cases of a draw, open case-based checks, assign and reassign."""

from typing import Any

from flask import abort, current_app, flash, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select

from service.access import role_required
from service.config import settings_of
from service.extensions import db, session
from service.forms import CaseBasedForm, EmptyForm, OpenCasesForm
from service.inputs import parse_id
from service.keystore import KeyUnavailable
from service.models import Draw, ReviewCase, User
from service.operator.loading import draw_or_404
from service.reviewer import reviewer_blueprint as bp
from service.reviews import (
    CaseFilters,
    ReviewError,
    assign,
    even_split,
    find_cases,
    open_case_based,
    open_cases_for_draw,
    reviewers_of,
    selections_of,
)
from service.web import redirect_to


@bp.route("/assign")
@role_required("admin")
def assignments() -> Any:
    """Every open case with its reviewer, an even-split suggestion for the unassigned ones, and the
    completed draws whose cases can be opened."""
    office_id = current_user.office_id
    open_cases = find_cases(session(), office_id, CaseFilters(open_only=True))
    reviewers = reviewers_of(session(), office_id)
    suggestion = even_split(open_cases, reviewers)
    load = {r.id: sum(1 for c in open_cases if c.assignee_id == r.id) for r in reviewers}
    per_draw = (
        select(ReviewCase.draw_pk, func.count()).where(ReviewCase.office_id == office_id).group_by(ReviewCase.draw_pk)
    )
    opened = {draw_pk: count for draw_pk, count in db.session.execute(per_draw).tuples()}
    draws = db.session.scalars(
        select(Draw).where(Draw.office_id == office_id, Draw.status == "completed").order_by(Draw.scheduled_at.desc())
    ).all()
    draw_rows = [(draw, len(selections_of(draw)), opened.get(draw.id, 0)) for draw in draws]
    return render_template(
        "reviewer/assign.html",
        cases=open_cases,
        reviewers=reviewers,
        suggestion=suggestion,
        load=load,
        draw_rows=draw_rows,
        form=EmptyForm(),
        open_form=OpenCasesForm(formdata=None),
    )


def _reviewer_from(value: str) -> User | None:
    """The user a form field names (None for "unassigned"); 400 when it names no user of the office."""
    if value == "":
        return None
    user_id = parse_id(value)
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or user.office_id != current_user.office_id:
        abort(400)
    return user


def _apply(assignments: dict[int, User | None], note: str) -> None:
    try:
        events = assign(session(), settings_of(current_app), assignments, current_user, note=note)
    except (ReviewError, KeyUnavailable) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(gettext("%(count)s assignments recorded.", count=len(events)), "ok")


@bp.route("/assign", methods=["POST"])
@role_required("admin")
def assignments_save() -> Any:
    """Save the assignment table (`case-<id>` = reviewer id, or empty for unassigned)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    wanted: dict[int, User | None] = {}
    for key, value in request.form.items():
        if not key.startswith("case-") or not key[5:].isdigit():
            continue
        reviewer = _reviewer_from(value)
        case_id = parse_id(key[5:])
        case = db.session.get(ReviewCase, case_id) if case_id is not None else None
        if case is None or case.office_id != current_user.office_id:
            abort(400)
        if case.assignee_id != (reviewer.id if reviewer else None):
            wanted[case.id] = reviewer
    _apply(wanted, request.form.get("note", "")[:2000])
    return redirect_to("reviewer.assignments")


@bp.route("/cases/<id:case_id>/assign", methods=["POST"])
@role_required("admin")
def case_assign(case_id: int) -> Any:
    """Assign or reassign one case from its page."""
    case = db.session.get(ReviewCase, case_id)
    if case is None or case.office_id != current_user.office_id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    reviewer = _reviewer_from(request.form.get("assignee", ""))
    _apply({case.id: reviewer}, request.form.get("note", "")[:2000])
    return redirect_to("reviewer.case_page", case_id=case.id)


@bp.route("/draws/<draw_id:draw_id>/open", methods=["POST"])
@role_required("admin")
def draw_open_cases(draw_id: str) -> Any:
    """Open a review case for every entry the completed draw selected."""
    draw = draw_or_404(draw_id)
    form = OpenCasesForm()
    if not form.validate_on_submit():
        flash(gettext("Give the first due date as a date."), "error")
        return redirect_to("reviewer.assignments")
    try:
        created = open_cases_for_draw(session(), settings_of(current_app), draw, current_user, due_on=form.due_on.data)
    except (ReviewError, KeyUnavailable) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(gettext("%(count)s review cases opened.", count=len(created)), "ok")
    return redirect_to("reviewer.assignments")


@bp.route("/case-based/new", methods=["GET", "POST"])
@role_required("admin")
def case_based_new() -> Any:
    """Open a case-based check (個案查核) of one declarant."""
    form = CaseBasedForm()
    if form.validate_on_submit():
        try:
            case = open_case_based(
                session(),
                settings_of(current_app),
                current_user.office,
                current_user,
                # DataRequired on each: `or` only narrows the type for mypy.
                roc_year=form.roc_year.data or 0,
                case_number=(form.case_number.data or "").strip(),
                note=form.note.data or "",
                stage=form.stage.data,
                due_on=form.due_on.data,
            )
        except (ReviewError, KeyUnavailable) as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            flash(gettext("The case-based check is opened."), "ok")
            return redirect_to("reviewer.case_page", case_id=case.id)
    status = 400 if request.method == "POST" else 200
    return render_template("reviewer/case_based.html", form=form), status
