"""The public face: what citizens, journalists and councillors see. They never sign in."""

from typing import Any

from flask import Blueprint, abort, g, render_template
from sqlalchemy import select

from service.access import public
from service.extensions import db
from service.models import Draw

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


@public_blueprint.route("/")
@public
def home() -> Any:
    """Upcoming and recent draws."""
    draws = db.session.scalars(
        select(Draw).where(Draw.status != "draft").order_by(Draw.scheduled_at.desc()).limit(20)
    ).all()
    return render_template("public/home.html", draws=draws)


@public_blueprint.route("/draws/<draw_id>")
@public
def draw_page(draw_id: str) -> Any:
    """One draw explained in plain words."""
    draw = db.session.scalar(select(Draw).where(Draw.draw_id == draw_id, Draw.status != "draft"))
    if draw is None:
        abort(404)
    return render_template("public/draw.html", draw=draw)


from public_site import documents, live  # noqa: E402, F401  (routes register on import)
