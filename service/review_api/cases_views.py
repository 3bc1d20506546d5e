"""The JSON API for reviewers (docs/openapi.yaml): list my cases, show a case, take a step.

Two ways in:
- a signed-in browser session — then every POST needs the CSRF token in `X-CSRFToken`
  (`GET /api/v1/reviews/me` hands it out);
- `Authorization: Bearer <token>` with one of the user's API tokens (`flask users tokens create`) —
  no CSRF token is needed, because a browser never adds that header by itself to a request
  another site makes. With the header present the session cookie is ignored. A token expires
  (90 days by default), can be revoked, and is read-only (`scope` read: every write answers 403)
  or read-write.
"""

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, jsonify, request, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from service.access import ACCESS_ATTRIBUTE, CASE_VIEWERS
from service.accounts import api_token_for
from service.config import settings_of
from service.extensions import csrf, db, login_manager, session
from service.inputs import MAX_ID, MAX_YEAR, MIN_YEAR, query_int
from service.keystore import KeyUnavailable
from service.labels import STAGE_LABELS
from service.models import REVIEW_STATES, ReviewCase, ReviewEvent
from service.review_api import review_api_blueprint
from service.reviews import (
    CaseFilters,
    InvalidTransition,
    NotAssignee,
    ReviewError,
    StaleState,
    allowed_next,
    correct,
    find_cases,
    timeline,
    transition,
)
from service.web import error_response

