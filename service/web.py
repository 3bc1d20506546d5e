"""Cross-cutting web behaviour: one transaction per request, security headers, one error shape."""

import logging
import time
from typing import Any

from flask import Flask, Response, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response as WerkzeugResponse

from service import inputs
from service.database import begin_mode
from service.extensions import db, login_manager
from service.models import User
from service.signin import IDLE_TIMEOUT, session_user

log = logging.getLogger(__name__)

#: Strict policy: no inline script or style anywhere; pages may not be framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors {frame_ancestors}"
)


def wants_json() -> bool:
    """API paths answer errors in JSON; pages answer with a page."""
    return request.path.startswith("/api/") or request.path.startswith("/log/")


def error_response(status: int, code: str, message: str) -> Any:
    """The one error shape: `{"error": {"code", "message"}}` for the API, a page otherwise."""
    if wants_json():
        return jsonify({"error": {"code": code, "message": message}}), status
    return render_template("error.html", status=status, message=message), status


class DrawIdConverter(BaseConverter):
    """`<draw_id:...>` in a route: only a valid draw id (protocol §4) reaches a view; anything else is 404."""

    regex = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"


def register_converters(app: Flask) -> None:
    """URL converters; installed before any blueprint is registered."""
    app.url_map.converters["draw_id"] = DrawIdConverter
    inputs.register(app)  # <id:…>, <year:…> and the JSON body limits


def register(app: Flask) -> None:
    """Install the request boundary, headers, error handlers and template helpers."""
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    app.before_request(choose_transaction_mode)
    login_manager.login_message = ""
    app.after_request(commit_and_secure)
    register_error_handlers(app)
    register_template_helpers(app)


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the signed-in user of this request, or None."""
    # The session must be live on the server (not signed out, not past 12 hours) and used
    # within the last 30 minutes; the cookie alone is not enough.
    token, seen = session.get("sid"), session.get("seen")
    if not user_id.isdigit() or not isinstance(token, str) or not isinstance(seen, int):
        return None
    now = time.time()
    if now - seen > IDLE_TIMEOUT.total_seconds():
        session.clear()
        return None
    user = session_user(db.session(), token, int(user_id))
    if user is None:
        session.clear()
        return None
    session["seen"] = int(now)
    return user


def choose_transaction_mode() -> None:
    """Before each request: how its transaction begins."""
    # Reads take a snapshot; anything that may write queues for SQLite's write lock up front.
    begin_mode.set("DEFERRED" if request.method in ("GET", "HEAD", "OPTIONS") else "IMMEDIATE")


def commit_and_secure(response: Response) -> Response:
    """After each request: commit (or roll back an error's work) and set the security headers."""
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    frame_ancestors = "*" if getattr(g, "allow_framing", False) else "'none'"
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(frame_ancestors=frame_ancestors))
    if frame_ancestors == "'none'":
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:  # HTTPS here or at a proxy gunicorn trusts (forwarded_allow_ips); RFC 6797 §7.2
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_user.is_authenticated or not getattr(g, "public_page", False):
        headers["Cache-Control"] = "no-store"
    return response


def register_error_handlers(app: Flask) -> None:
    """Every error answers in the one error shape, never with an exception's text."""

    @app.errorhandler(CSRFError)
    def csrf_failed(_error: CSRFError) -> Any:
        return error_response(
            400, "csrf", gettext("This form has expired. Please go back, reload the page and try again.")
        )

    @app.errorhandler(413)
    def too_large(error: HTTPException) -> Any:
        if error.description != RequestEntityTooLarge.description:  # a smaller limit than uploads' (JSON)
            return error_response(413, "too_large", error.description or "")
        limit_mb = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return error_response(413, "too_large", gettext("The upload is larger than %(limit)s MB.", limit=limit_mb))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        messages = {
            400: gettext("The request was not understood."),
            401: gettext("Please sign in."),
            403: gettext("You do not have permission for this page."),
            404: gettext("There is nothing at this address."),
            405: gettext("This address does not accept that kind of request."),
            409: gettext("This was already done by someone else; reload to see the current state."),
            429: gettext("Too many attempts. Please wait a minute and try again."),
        }
        status = error.code or 500
        custom = error.description if error.description != type(error).description else None
        message = custom or messages.get(status, gettext("The request failed."))
        return error_response(status, (error.name or "error").lower().replace(" ", "_"), message)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return error_response(500, "internal", gettext("Something went wrong on our side. Nothing was changed."))


def register_template_helpers(app: Flask) -> None:
    """Labels and the national-ID mask, callable from every template."""
    from service.declaration_files import COLUMN_LABELS, mask_national_id
    from service.i18n import is_english
    from service.labels import status_label, stratum_label

    def column_label(key: str) -> str:
        zh, en = COLUMN_LABELS.get(key, (key, key))
        return en if is_english() else zh

    app.jinja_env.globals.update(
        status_label=status_label, stratum_label=stratum_label, mask_id=mask_national_id, column_label=column_label
    )


def redirect_to(endpoint: str, **values: Any) -> WerkzeugResponse:
    """A 303 redirect, the right answer to a successful POST."""
    return redirect(url_for(endpoint, **values), code=303)
