"""The witnesses' pages: the draws they are named on, and confirming a completed one themselves.

Phone-sized (reached by the QR code on the operator console). Only the `witness` role, and only
for draws the signed-in user is an announced witness of: any other draw is a 404.
"""

from flask import Blueprint

witness_blueprint = Blueprint("witness", __name__, url_prefix="/witness")

from service.witness import confirm_views  # noqa: E402, F401  (routes register on import)
