"""Announcing and the live-draw console. Each POST is one step of `service.draw_lifecycle`."""

import json
import logging
from datetime import UTC, datetime
from typing import Any

from flask import abort, current_app, flash, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from lottery.drand import round_time
from service import clock
from service.abandoned import remember_beacon
from service.access import OPERATORS, role_required
from service.config import Settings, settings_of
from service.drand_client import BeaconProblem, FetchOutcome, fetch_round, parse_pasted
from service.draw_lifecycle import (
    AlreadyDone,
    DrawLifecycleError,
    abandon,
    advance_reveal,
    announce,
    complete,
    enter_dice,
    input_window_refusal,
    ready_to_complete,
    record_beacon,
    reveal_secret,
    secret_opens,
    start_live,
)
from service.extensions import db, session
from service.forms import AbandonForm, ConfirmDrawForm, EmptyForm
from service.keystore import KeyUnavailable
from service.operator import operator_blueprint as bp
from service.operator.drand_panel import drand_panel, pasted_sentence, relay_sentence, remember_failure
from service.operator.loading import draw_or_404
from service.qr import qr_svg
from service.reviews import review_cases_of
from service.web import redirect_to
from service.witnesses import confirmations

log = logging.getLogger(__name__)
MAX_FIELD = 2000


def _run_step(draw_id: str, step: Any, success: str | None = None) -> Any:
    """Run one lifecycle step for the named draw; 409 when someone else already did it."""
    draw = draw_or_404(draw_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        step(draw.id)
    except AlreadyDone as exc:
        db.session.rollback()
        abort(409, description=str(exc))
    except (DrawLifecycleError, KeyUnavailable) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        if success:
            flash(success, "ok")
    return redirect_to("operator.console", draw_id=draw.draw_id)


def _unconfirmed(form: ConfirmDrawForm, back: str, draw_id: str) -> Any:
    """None when an irreversible step is confirmed; else the way back with the reason (400 without a CSRF token)."""
    if form.validate_on_submit():
        return None
    if "csrf_token" in form.errors:
        abort(400)
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "error")
    return redirect_to(back, draw_id=draw_id)


def _fetch(settings: Settings, round_number: int) -> FetchOutcome:
    """Ask the configured relays (through the proxy, if any) for a round, on the draw clock."""
    return fetch_round(
        settings.drand_relays,
        round_number,
        settings.drand_timeout_seconds,
        clock.now().timestamp(),
        settings.drand_proxy,
    )


def _text(name: str) -> str:
    value = request.form.get(name, "")
    if len(value) > MAX_FIELD:
        abort(400, description=gettext("The value is too long."))
    return value


@bp.route("/draws/<draw_id:draw_id>/announce", methods=["POST"])
@role_required(*OPERATORS)
def draw_announce(draw_id: str) -> Any:
    """Announce a draft: freeze, seal, sign, log — once its identifier is typed back."""
    settings = settings_of(current_app)
    refused = _unconfirmed(ConfirmDrawForm(draw_id=draw_or_404(draw_id).draw_id), "operator.draw_detail", draw_id)
    if refused is not None:
        return refused
    return _run_step(
        draw_id,
        lambda pk: announce(session(), settings, pk, current_user, clock.now()),
        gettext("The draw is announced: the population is frozen and the commitment is published."),
    )


@bp.route("/draws/<draw_id:draw_id>/console")
@role_required(*OPERATORS)
def console(draw_id: str) -> Any:
    """The live-draw console."""
    draw = draw_or_404(draw_id)
    result = json.loads(draw.result) if draw.result else None
    selected = [s for stage in result["stages"] for s in stage["selected"]] if result else []
    secret_lost = (
        draw.status == "announced" and draw.revealed_secret is None and not secret_opens(draw, settings_of(current_app))
    )
    now = clock.now()
    refusal = input_window_refusal(draw, now) if draw.inputs_close_at is not None else None
    window = "open" if refusal is None else ("before" if now < draw.scheduled_at else "closed")
    missing_input = draw.revealed_secret is None or (draw.dice_count is not None and draw.dice is None)
    beacon_at = datetime.fromtimestamp(round_time(draw.drand_round), UTC) if draw.drand_round else None
    return render_template(
        "operator/console.html",
        draw=draw,
        form=EmptyForm(),
        result=result,
        total_selected=len(selected),
        ready=ready_to_complete(draw),
        secret_lost=secret_lost,
        now=now,
        window=window,
        missing_input=missing_input,
        beacon_at=beacon_at,
        confirmations=confirmations(session(), draw),
        witness_url=url_for("witness.confirm_page", draw_id=draw.draw_id, _external=True),
        qr_svg=qr_svg,
        drand=drand_panel(draw, settings_of(current_app)),
        review_cases=review_cases_of(session(), draw) if draw.status == "completed" else None,
    )


@bp.route("/draws/<draw_id:draw_id>/live/start", methods=["POST"])
@role_required(*OPERATORS)
def live_start(draw_id: str) -> Any:
    """Show the frozen population and rule on the stage display."""
    return _run_step(draw_id, lambda pk: start_live(session(), pk, clock.now()))


@bp.route("/draws/<draw_id:draw_id>/live/dice", methods=["POST"])
@role_required(*OPERATORS)
def live_dice(draw_id: str) -> Any:
    """Record the dice as rolled."""
    dice = _text("dice").strip()
    settings = settings_of(current_app)
    return _run_step(
        draw_id,
        lambda pk: enter_dice(session(), settings, pk, dice, clock.now()),
        gettext("Dice recorded and published in the log."),
    )


