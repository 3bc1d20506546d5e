"""Draft draws: the rule, the schedule, the witnesses — with the resulting quotas shown live."""

from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, jsonify, render_template, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3's; not in types-WTForms 3.2.1

from service import clock
from service.access import OPERATORS, role_required
from service.config import settings_of
from service.declarations import population_counts, years
from service.draw_lifecycle import notice_hours
from service.draw_rules import DrawRuleError, Rule, parse_percent, plan_stages
from service.draws import DrawSetup, DrawSetupError, clean_witnesses, plan_for, rule_of, save_draft
from service.extensions import db, session
from service.forms import DrawSetupForm, EmptyForm
from service.labels import plan_rule_lines
from service.models import Draw
from service.operator import operator_blueprint as bp
from service.operator.loading import current_office, draw_or_404
from service.web import redirect_to

TAIPEI = ZoneInfo("Asia/Taipei")


@bp.route("/draws")
@role_required(*OPERATORS)
def draws() -> Any:
    """Every draw of the office, newest first."""
    rows = db.session.scalars(
        select(Draw).where(Draw.office_id == current_office().id).order_by(Draw.scheduled_at.desc())
    ).all()
    return render_template("operator/draws.html", draws=rows)


def _setup_from(form: DrawSetupForm) -> DrawSetup:
    """The setup of a form whose validators passed (so its required fields hold values: the
    `or` and the `cast` below only say so to mypy)."""
    comparison = parse_percent(form.comparison_percent.data or "2") if form.comparison.data else None
    scheduled_local = cast(datetime, form.scheduled_at.data)
    return DrawSetup(
        title=form.title.data or "",
        draw_id=(form.draw_id.data or "").strip(),
        roc_year=form.roc_year.data,
        rule=Rule(
            rate_bp=parse_percent(form.rate_percent.data or ""),
            rounding=form.rounding.data,
            grouping=form.grouping.data,
            comparison_rate_bp=comparison,
        ),
        dice_count=form.dice_count.data or None,
        use_drand=bool(form.use_drand.data),
        scheduled_at=scheduled_local.replace(tzinfo=TAIPEI).astimezone(ZoneInfo("UTC")),
        min_notice_hours=form.min_notice_hours.data or 0,
        witnesses=clean_witnesses(form.witnesses.data or ""),
        input_window_minutes=form.input_window_minutes.data or 0,
    )


def _form_for(draw: Draw | None) -> DrawSetupForm:
    form = DrawSetupForm(obj=None)
    office_years = years(session(), current_office())
    form.roc_year.choices = [SelectChoice(year, str(year)) for year in office_years]
    if draw is not None and request.method == "GET":
        form.title.data = draw.title
        form.draw_id.data = draw.draw_id
        form.roc_year.data = draw.roc_year
        form.rate_percent.data = _percent_text(draw.rate_bp)
        form.rounding.data = draw.rounding
        form.grouping.data = draw.grouping
        form.comparison.data = draw.comparison_rate_bp is not None
        form.comparison_percent.data = _percent_text(draw.comparison_rate_bp or 200)
        form.dice_count.data = draw.dice_count or 0
        form.use_drand.data = draw.use_drand
        form.scheduled_at.data = draw.scheduled_at.astimezone(TAIPEI).replace(tzinfo=None)
        form.min_notice_hours.data = draw.min_notice_hours
        form.input_window_minutes.data = draw.input_window_minutes
        form.witnesses.data = "\n".join(draw.witnesses)
    elif request.method == "GET" and office_years:
        form.roc_year.data = office_years[0]
        form.title.data = gettext("%(year)s asset-declaration substantive review draw", year=office_years[0])
        form.draw_id.data = _free_draw_id(f"{current_office().slug}-{office_years[0]}-annual")
    return form


def _free_draw_id(wanted: str) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`… when a draw already uses it."""
    candidate, number = wanted, 1
    while db.session.scalar(select(Draw.id).where(Draw.draw_id == candidate)) is not None:
        number += 1
        candidate = f"{wanted}-{number}"
    return candidate


def _edit(draw: Draw | None) -> Any:
    form = _form_for(draw)
    if not form.roc_year.choices:
        flash(gettext("Import the year's declarations before setting up a draw."), "error")
        return redirect_to("operator.upload")
    floor = settings_of(current_app).min_notice_hours
    if request.method == "GET" and draw is None:
        form.min_notice_hours.data = max(floor, form.min_notice_hours.data or 0)
    if form.validate_on_submit():
        try:
            if (form.min_notice_hours.data or 0) < floor:  # NumberRange has refused a missing number
                raise DrawSetupError(
                    gettext("This deployment requires at least %(hours)s hours of notice.", hours=floor)
                )
            saved = save_draft(
                session(), office=current_office(), user=current_user, setup=_setup_from(form), draw=draw
            )
        except (DrawSetupError, DrawRuleError) as exc:
            flash(str(exc), "error")
        else:
            flash(gettext("The draft is saved."), "ok")
            return redirect_to("operator.draw_detail", draw_id=saved.draw_id)
    status = 400 if request.method == "POST" else 200
    return render_template("operator/draw_form.html", form=form, draw=draw, notice_floor=floor), status


@bp.route("/draws/new", methods=["GET", "POST"])
@role_required(*OPERATORS)
def draw_new() -> Any:
    """Set up a new draft draw."""
    return _edit(None)


@bp.route("/draws/<draw_id:draw_id>/edit", methods=["GET", "POST"])
@role_required(*OPERATORS)
def draw_edit(draw_id: str) -> Any:
    """Change a draft."""
    draw = draw_or_404(draw_id)
    if draw.status != "draft":
        abort(409, description=gettext("Only a draft can be changed; this draw has been announced."))
    return _edit(draw)


@bp.route("/draws/<draw_id:draw_id>")
@role_required(*OPERATORS)
def draw_detail(draw_id: str) -> Any:
    """A draw's rule, quotas, schedule and witnesses."""
    draw = draw_or_404(draw_id)
    try:
        plan = plan_for(session(), current_office(), draw.roc_year, rule_of(draw))
        plan_error = None
    except DrawSetupError as exc:
        plan, plan_error = None, str(exc)
    hours = notice_hours(draw, settings_of(current_app))
    notice_ok = (draw.scheduled_at - clock.now()).total_seconds() >= hours * 3600
    return render_template(
        "operator/draw_detail.html",
        draw=draw,
        plan=plan,
        plan_error=plan_error,
        notice_ok=notice_ok,
        notice_hours=hours,
        form=EmptyForm(),
    )


@bp.route("/years/<year:roc_year>/quota")
@role_required(*OPERATORS)
def quota_preview(roc_year: int) -> Any:
    """JSON: the quotas a rule gives for the year's population (the setup page shows them live)."""
    try:
        comparison = request.args.get("comparison", "")
        rule = Rule(
            rate_bp=parse_percent(request.args.get("rate", "10")),
            rounding=request.args.get("rounding", "up"),
            grouping=request.args.get("grouping", "pooled"),
            comparison_rate_bp=parse_percent(comparison) if comparison else None,
        )
        plan = plan_stages(population_counts(session(), current_office(), roc_year), rule)
    except DrawRuleError as exc:
        return jsonify({"ok": False, "message": str(exc)})
    return jsonify(
        {
            "ok": True,
            "population": plan.population_size,
            "review": plan.review_total,
            "comparison": plan.comparison_total,
            "stages": [stage.to_json() for stage in plan.stages],
            "lines": [str(line) for line in plan_rule_lines(plan, rule)],
        }
    )


def _percent_text(basis_points: int) -> str:
    whole, rest = divmod(basis_points, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")
