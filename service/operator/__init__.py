"""The operator's pages: import declarations, review the population, set up draws."""

from flask import Blueprint

operator_blueprint = Blueprint("operator", __name__, url_prefix="/operator")

from service.operator import console_views, declarations_views, draws_views  # noqa: E402, F401  (routes register on import)
