"""Signing in and out."""

from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from service.access import login_required_any_role, public
from service.accounts import authenticate
from service.extensions import db, limiter
from service.forms import EmptyForm, LoginForm
from service.web import redirect_to

auth_blueprint = Blueprint("auth", __name__)


def home_endpoint(role: str) -> str:
    """Where a user lands after signing in: reviewers on their cases, others on the dashboard."""
    return "reviewer.cases" if role == "reviewer" else "operator.dashboard"


@auth_blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@public
def login() -> Any:
    """The sign-in form."""
    if current_user.is_authenticated:
        return redirect_to(home_endpoint(current_user.role))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect_to(home_endpoint(user.role))
        flash(gettext("The username or password is wrong."), "error")
    status = 401 if request.method == "POST" else 200
    return render_template("login.html", form=form), status


@auth_blueprint.route("/logout", methods=["POST"])
@login_required_any_role
def logout() -> Any:
    """Sign out (POST with CSRF, so no page can sign a user out by a link)."""
    if EmptyForm().validate_on_submit():
        logout_user()
    return redirect_to("auth.login")
