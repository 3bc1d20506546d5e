"""Signing in (password, then a TOTP code or a recovery code), recovery codes, the user's own
password, and signing out. Limits are counted in a store every worker shares (`service.throttle`)."""

import time
from typing import Any

from flask import current_app, flash, render_template, request, session
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from service import throttle
from service.access import login_required_any_role, public
from service.account import auth_blueprint
from service.accounts import PasswordTooWeak, set_password, verify_password
from service.clock import now as clock_now
from service.config import settings_of
from service.extensions import db
from service.forms import EmptyForm, Form, LoginForm
from service.models import User
from service.qr import qr_svg
from service.signin import (
    Client,
    SignInRefused,
    check_code,
    close_session,
    codes_to_show,
    finish_sign_in,
    needs_second_factor,
    new_recovery_codes,
    open_session,
    record_event,
    start_enrolment,
    unused_recovery_codes,
)
from service.signin import check_password as check_user_password
from service.web import redirect_to

#: A password accepted but not yet followed by its code expires after this many seconds.
PENDING_SECONDS = 300


class SecondFactorForm(Form):
    """The 6-digit code of an authenticator app, or a recovery code (XXXX-XXXX-XXXX-XXXX)."""

    code = StringField(_l("6-digit code"), validators=[DataRequired(), Length(min=6, max=32)])


