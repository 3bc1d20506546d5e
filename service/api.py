"""The public JSON API (SPEC §11): draws and their status."""

from typing import Any

from flask import Blueprint, abort, jsonify, url_for
from sqlalchemy import select

from service.access import public
from service.extensions import db
from service.models import Draw

api_blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


def draw_summary(draw: Draw) -> dict[str, Any]:
    """A draw as the API lists it: id, title, status and links."""
    links = {
        "self": url_for("api.draw", draw_id=draw.draw_id),
        "page": url_for("public.draw_page", draw_id=draw.draw_id),
        "population": url_for("public.population_tsv", draw_id=draw.draw_id),
        "announcement": url_for("public.announcement_json", draw_id=draw.draw_id),
        "announcement_sig": url_for("public.announcement_sig", draw_id=draw.draw_id),
    }
    if draw.status == "completed":
        links["result"] = url_for("public.result_json", draw_id=draw.draw_id)
        links["result_sig"] = url_for("public.result_sig", draw_id=draw.draw_id)
        links["bundle"] = url_for("public.bundle", draw_id=draw.draw_id)
    return {
        "draw_id": draw.draw_id,
        "title": draw.title,
        "status": draw.status,
        "scheduled_at": draw.scheduled_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links,
    }


@api_blueprint.route("/draws")
@public
def draws() -> Any:
    """Every published draw of every office (drafts are private), newest first."""
    rows = db.session.scalars(select(Draw).where(Draw.status != "draft").order_by(Draw.scheduled_at.desc())).all()
    return jsonify({"draws": [draw_summary(draw) for draw in rows]})


@api_blueprint.route("/draws/<draw_id>")
@public
def draw(draw_id: str) -> Any:
    """One draw's status and links."""
    row = db.session.scalar(select(Draw).where(Draw.draw_id == draw_id, Draw.status != "draft"))
    if row is None:
        abort(404)
    return jsonify(draw_summary(row))