def _finish_if_ready(draw_pk: int) -> None:
    """Inputs are committed first, then the result is computed: a crash in between is redone identically."""
    from service.models import Draw

    db.session.commit()
    draw = db.session.get(Draw, draw_pk)
    if draw is not None and ready_to_complete(draw):
        complete(session(), settings_of(current_app), draw_pk, clock.now(), current_user)


@bp.route("/draws/<draw_id:draw_id>/live/secret", methods=["POST"])
@role_required(*OPERATORS)
def live_secret(draw_id: str) -> Any:
    """Reveal the sealed secret (checked against the commitment)."""
    settings = settings_of(current_app)

    def step(pk: int) -> None:
        reveal_secret(session(), settings, pk, clock.now())
        _finish_if_ready(pk)

    return _run_step(draw_id, step, gettext("The secret is revealed and matches the commitment."))


@bp.route("/draws/<draw_id:draw_id>/live/drand", methods=["POST"])
@role_required(*OPERATORS)
def live_drand(draw_id: str) -> Any:
    """Fetch the announced drand round from the relays (through the proxy, if set), or take the
    round's JSON pasted whole when this network cannot reach them. A failure is shown on the
    console itself, in words, with the round's URLs and a QR code for a phone."""
    settings = settings_of(current_app)
    pasted = _text("beacon").strip()
    draw = draw_or_404(draw_id)
    if draw.drand_round is None:
        flash(gettext("This draw uses no drand round."), "error")
        return redirect_to("operator.console", draw_id=draw_id)
    if pasted:
        try:
            beacon = parse_pasted(pasted, draw.drand_round)
        except BeaconProblem as exc:
            log.info("draw %s: pasted drand round refused: %s", draw.draw_id, exc)
            remember_failure([pasted_sentence(exc.kind, draw.drand_round)], pasted)
            return console(draw_id)
    else:
        outcome = _fetch(settings, draw.drand_round)
        if outcome.beacon is None:
            if outcome.not_yet and not any(p.kind not in ("not-yet",) for p in outcome.problems):
                wait = max(0, int(outcome.available_at - clock.now().timestamp()))
                flash(
                    gettext(
                        "Round %(round)s is not out yet (about %(seconds)s s). Ask again in a moment.",
                        round=draw.drand_round,
                        seconds=wait,
                    ),
                    "info",
                )
                return redirect_to("operator.console", draw_id=draw_id)
            log.warning("draw %s: no relay gave round %s: %s", draw.draw_id, draw.drand_round, outcome.failures)
            remember_failure([relay_sentence(p, draw.drand_round, settings) for p in outcome.problems])
            return console(draw_id)
        beacon = outcome.beacon

    def step(pk: int) -> None:
        record_beacon(session(), settings, pk, beacon, clock.now())
        _finish_if_ready(pk)

    return _run_step(draw_id, step, gettext("The drand round is verified and the result is published."))


@bp.route("/draws/<draw_id:draw_id>/live/complete", methods=["POST"])
@role_required(*OPERATORS)
def live_complete(draw_id: str) -> Any:
    """Compute and publish the result from the recorded inputs (again after an interruption)."""
    settings = settings_of(current_app)
    return _run_step(
        draw_id,
        lambda pk: complete(session(), settings, pk, clock.now(), current_user),
        gettext("The result is published."),
    )


@bp.route("/draws/<draw_id:draw_id>/live/reveal", methods=["POST"])
@role_required(*OPERATORS)
def live_reveal(draw_id: str) -> Any:
    """Reveal the next selection (or all) on the stage display."""
    draw = draw_or_404(draw_id)
    count = 10**9 if request.form.get("all") else draw.revealed_count + 1
    return _run_step(draw_id, lambda pk: advance_reveal(session(), pk, count))


@bp.route("/draws/<draw_id:draw_id>/abandon", methods=["POST"])
@role_required(*OPERATORS)
def draw_abandon(draw_id: str) -> Any:
    """Abandon an announced draw, with a published reason — once its identifier is typed back."""
    settings = settings_of(current_app)
    form = AbandonForm(draw_id=draw_or_404(draw_id).draw_id)
    refused = _unconfirmed(form, "operator.console", draw_id)
    if refused is not None:
        return refused
    reason = form.reason.data or ""
    return _run_step(
        draw_id,
        lambda pk: abandon(session(), settings, pk, reason, clock.now()),
        gettext("The draw is abandoned; the reason is in the public log."),
    )


@bp.route("/draws/<draw_id:draw_id>/abandoned/beacon", methods=["POST"])
@role_required(*OPERATORS)
def abandoned_beacon(draw_id: str) -> Any:
    """Fetch an abandoned draw's announced round once it is out, so its public page can show
    what the draw would have selected (protocol §5: abandoning hides nothing)."""
    settings = settings_of(current_app)
    draw = draw_or_404(draw_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if draw.status != "abandoned" or draw.drand_round is None:
        abort(409, description=gettext("Only an abandoned draw with a drand round needs this."))
    outcome = _fetch(settings, draw.drand_round)
    if outcome.beacon is None:
        flash(gettext("Round %(round)s could not be fetched yet; try again later.", round=draw.drand_round), "error")
    else:
        remember_beacon(session(), outcome.beacon, clock.now())
        flash(gettext("The round is verified; the public page now shows what the draw would have selected."), "ok")
    return redirect_to("operator.console", draw_id=draw.draw_id)
