"""Announce, run live and publish a draw — each step one transaction, each refusal named.

The steps follow protocol §4–§8 and docs/architecture.md "Flow of one draw":
announce → (live) enter dice → reveal the secret → record the drand round → complete; each
witness then confirms from their own sign-in (`service.witnesses`).
Every input is stored in its own step before the result is computed, and `drawn_at` is fixed
with the last input, so completing again after a crash computes the identical bytes. The row is
locked (PostgreSQL `FOR UPDATE`, SQLite's write lock) and each step checks the state it needs,
so two consoles or two processes cannot both complete a draw: the loser gets `AlreadyDone`.
"""

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from lottery.announcement import build_announcement, parse_announcement
from lottery.canonical import canonical_json, digest
from lottery.drand import Beacon, round_time
from lottery.draw import check_dice
from lottery.engine import run_draw_from_file
from lottery.errors import ProtocolError
from lottery.population import Population, parse_population
from lottery.signing import Signer, sign_document
from lottery.timestamps import format_timestamp
from service import clock
from service.abandoned import remember_beacon
from service.bindings import freeze_bindings
from service.config import Settings
from service.declarations import population_file
from service.draw_record import inputs_of as inputs_of
from service.draw_record import parse_json as parse_json
from service.draw_record import ready_to_complete as ready_to_complete
from service.draw_record import recorded_inputs as recorded_inputs
from service.draw_record import secret_opens as secret_opens
from service.draw_rules import DrawRuleError, Plan
from service.draws import plan_for, rule_of
from service.i18n import taipei_time
from service.keystore import current_signer, signer_for
from service.models import Draw, Office, SigningKey, User
from service.reviews import ReviewError, open_on_completion
from service.sealing import SecretLost, new_secret, seal_secret, unseal_secret
from service.transparency import event_time, log_size, record
from service.witnesses import WitnessError, bind_witnesses

log = logging.getLogger(__name__)
TAIPEI = ZoneInfo("Asia/Taipei")


class DrawLifecycleError(ValueError):
    """This step cannot be taken now; the message says why and what to do."""


class AlreadyDone(DrawLifecycleError):
    """Someone else already took this step (HTTP 409)."""


