"""The public face: what citizens, journalists and councillors see. They never sign in.

Pages (`pages.py`), the published files and the log (`documents.py`, its tiles in `tiles.py`), the stage display
(`live.py`) and the static export (`export.py`); styles and scripts in `static/`, the in-browser
verifier in `static/verify/` as plain ES modules (they run in Node too, for the tests).
"""

from flask import Blueprint, g

public_blueprint = Blueprint(
    "public",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/public",
)


@public_blueprint.before_request
def mark_public() -> None:
    """Public pages may be cached by browsers (private pages are `no-store`)."""
    g.public_page = True


# Routes register on import; statistics.py holds the yearly review figures (aggregate only).
from public_site import documents, live, pages, statistics, tiles  # noqa: E402, F401
