"""The reviewers' JSON API, `/api/v1/reviews/…`: cases and their steps, by session or API token."""

from flask import Blueprint

from service.extensions import csrf

review_api_blueprint = Blueprint("review_api", __name__, url_prefix="/api/v1/reviews")
# CSRF is checked in `api_access` instead: required for session requests, not for token requests.
csrf.exempt(review_api_blueprint)

from service.review_api import cases_views  # noqa: E402, F401  (routes register on import)