def lock_draw(session: Session, draw_pk: int) -> Draw:
    """Reload the draw row under a write lock for the rest of the transaction."""
    # The frozen population and the result (tens of MB for a million entries) are read only by
    # the steps that use them.
    draw = session.scalar(
        select(Draw)
        .where(Draw.id == draw_pk)
        .options(defer(Draw.population_tsv), defer(Draw.result))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if draw is None:
        raise DrawLifecycleError(_l("This draw no longer exists."))
    return draw


def _require(draw: Draw, status: str) -> None:
    if draw.status != status:
        if draw.status in ("completed", "abandoned") or (status == "draft" and draw.status == "announced"):
            raise AlreadyDone(_l("This draw is already %(status)s.", status=draw.status))
        raise DrawLifecycleError(_l("This step needs a draw that is %(status)s.", status=status))


def notice_hours(draw: Draw, settings: Settings) -> int:
    """The notice this draw needs: its own choice, never less than the deployment's minimum."""
    return max(draw.min_notice_hours, settings.min_notice_hours)


def announce(
    session: Session,
    settings: Settings,
    draw_pk: int,
    user: User,
    now: datetime | None = None,
    drand_round: int | None = None,
) -> Draw:
    """Freeze the population, seal a fresh secret, sign and log the announcement.

    The input window closes `input_window_minutes` after `scheduled_at`, and the drand round is
    the first at least 30 s after that (protocol §4), so every input a person types is public before
    the beacon exists. `drand_round` may name a later round (the demo reuses a recorded one).
    """
    now = now or clock.now()
    draw = lock_draw(session, draw_pk)
    _require(draw, "draft")
    _require_notice(draw, settings, now)
    inputs_close_at = draw.scheduled_at + timedelta(minutes=draw.input_window_minutes)
    office = session.get(Office, draw.office_id)
    if office is None:
        raise DrawLifecycleError(_l("This draw no longer exists."))
    try:
        plan = plan_for(session, office, draw.roc_year, rule_of(draw))
    except (DrawRuleError, ValueError) as exc:
        raise DrawLifecycleError(exc.args[0]) from None
    population = parse_population(population_file(session, office, draw.roc_year))
    bindings = freeze_bindings(session, settings, draw, population)
    signer = current_signer(session, settings)
    secret = new_secret()
    sealed, committed = seal_secret(secret, draw_id=draw.draw_id, deployment_secret=settings.secret_key)
    document = _announcement_document(
        draw, office, population, plan, committed, now, inputs_close_at, drand_round, bindings.digest
    )
    data = canonical_json(document)
    next_index = log_size(session)  # before any change: the fixed fields are written in one UPDATE
    draw.population_tsv = population.data
    draw.population_digest = population.digest
    draw.bindings_tsv, draw.bindings_digest, draw.sealed_salts = bindings.data, bindings.digest, bindings.sealed_salts
    draw.announcement = data
    draw.announcement_sig = sign_document(signer, data).decode("ascii")
    draw.announcement_digest = digest(document)
    draw.sealed_secret = sealed
    draw.commitment = committed
    draw.drand_round = document["entropy"].get("drand", {}).get("round")
    draw.signing_key_id = signer.verifier.key_id.hex()
    draw.announced_at = now
    draw.inputs_close_at = inputs_close_at
    draw.announced_by_id = user.id
    draw.status = "announced"
    draw.announced_log_index = next_index
    session.flush()
    try:
        bind_witnesses(session, draw)  # which user is which announced witness, fixed from now on
    except WitnessError as exc:
        raise DrawLifecycleError(exc.args[0]) from None
    _log_announced(session, signer, draw, population.digest, now)
    return draw


def _log_announced(session: Session, signer: Signer, draw: Draw, population_digest: str, now: datetime) -> None:
    """Append `draw.announced` (protocol §10) to the transparency log."""
    record(
        session,
        [signer],
        [
            {
                "type": "draw.announced",
                "time": format_timestamp(now),
                "draw_id": draw.draw_id,
                "announcement_digest": draw.announcement_digest,
                "population_digest": population_digest,
            }
        ],
    )


def _require_notice(draw: Draw, settings: Settings, now: datetime) -> None:
    """Refuse an announcement that gives less notice than the draw needs (`notice_hours`)."""
    hours = notice_hours(draw, settings)
    if draw.scheduled_at - now < timedelta(hours=hours):
        raise DrawLifecycleError(
            _l(
                "The draw must be announced at least %(hours)s hours before it happens; choose a later time.",
                hours=hours,
            )
        )


def _announcement_document(
    draw: Draw,
    office: Office,
    population: Population,
    plan: Plan,
    committed: str,
    announced_at: datetime,
    inputs_close_at: datetime,
    drand_round: int | None,
    bindings_digest: str | None,
) -> dict[str, Any]:
    """The announcement of `draw` (protocol §4), with its rule and witnesses as descriptive fields."""
    return build_announcement(
        draw_id=draw.draw_id,
        title=draw.title,
        office=office.name,
        population=population,
        stages=list(plan.stages),
        commitment=committed,
        dice_count=draw.dice_count,
        use_drand=draw.use_drand,
        scheduled_at=draw.scheduled_at,
        announced_at=announced_at,
        inputs_close_at=inputs_close_at,
        drand_round=drand_round,
        bindings_digest=bindings_digest,
        extra={
            "year": draw.roc_year,
            "rule": {
                "rate_basis_points": draw.rate_bp,
                "rounding": draw.rounding,
                "grouping": draw.grouping,
                "comparison_rate_basis_points": draw.comparison_rate_bp,
                "derivation": list(plan.explanation),
            },
            "witnesses": list(draw.witnesses),
        },
    )


def start_live(session: Session, draw_pk: int, now: datetime | None = None) -> Draw:
    """Put the stage display on the live draw (nothing secret is shown)."""
    draw = lock_draw(session, draw_pk)
    _require(draw, "announced")
    if draw.live_started_at is None:
        draw.live_started_at = now or clock.now()
    return draw


def _taipei(moment: datetime) -> str:
    return taipei_time(moment, "seconds")


def input_window_refusal(draw: Draw, now: datetime) -> str | None:
    """Why dice or the secret cannot be entered at `now` (protocol §5), or None while the window is open."""
    if now < draw.scheduled_at:
        return str(
            _l(
                "Inputs are accepted from the announced start, %(start)s (Taiwan time); it is %(now)s.",
                start=_taipei(draw.scheduled_at),
                now=_taipei(now),
            )
        )
    if draw.inputs_close_at is not None and now >= draw.inputs_close_at:
        return str(
            _l(
                "The input window closed at %(close)s (Taiwan time). A draw missing dice or its secret can only "
                "be abandoned, with everything it had published.",
                close=_taipei(draw.inputs_close_at),
            )
        )
    return None


def _require_window(draw: Draw, now: datetime) -> None:
    refusal = input_window_refusal(draw, now)
    if refusal is not None:
        raise DrawLifecycleError(refusal)


def _log_input(session: Session, settings: Settings, draw: Draw, name: str, value: Any, now: datetime) -> None:
    """Publish an accepted input in the log at once (protocol §5, §10 `draw.input`)."""
    record(
        session,
        [current_signer(session, settings)],
        [{"type": "draw.input", "time": format_timestamp(now), "draw_id": draw.draw_id, "name": name, "value": value}],
    )


def enter_dice(session: Session, settings: Settings, draw_pk: int, dice: str, now: datetime | None = None) -> Draw:
    """Record the dice as rolled on camera: exactly the announced number of digits 0–9."""
    now = now or clock.now()
    draw = lock_draw(session, draw_pk)
    _require(draw, "announced")
    if draw.dice_count is None:
        raise DrawLifecycleError(_l("This draw uses no dice."))
    if draw.dice is not None:
        raise AlreadyDone(_l("The dice were already entered: %(dice)s.", dice=draw.dice))
    _require_window(draw, now)
    try:
        check_dice(dice, draw.dice_count)
    except ProtocolError:
        raise DrawLifecycleError(
            _l(
                "Enter exactly %(count)s digits 0–9 as rolled, left to right, with no spaces "
                "(half-width digits only); you entered %(length)s characters.",
                count=draw.dice_count,
                length=len(dice),
            )
        ) from None
    draw.live_started_at = draw.live_started_at or now
    draw.dice = dice
    draw.dice_entered_at = now
    session.flush()
    _log_input(session, settings, draw, "dice", dice, now)
    return draw


def reveal_secret(session: Session, settings: Settings, draw_pk: int, now: datetime | None = None) -> Draw:
    """Unseal the secret and check it against the published commitment (after the dice)."""
    now = now or clock.now()
    draw = lock_draw(session, draw_pk)
    _require(draw, "announced")
    if draw.revealed_secret is not None:
        raise AlreadyDone(_l("The secret was already revealed."))
    _require_window(draw, now)
    if draw.dice_count is not None and draw.dice is None:
        raise DrawLifecycleError(_l("Enter the dice first: the secret is revealed after the dice are rolled."))
    try:
        secret = unseal_secret(
            draw.sealed_secret or b"",
            draw_id=draw.draw_id,
            committed=draw.commitment or "",
            deployment_secret=settings.secret_key,
        )
    except SecretLost as exc:
        log.error("draw %s: the sealed secret cannot be opened: %s", draw.draw_id, exc)
        raise DrawLifecycleError(
            _l(
                "The sealed secret cannot be opened (%(reason)s). The draw cannot be completed honestly: "
                "abandon it with the reason and announce a new draw.",
                reason=str(exc),
            )
        ) from None
    draw.live_started_at = draw.live_started_at or now
    draw.revealed_secret = secret
    draw.secret_revealed_at = now
    if draw.drand_round is None:
        draw.drawn_at = draw.secret_revealed_at
    session.flush()
    _log_input(session, settings, draw, "secret", secret, now)
    return draw


def record_beacon(
    session: Session, settings: Settings, draw_pk: int, beacon: Beacon, now: datetime | None = None
) -> Draw:
    """Store the verified drand round (the caller verified it with `lottery`) and log it."""
    now = now or clock.now()
    draw = lock_draw(session, draw_pk)
    _require(draw, "announced")
    if draw.drand_beacon is not None:
        raise AlreadyDone(_l("The drand round was already recorded."))
    if draw.revealed_secret is None or (draw.dice_count is not None and draw.dice is None):
        raise DrawLifecycleError(_l("Enter the dice and reveal the secret before the drand round."))
    if beacon.round != draw.drand_round:
        raise DrawLifecycleError(
            _l("That is round %(got)s; this draw announced round %(want)s.", got=beacon.round, want=draw.drand_round)
        )
    if now.timestamp() < round_time(beacon.round):
        raise DrawLifecycleError(
            _l("Round %(round)s is not out yet by this server's clock; wait for it.", round=beacon.round)
        )
    draw.drand_beacon = beacon.to_json()
    draw.drawn_at = now
    remember_beacon(session, beacon, now)
    session.flush()
    _log_input(session, settings, draw, "drand", beacon.to_json(), now)
    return draw


def compute_result(draw: Draw) -> dict[str, Any]:
    """The result document from the stored frozen documents and recorded inputs (pure)."""
    if draw.population_tsv is None or draw.announcement is None or draw.drawn_at is None:
        raise DrawLifecycleError(_l("Not every input has been recorded yet."))
    announcement = parse_announcement(parse_json(draw.announcement))
    # From the file's bytes: a large population is read and hashed in slices, in parallel
    # where this process may fork (not in a threaded server worker; see lottery.draw).
    return run_draw_from_file(
        draw.population_tsv,
        announcement,
        inputs_of(draw),
        format_timestamp(draw.drawn_at),
        verify_bls=False,  # the beacon was verified when it was recorded
    )


def complete(
    session: Session, settings: Settings, draw_pk: int, now: datetime | None = None, actor: User | None = None
) -> Draw:
    """Compute, sign, store and log the result — exactly once per announcement — and open a
    review case for every selected entry, assigned in turn to the office's reviewers.

    One transaction: if the cases cannot be opened, nothing of the completion stays either
    (`service.reviews.open_on_completion`). The cases are logged at the completion's time, by
    `actor` — the user whose step completed the draw, else the one who announced it.
    """
    draw = lock_draw(session, draw_pk)
    if draw.result is not None:
        raise AlreadyDone(_l("The result was already published."))
    _require(draw, "announced")
    if draw.drawn_at is None:
        raise DrawLifecycleError(_l("Not every input has been recorded yet."))
    try:
        result = compute_result(draw)
    except ProtocolError as exc:
        raise DrawLifecycleError(_l("The draw was refused: %(reason)s", reason=str(exc))) from None
    opener = actor if actor is not None else session.get(User, draw.announced_by_id)
    if opener is None or opener.office_id != draw.office_id:
        raise DrawLifecycleError(_l("Only a user of the draw's office can complete it."))
    key = session.scalar(select(SigningKey).where(SigningKey.key_id == draw.signing_key_id))
    signer = signer_for(settings, key) if key is not None else current_signer(session, settings)
    data = canonical_json(result)
    next_index = log_size(session)
    draw.result = data
    draw.result_sig = sign_document(signer, data).decode("ascii")
    draw.result_digest = digest(result)
    draw.seed = result["seed"]
    draw.completed_at = now or clock.now()
    draw.status = "completed"
    draw.completed_log_index = next_index
    session.flush()
    record(
        session,
        [signer],
        [
            {
                "type": "draw.completed",
                "time": event_time(draw.completed_at),
                "draw_id": draw.draw_id,
                "result_digest": draw.result_digest,
            }
        ],
    )
    try:
        open_on_completion(session, settings, draw, result, opener, draw.completed_at)
    except ReviewError as exc:
        raise DrawLifecycleError(
            _l("The review cases could not be opened, so the draw was not completed: %(reason)s", reason=str(exc))
        ) from None
    return draw


def advance_reveal(session: Session, draw_pk: int, count: int) -> Draw:
    """Show `count` selections on the stage display (in ticket order)."""
    draw = lock_draw(session, draw_pk)
    _require(draw, "completed")
    total = sum(len(stage["selected"]) for stage in parse_json(draw.result or b"{}")["stages"])
    draw.revealed_count = max(draw.revealed_count, min(total, count))
    return draw


def abandon(session: Session, settings: Settings, draw_pk: int, reason: str, now: datetime | None = None) -> Draw:
    """Abandon an announced draw, publicly, with a reason and everything it had (protocol §5).

    The log entry carries the inputs recorded so far and the secret whenever it can be unsealed,
    so once the beacon is out anyone can compute what the draw would have selected: abandoning
    hides nothing. A new draw needs a new announcement with the full notice.
    """
    now = now or clock.now()
    draw = lock_draw(session, draw_pk)
    _require(draw, "announced")
    reason = " ".join(reason.split())
    if len(reason) < 4:
        raise DrawLifecycleError(_l("Give the reason for abandoning the draw; it is published."))
    inputs = recorded_inputs(draw, settings)
    draw.status = "abandoned"
    draw.abandoned_reason = reason[:1000]
    draw.abandoned_at = now
    session.flush()
    record(
        session,
        [current_signer(session, settings)],
        [
            {
                "type": "draw.abandoned",
                "time": format_timestamp(now),
                "draw_id": draw.draw_id,
                "reason": draw.abandoned_reason,
                "inputs": inputs,
            }
        ],
    )
    return draw
