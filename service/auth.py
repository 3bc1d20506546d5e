"""Signing in (password, then a TOTP code for admins and operators) and signing out."""

import time
from typing import Any

from flask import Blueprint, current_app, flash, render_template, request, session
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from service import settings_of
from service.access import login_required_any_role, public
from service.extensions import db, limiter
from service.forms import CodeForm, EmptyForm, LoginForm
from service.models import User
from service.qr import qr_svg
from service.signin import (
    Client,
    SignInRefused,
    check_code,
    check_password,
    close_session,
    needs_second_factor,
    open_session,
    start_enrolment,
)
from service.web import redirect_to

auth_blueprint = Blueprint("auth", __name__)
#: A password accepted but not yet followed by its code expires after this many seconds.
PENDING_SECONDS = 300
LOGIN_LIMIT = "10 per minute"


def home_endpoint(role: str) -> str:
    """Where a user lands after signing in: reviewers on their cases, witnesses on their draws, others on
    the dashboard."""
    return {"reviewer": "reviewer.cases", "witness": "witness.dashboard"}.get(role, "operator.dashboard")


def client() -> Client:
    """The requesting address and browser, for the event record."""
    return Client(ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", ""))


def _complete(user: User) -> Any:
    token = open_session(db.session, user, client())
    session.clear()
    session["sid"] = token
    session["seen"] = int(time.time())
    login_user(user)
    return redirect_to(home_endpoint(user.role))


def _refused(template: str, status: int, **context: Any) -> Any:
    db.session.commit()  # failures are counted and recorded even though the answer is an error
    return render_template(template, **context), status


@auth_blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
@public
def login() -> Any:
    """The sign-in form (username and password)."""
    if current_user.is_authenticated:
        return redirect_to(home_endpoint(current_user.role))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = check_password(db.session, form.username.data, form.password.data, client())
        except SignInRefused as exc:
            flash(str(exc), "error")
            return _refused("login.html", 401, form=form)
        if not needs_second_factor(user):
            return _complete(user)
        session.clear()
        session["pending"] = {"user": user.id, "at": int(time.time())}
        return redirect_to("auth.code" if user.totp_enrolled_at else "auth.enrol")
    status = 400 if request.method == "POST" else 200
    return render_template("login.html", form=form), status


def _pending_user() -> User | None:
    pending = session.get("pending")
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    return db.session.get(User, int(pending.get("user", 0)))


def _second_step(template: str, enrolling: bool) -> Any:
    user = _pending_user()
    if user is None:
        flash(gettext("Please sign in again."), "error")
        return redirect_to("auth.login")
    secret_key = settings_of(current_app).secret_key
    form = CodeForm()
    if form.validate_on_submit():
        try:
            check_code(db.session, user, form.code.data, secret_key, client())
        except SignInRefused as exc:
            flash(str(exc), "error")
        else:
            return _complete(user)
        context = _enrol_context(user, secret_key) if enrolling else {}
        return _refused(template, 401, form=form, **context)
    status = 400 if request.method == "POST" else 200
    context = _enrol_context(user, secret_key) if enrolling else {}
    return render_template(template, form=form, **context), status


def _enrol_context(user: User, secret_key: str) -> dict[str, Any]:
    from service.signin import totp_secret

    secret = totp_secret(user, secret_key)
    if secret is None:
        start_enrolment(user, secret_key)
        db.session.commit()
        secret = totp_secret(user, secret_key)
    import pyotp

    uri = pyotp.TOTP(secret or "").provisioning_uri(name=user.username, issuer_name="Sunshine Draw")
    grouped = " ".join((secret or "")[i : i + 4] for i in range(0, len(secret or ""), 4))
    # The QR code carries a secret: it is drawn fresh each time, never cached.
    return {"qr": qr_svg.__wrapped__(uri, gettext("QR code for your authenticator app")), "secret": grouped}


@auth_blueprint.route("/login/code", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
@public
def code() -> Any:
    """The second step: the 6-digit code from the authenticator app."""
    return _second_step("login_code.html", enrolling=False)


@auth_blueprint.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
@public
def enrol() -> Any:
    """First sign-in of an admin or operator: scan the QR code, then confirm with a code."""
    user = _pending_user()
    if user is not None and user.totp_enrolled_at is not None:
        return redirect_to("auth.code")
    return _second_step("login_enrol.html", enrolling=True)


@auth_blueprint.route("/logout", methods=["POST"])
@login_required_any_role
def logout() -> Any:
    """Sign out: the session is revoked on the server (POST with CSRF, so no link can do it)."""
    if EmptyForm().validate_on_submit():
        token = session.get("sid")
        if isinstance(token, str):
            close_session(db.session, token, client())
        logout_user()
        session.clear()
    return redirect_to("auth.login")
