"""Case lists and the case page; each POST records one event through `service.reviews`."""

from typing import Any

from flask import abort, current_app, flash, render_template, request
from flask_babel import gettext
from flask_login import current_user

from service.access import CASE_VIEWERS, role_required
from service.config import settings_of
from service.extensions import db, session
from service.forms import CorrectionForm, EmptyForm, StepForm
from service.inputs import MAX_YEAR, MIN_YEAR, query_int
from service.keystore import KeyUnavailable
from service.labels import STAGE_LABELS
from service.models import REVIEW_STATES
from service.reviewer import reviewer_blueprint as bp
from service.reviewer.loading import case_or_404
from service.reviews import (
    FINE_GROUNDS,
    CaseFilters,
    NotAssignee,
    ReviewError,
    agencies_of,
    allowed_next,
    correct,
    correctable,
    due_soon,
    find_cases,
    overdue,
    reviewers_of,
    taipei_today,
    timeline,
    transition,
    waiting_work,
)
from service.web import redirect_to


def filters_from_request() -> tuple[str, CaseFilters]:
    """The list filters from the query string (unknown values are ignored)."""
    default_scope = "mine" if current_user.role == "reviewer" else "all"
    scope = request.args.get("scope", default_scope)
    scope = scope if scope in ("mine", "all") else default_scope
    stage = request.args.get("stage", "")
    state = request.args.get("state", "")
    agency = request.args.get("agency", "").strip()[:200]
    year = query_int("year", low=MIN_YEAR, high=MAX_YEAR)
    return scope, CaseFilters(
        assignee_id=current_user.id if scope == "mine" else None,
        stage=stage if stage in STAGE_LABELS else None,
        state=state if state in REVIEW_STATES else None,
        agency=agency or None,
        roc_year=year,
    )


@bp.route("/")
@role_required(*CASE_VIEWERS)
def cases() -> Any:
    """My cases (or the office's), overdue and due soon first, with filters."""
    scope, filters = filters_from_request()
    rows = find_cases(session(), current_user.office_id, filters)
    today = taipei_today()
    return render_template(
        "reviewer/cases.html",
        rows=rows,
        overdue_cases=overdue(rows, today),
        due_soon_cases=due_soon(rows, today),
        today=today,
        scope=scope,
        filters=filters,
        agencies=agencies_of(session(), current_user.office_id),
        states=REVIEW_STATES,
        waiting=None if rows else waiting_work(session(), current_user.office_id),
    )


def _ground_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [
        (g.code, f"{g.label} · {g.source} · NT${g.minimum:,}–{g.maximum:,}") for g in FINE_GROUNDS.values()
    ]


@bp.route("/cases/<id:case_id>")
@role_required(*CASE_VIEWERS)
def case_page(case_id: int) -> Any:
    """A case: the declaration (national ID masked), its history, and the next steps."""
    case = case_or_404(case_id)
    acting = current_user.role == "reviewer" and case.assignee_id == current_user.id
    steps = []
    for state in allowed_next(case.state, case.stage) if acting else ():
        form = StepForm(formdata=None, to_state=state, from_state=case.state)
        form.fine_ground.choices = _ground_choices()
        steps.append((state, form))
    correction_form = CorrectionForm(formdata=None)
    correction_form.fine_ground.choices = _ground_choices()
    return render_template(
        "reviewer/case.html",
        case=case,
        declarant=case.declarant,
        items=timeline(case),
        acting=acting,
        steps=steps,
        correction_form=correction_form,
        correctable=correctable(case) if acting else [],
        reviewers=reviewers_of(session(), case.office_id) if current_user.role == "admin" else [],
        form=EmptyForm(),
        today=taipei_today(),
    )


def _act(case_id: int, action: Any, success: str) -> Any:
    try:
        action()
    except NotAssignee as exc:
        db.session.rollback()
        abort(403, description=str(exc))
    except (ReviewError, KeyUnavailable) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(success, "ok")
    return redirect_to("reviewer.case_page", case_id=case_id)


@bp.route("/cases/<id:case_id>/steps", methods=["POST"])
@role_required("reviewer")
def case_step(case_id: int) -> Any:
    """Record the next step of a case assigned to me."""
    case = case_or_404(case_id)
    form = StepForm()
    form.fine_ground.choices = _ground_choices()
    if not form.validate_on_submit():
        flash(gettext("Write a note, and give dates and amounts in the form shown."), "error")
        return redirect_to("reviewer.case_page", case_id=case.id)
    settings = settings_of(current_app)
    return _act(
        case.id,
        lambda: transition(
            session(),
            settings,
            case.id,
            current_user,
            form.to_state.data or "",  # DataRequired (as the note's): `or` only narrows the type
            note=form.note.data or "",
            due_on=form.due_on.data,
            fine_amount=form.fine_amount.data,
            fine_ground=form.fine_ground.data or None,
            expected_state=form.from_state.data or None,
        ),
        gettext("Recorded, and its digest is in the public log."),
    )


@bp.route("/cases/<id:case_id>/corrections", methods=["POST"])
@role_required("reviewer")
def case_correction(case_id: int) -> Any:
    """Correct an earlier entry of a case assigned to me (a new entry that names it)."""
    case = case_or_404(case_id)
    form = CorrectionForm()
    form.fine_ground.choices = _ground_choices()
    if not form.validate_on_submit():
        flash(gettext("Choose the entry to correct and write what was wrong."), "error")
        return redirect_to("reviewer.case_page", case_id=case.id)
    settings = settings_of(current_app)
    return _act(
        case.id,
        lambda: correct(
            session(),
            settings,
            case.id,
            current_user,
            form.event_id.data or 0,  # DataRequired (as the note's): `or` only narrows the type
            note=form.note.data or "",
            to_state=form.to_state.data or None,
            due_on=form.due_on.data,
            fine_amount=form.fine_amount.data,
            fine_ground=form.fine_ground.data or None,
        ),
        gettext("The correction is recorded; the earlier entry stays in the history."),
    )
