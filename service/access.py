"""Access rules: every endpoint declares one, and the app refuses to start if one does not.

`@public` marks an endpoint anyone may call; `@role_required(...)` one that needs a signed-in
user with one of the roles. The rule is stored on the view function so `check_access_rules`
(run by `create_app`) and the tests can see it (Arlo's `app.py` does the same check).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort
from flask_login import current_user

from service.models import ROLES

View = TypeVar("View", bound=Callable[..., Any])
ACCESS_ATTRIBUTE = "access_rule"
PUBLIC = "public"

# Who may do what, named once (the roles themselves are `service.models.ROLES`).
#: Import declarations, prepare, announce and run draws.
OPERATORS = ("operator", "admin")
#: Look at review cases and the report; only the assignee acts on a case, only an admin assigns.
CASE_VIEWERS = ("reviewer", "admin", "operator")
#: Print the notices for the drawn declarants.
NOTICE_PRINTERS = ("reviewer", "admin")


class MissingAccessRule(RuntimeError):
    """An endpoint was registered without an access rule."""


def public(view: View) -> View:
    """Mark a view as open to everyone, signed in or not."""
    setattr(view, ACCESS_ATTRIBUTE, PUBLIC)
    return view


def role_required(*roles: str) -> Callable[[View], View]:
    """Allow only signed-in, active users holding one of `roles` (others get 403; anonymous users go to login)."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                from service.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        setattr(guarded, ACCESS_ATTRIBUTE, "roles:" + ",".join(roles))
        return cast(View, guarded)  # wraps() keeps the view's signature

    return decorate


def login_required_any_role(view: View) -> View:
    """Allow any signed-in user (each page still shows only the user's own office)."""
    return role_required(*ROLES)(view)


def access_rule(app: Flask, endpoint: str) -> str | None:
    """The declared access rule of an endpoint, or None."""
    if endpoint == "static" or endpoint.endswith(".static"):
        return PUBLIC  # Flask's own static endpoints (the app's and each blueprint's) serve public files
    view = app.view_functions[endpoint]
    rule = getattr(view, ACCESS_ATTRIBUTE, None)
    return rule if isinstance(rule, str) else None


def check_access_rules(app: Flask) -> None:
    """Refuse to start when any endpoint lacks an access rule."""
    missing = sorted(endpoint for endpoint in app.view_functions if access_rule(app, endpoint) is None)
    if missing:
        raise MissingAccessRule("endpoints without an access rule: " + ", ".join(missing))