class PasswordChangeForm(Form):
    """The current password, then the new one twice."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    repeat = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))],
    )


def home_endpoint(role: str) -> str:
    """Where a user lands after signing in: reviewers on their cases, witnesses on their draws, others on
    the dashboard."""
    return {"reviewer": "reviewer.cases", "witness": "witness.dashboard"}.get(role, "operator.dashboard")


def client() -> Client:
    """The requesting address and browser, for the event record."""
    return Client(ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", ""))


def _store() -> throttle.Store:
    return throttle.store_for(current_app, db.session())


def _complete(user: User, then: str | None = None) -> Any:
    finish_sign_in(_store(), user)
    token = open_session(db.session(), user, client())
    session.clear()
    session["sid"] = token
    session["seen"] = int(time.time())
    login_user(user)
    return redirect_to(then or home_endpoint(user.role))


def _refused(template: str, status: int, **context: Any) -> Any:
    db.session.commit()  # failures are counted and recorded even though the answer is an error
    return render_template(template, **context), status


def _too_many(template: str, username: str, **context: Any) -> Any | None:
    """HTTP 429 when this address has used up its attempts in the current window (counted for
    every worker in the shared store), else None."""
    ip = client().ip
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None  # the test suite turns the per-address window off (failures still bring waits)
    if throttle.attempt_allowed(_store(), ip, int(clock_now().timestamp())):
        return None
    record_event(db.session(), "rate_limited", username, None, client())
    flash(gettext("Too many sign-in attempts from this address: wait a minute and try again."), "error")
    return _refused(template, 429, **context)


def _unavailable(template: str, **context: Any) -> Any:
    db.session.rollback()
    flash(gettext("Sign-in is unavailable for a moment: please try again shortly."), "error")
    return render_template(template, **context), 503


@auth_blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    """The sign-in form (username and password)."""
    if current_user.is_authenticated:
        return redirect_to(home_endpoint(current_user.role))
    form = LoginForm()
    if request.method == "POST":
        try:
            limited = _too_many("login.html", str(request.form.get("username", ""))[:64], form=form)
            if limited is not None:
                return limited
            if form.validate_on_submit():
                # DataRequired on both: `or` only narrows the type for mypy.
                username, password = form.username.data or "", form.password.data or ""
                user = check_user_password(db.session(), _store(), username, password, client(), clock_now())
            else:
                return _refused("login.html", 400, form=form)
        except SignInRefused as exc:
            flash(str(exc), "error")
            return _refused("login.html", 401, form=form)
        except throttle.CountingUnavailable:
            return _unavailable("login.html", form=form)
        if not needs_second_factor(user):
            return _complete(user)
        session.clear()
        session["pending"] = {"user": user.id, "at": int(time.time())}
        return redirect_to("auth.code" if user.totp_enrolled_at else "auth.enrol")
    return render_template("login.html", form=form)


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
    form = SecondFactorForm()
    if request.method == "POST":
        try:
            limited = _too_many(template, user.username, form=form, **_context(user, secret_key, enrolling))
            if limited is not None:
                return limited
            if not form.validate_on_submit():
                return _refused(template, 400, form=form, **_context(user, secret_key, enrolling))
            code = form.code.data or ""  # DataRequired: `or` only narrows the type for mypy
            how = check_code(db.session(), _store(), user, code, secret_key, client(), clock_now())
        except SignInRefused as exc:
            flash(str(exc), "error")
            return _refused(template, 401, form=form, **_context(user, secret_key, enrolling))
        except throttle.CountingUnavailable:
            return _unavailable(template, form=form, **_context(user, secret_key, enrolling))
        if enrolling:
            new_recovery_codes(db.session(), user, secret_key)
            return _complete(user, then="auth.recovery_codes")
        if how == "recovery":
            flash(
                gettext(
                    "You signed in with a recovery code; %(left)s are left. Make new ones on your account page.",
                    left=unused_recovery_codes(db.session(), user),
                ),
                "info",
            )
        return _complete(user)
    return render_template(template, form=form, **_context(user, secret_key, enrolling))


def _context(user: User, secret_key: str, enrolling: bool) -> dict[str, Any]:
    return _enrol_context(user, secret_key) if enrolling else {}


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
@public
def code() -> Any:
    """The second step: the 6-digit code from the authenticator app, or a recovery code."""
    return _second_step("login_code.html", enrolling=False)


@auth_blueprint.route("/login/enrol", methods=["GET", "POST"])
@public
def enrol() -> Any:
    """First sign-in: scan the QR code, then confirm with a code."""
    user = _pending_user()
    if user is not None and user.totp_enrolled_at is not None:
        return redirect_to("auth.code")
    return _second_step("login_enrol.html", enrolling=True)


@auth_blueprint.route("/account/recovery-codes", methods=["GET", "POST"])
@login_required_any_role
def recovery_codes() -> Any:
    """New recovery codes are shown here once (after enrolment, or after making new ones)."""
    secret_key = settings_of(current_app).secret_key
    form = EmptyForm()
    if request.method == "POST":
        if form.validate_on_submit():
            new_recovery_codes(db.session(), current_user, secret_key)
            record_event(db.session(), "recovery_codes_made", current_user.username, current_user, client())
        return redirect_to("auth.recovery_codes")
    codes = codes_to_show(db.session(), current_user, secret_key)
    return render_template(
        "recovery_codes.html",
        codes=codes,
        left=unused_recovery_codes(db.session(), current_user),
        form=form,
        home=home_endpoint(current_user.role),
    )


@auth_blueprint.route("/account/password", methods=["GET", "POST"])
@login_required_any_role
def password() -> Any:
    """Change one's own password (the current one first; a weak new one is refused with advice)."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user: User = current_user._get_current_object()
        if not verify_password(user.password_hash, form.current.data or ""):  # DataRequired: never None
            record_event(db.session(), "password_change_failed", user.username, user, client())
            db.session.commit()
            flash(gettext("The current password is wrong."), "error")
            return render_template("account_password.html", form=form), 400
        try:
            set_password(user, form.new.data or "")
        except PasswordTooWeak as exc:
            flash(str(exc.message), "error")
            return render_template("account_password.html", form=form), 400
        record_event(db.session(), "password_changed", user.username, user, client())
        flash(gettext("Your password is changed."), "ok")
        return redirect_to(home_endpoint(user.role))
    status = 400 if request.method == "POST" else 200
    return render_template("account_password.html", form=form), status


@auth_blueprint.route("/logout", methods=["POST"])
@login_required_any_role
def logout() -> Any:
    """Sign out: the session is revoked on the server (POST with CSRF, so no link can do it)."""
    if EmptyForm().validate_on_submit():
        token = session.get("sid")
        if isinstance(token, str):
            close_session(db.session(), token, client())
        logout_user()
        session.clear()
    return redirect_to("auth.login")
