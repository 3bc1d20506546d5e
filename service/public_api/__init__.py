"""The public JSON API, `/api/v1/…`: published draws and statistics, no sign-in (docs/openapi.yaml)."""

from flask import Blueprint

api_blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

from service.public_api import draws_views  # noqa: E402, F401  (routes register on import)