View = TypeVar("View", bound=Callable[..., Any])
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def api_access(*roles: str) -> Callable[[View], View]:
    """Authenticate by API token or session (CSRF checked for session writes), then check the role."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization")
            if header is not None:
                scheme, _, token = header.partition(" ")
                row, state = api_token_for(session(), token.strip()) if scheme.lower() == "bearer" else (None, "")
                if row is None or state == "revoked":
                    return error_response(401, "invalid_token", gettext("The API token is not valid."))
                if state == "expired":
                    return error_response(
                        401, "token_expired", gettext("The API token has expired: ask an admin for a new one.")
                    )
                if request.method not in SAFE_METHODS and row.scope != "write":
                    return error_response(
                        403,
                        "read_only_token",
                        gettext("This API token is read-only: it cannot change anything. Use a read-write token."),
                    )
                login_manager._update_request_context_with_user(row.user)
                g.api_token_auth = True
            else:
                if not current_user.is_authenticated:
                    return error_response(401, "unauthorized", gettext("Sign in, or send an API token."))
                if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
                    csrf.protect()
            if current_user.role not in roles:
                return error_response(403, "forbidden", gettext("You do not have permission for this."))
            return view(*args, **kwargs)

        setattr(guarded, ACCESS_ATTRIBUTE, "roles:" + ",".join(roles))
        return cast(View, guarded)  # wraps() keeps the view's signature

    return decorate


def _fine(amount: int | None, ground: str | None) -> dict[str, Any] | None:
    return {"amount": amount, "ground": ground} if amount is not None else None


def case_summary(case: ReviewCase) -> dict[str, Any]:
    """A case as the list gives it."""
    return {
        "id": case.id,
        "case_number": case.case_number,
        "year": case.roc_year,
        "stage": case.stage,
        "origin": case.origin,
        "draw_id": case.draw.draw_id if case.draw else None,
        "state": case.state,
        "assignee": case.assignee.username if case.assignee else None,
        "due_on": case.due_on.isoformat() if case.due_on else None,
        "fine": _fine(case.fine_amount, case.fine_ground),
        "allowed_next": list(allowed_next(case.state, case.stage)),
        "can_act": current_user.role == "reviewer" and case.assignee_id == current_user.id,
        "links": {
            "self": url_for("review_api.case", case_id=case.id),
            "page": url_for("reviewer.case_page", case_id=case.id),
        },
    }


def event_json(event: ReviewEvent, corrected_by: ReviewEvent | None = None) -> dict[str, Any]:
    """One history entry."""
    return {
        "id": event.id,
        "sequence": event.sequence,
        "kind": event.kind,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor": event.actor.username,
        "time": event.recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "note": event.note,
        "due_on": event.due_on.isoformat() if event.due_on else None,
        "assignee": event.assignee.username if event.assignee else None,
        "fine": _fine(event.fine_amount, event.fine_ground),
        "corrects": event.corrects.sequence if event.corrects else None,
        "corrected_by": corrected_by.sequence if corrected_by else None,
        "record_digest": event.record_digest,
        "log_index": event.log_index,
    }


def case_detail(case: ReviewCase) -> dict[str, Any]:
    """A case with its declaration (national ID masked) and its whole history."""
    from service.declaration_files import mask_national_id

    declarant = case.declarant
    return {
        **case_summary(case),
        "declaration": {
            "name": declarant.name,
            "national_id": mask_national_id(declarant.national_id),
            "agency": declarant.agency,
            "title": declarant.title,
            "type": declarant.declaration_type,
            "type_label": declarant.type_label,
            "declared_on": declarant.declared_on.isoformat(),
        },
        "history": [event_json(item.event, item.corrected_by) for item in timeline(case)],
    }


def _case_or_404(case_id: int) -> ReviewCase | None:
    case = db.session.get(ReviewCase, case_id)
    if case is None or case.office_id != current_user.office_id:
        return None
    return case


def _not_found() -> Any:
    return error_response(404, "not_found", gettext("There is nothing at this address."))


@review_api_blueprint.route("/me")
@api_access(*CASE_VIEWERS)
def me() -> Any:
    """Who is signed in; for a session, also the CSRF token its POSTs must send."""
    body = {
        "username": current_user.username,
        "display_name": current_user.display_name,
        "role": current_user.role,
        "office": current_user.office.slug,
        "auth": "token" if g.get("api_token_auth") else "session",
    }
    if not g.get("api_token_auth"):
        body["csrf_token"] = generate_csrf()
    return jsonify(body)


@review_api_blueprint.route("/cases")
@api_access(*CASE_VIEWERS)
def cases() -> Any:
    """My cases (`scope=mine`, a reviewer's default) or the office's, filtered by stage, state, agency, year."""
    default_scope = "mine" if current_user.role == "reviewer" else "all"
    scope = request.args.get("scope", default_scope)
    if scope not in ("mine", "all"):
        return error_response(400, "bad_request", gettext("scope is mine or all."))
    stage, state = request.args.get("stage") or None, request.args.get("state") or None
    if (stage and stage not in STAGE_LABELS) or (state and state not in REVIEW_STATES):
        return error_response(400, "bad_request", gettext("Unknown stage or state."))
    filters = CaseFilters(
        assignee_id=current_user.id if scope == "mine" else None,
        stage=stage,
        state=state,
        agency=(request.args.get("agency") or "").strip()[:200] or None,
        roc_year=query_int("year", low=MIN_YEAR, high=MAX_YEAR),
    )
    rows = find_cases(session(), current_user.office_id, filters)
    return jsonify({"scope": scope, "cases": [case_summary(case) for case in rows]})


@review_api_blueprint.route("/cases/<id:case_id>")
@api_access(*CASE_VIEWERS)
def case(case_id: int) -> Any:
    """One case of my office, with its declaration and history."""
    row = _case_or_404(case_id)
    if row is None:
        return _not_found()
    return jsonify(case_detail(row))


def _body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -MAX_ID <= value <= MAX_ID:
        raise ValueError(value)
    return value


def _optional_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(value)
    return date.fromisoformat(value)


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(value)
    return value


def _record(case_id: int, action: Callable[[dict[str, Any]], ReviewEvent]) -> Any:
    row = _case_or_404(case_id)
    if row is None:
        return _not_found()
    body = _body()
    if body is None:
        return error_response(400, "bad_request", gettext("Send a JSON object."))
    try:
        event = action(body)
    except (ValueError, TypeError) as exc:
        db.session.rollback()
        if isinstance(exc, ReviewError):
            return _review_error(exc)
        return error_response(400, "bad_request", gettext("A field has the wrong type or format."))
    except KeyUnavailable:
        db.session.rollback()
        return error_response(503, "key_unavailable", gettext("The office key is not available; nothing was recorded."))
    db.session.flush()
    db.session.expire(row, ["events"])
    return jsonify({"event": event_json(event), "case": case_detail(row)}), 201


def _review_error(exc: ReviewError) -> Any:
    if isinstance(exc, NotAssignee):
        return error_response(403, "not_assignee", str(exc))
    if isinstance(exc, StaleState):
        return error_response(409, "stale_state", str(exc))
    if isinstance(exc, InvalidTransition):
        return error_response(422, "invalid_transition", str(exc))
    return error_response(422, "refused", str(exc))


@review_api_blueprint.route("/cases/<id:case_id>/transitions", methods=["POST"])
@api_access("reviewer")
def case_transition(case_id: int) -> Any:
    """Take the next step of a case assigned to me."""
    settings = settings_of(current_app)

    def action(body: dict[str, Any]) -> ReviewEvent:
        to_state = body.get("to_state")
        if not isinstance(to_state, str):
            raise ValueError("to_state")
        return transition(
            session(),
            settings,
            case_id,
            current_user,
            to_state,
            note=_optional_text(body.get("note")) or "",
            due_on=_optional_date(body.get("due_on")),
            fine_amount=_optional_int(body.get("fine_amount")),
            fine_ground=_optional_text(body.get("fine_ground")),
            expected_state=_optional_text(body.get("expected_state")),
        )

    return _record(case_id, action)


@review_api_blueprint.route("/cases/<id:case_id>/corrections", methods=["POST"])
@api_access("reviewer")
def case_correction(case_id: int) -> Any:
    """Correct an earlier entry (named by its sequence number) of a case assigned to me."""
    settings = settings_of(current_app)

    def action(body: dict[str, Any]) -> ReviewEvent:
        sequence = _optional_int(body.get("corrects"))
        target = db.session.scalar(
            db.select(ReviewEvent.id).where(ReviewEvent.case_id == case_id, ReviewEvent.sequence == sequence)
        )
        if target is None:
            raise ReviewError(gettext("This case has no entry %(n)s.", n=sequence))
        return correct(
            session(),
            settings,
            case_id,
            current_user,
            target,
            note=_optional_text(body.get("note")) or "",
            to_state=_optional_text(body.get("to_state")),
            due_on=_optional_date(body.get("due_on")),
            fine_amount=_optional_int(body.get("fine_amount")),
            fine_ground=_optional_text(body.get("fine_ground")),
        )

    return _record(case_id, action)
