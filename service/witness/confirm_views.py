"""The witness's own draws and the confirmation of a completed one (blueprint `witness`)."""

import json
from typing import Any

from flask import abort, current_app, flash, render_template
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from service.access import role_required
from service.config import settings_of
from service.draw_lifecycle import DrawLifecycleError
from service.extensions import db, session
from service.forms import EmptyForm
from service.keystore import KeyUnavailable
from service.models import Draw, DrawWitness
from service.web import redirect_to
from service.witness import witness_blueprint
from service.witnesses import AlreadyConfirmed, WitnessError, confirm, confirmation_of, draws_of_witness, named_witness


def _named_draw_or_404(draw_id: str) -> tuple[Draw, DrawWitness]:
    draw = db.session.scalar(select(Draw).where(Draw.draw_id == draw_id, Draw.office_id == current_user.office_id))
    named = named_witness(session(), draw, current_user) if draw is not None else None
    if draw is None or named is None:
        abort(404)
    return draw, named


@witness_blueprint.route("/")
@role_required("witness")
def dashboard() -> Any:
    """The draws the signed-in witness is named on, and whether they confirmed each."""
    rows = [
        (draw, named, confirmation_of(session(), draw, named.name))
        for draw, named in draws_of_witness(session(), current_user)
    ]
    return render_template("witness/dashboard.html", rows=rows)


@witness_blueprint.route("/draws/<draw_id:draw_id>", methods=["GET", "POST"])
@role_required("witness")
def confirm_page(draw_id: str) -> Any:
    """One draw's result summary and a single button: confirm it, as yourself."""
    draw, named = _named_draw_or_404(draw_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            confirm(session(), settings_of(current_app), draw.id, current_user)
        except AlreadyConfirmed as exc:
            db.session.rollback()
            flash(str(exc), "info")
        except (WitnessError, DrawLifecycleError, KeyUnavailable) as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(gettext("Thank you: your confirmation is recorded in the public log."), "ok")
        return redirect_to("witness.confirm_page", draw_id=draw.draw_id)
    result = json.loads(draw.result) if draw.result else None
    return render_template(
        "witness/confirm.html",
        draw=draw,
        named=named,
        form=form,
        result=result,
        confirmation=confirmation_of(session(), draw, named.name),
    )
