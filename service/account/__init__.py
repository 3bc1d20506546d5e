"""Signing in and out, the second factor, recovery codes and the user's own password (blueprint `auth`)."""

from flask import Blueprint

auth_blueprint = Blueprint("auth", __name__)

from service.account import signin_views  # noqa: E402, F401  (routes register on import)
