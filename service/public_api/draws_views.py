"""The public JSON API (protocol §11): draws and their status, and the yearly review statistics."""

from typing import Any

from flask import abort, jsonify, request, url_for
from sqlalchemy import select

from service.access import public
from service.extensions import db, session
from service.models import Draw, Office
from service.public_api import api_blueprint
from service.reports import annual_report, report_years, stats_json


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


@api_blueprint.route("/draws/<draw_id:draw_id>")
@public
def draw(draw_id: str) -> Any:
    """One draw's status and links."""
    row = db.session.scalar(select(Draw).where(Draw.draw_id == draw_id, Draw.status != "draft"))
    if row is None:
        abort(404)
    return jsonify(draw_summary(row))


@api_blueprint.route("/stats/<year:roc_year>")
@public
def stats(roc_year: int) -> Any:
    """A year's review statistics, aggregate only: the same figures as the annual report.

    `?office=<slug>` narrows them to one office; without it they cover every office.
    """
    office_id = None
    slug = request.args.get("office")
    if slug:
        office = db.session.scalar(select(Office).where(Office.slug == slug))
        if office is None:
            abort(404)
        office_id = office.id
    # Only what an announced draw has made public counts (a year just imported is not there yet).
    if roc_year not in report_years(session(), office_id, public=True):
        abort(404, description="There are no declarations of that year.")
    body = stats_json(annual_report(session(), roc_year, office_id, public=True))
    response = jsonify({**body, "office": slug or None})
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
