"""Draws: setting up a draft (rule, schedule, witnesses). Announcing and running come later."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from lottery.population import ID_PATTERN
from service.declarations import population_counts
from service.draw_rules import DrawRuleError, Plan, Rule, plan_stages
from service.models import Draw, Office, User, utcnow
from service.witnesses import WitnessError, match_witnesses

MAX_WITNESSES = 20
#: The input window (protocol §4: `inputs_close_at <= scheduled_at + 2 h`), in minutes.
MIN_INPUT_WINDOW, MAX_INPUT_WINDOW = 1, 120


class DrawSetupError(ValueError):
    """The draft cannot be saved as asked; the message says what to change."""


@dataclass(frozen=True)
class DrawSetup:
    """What the operator chooses for a draft draw."""

    title: str
    draw_id: str
    roc_year: int
    rule: Rule
    dice_count: int | None
    use_drand: bool
    scheduled_at: datetime
    min_notice_hours: int
    witnesses: tuple[str, ...]
    #: Minutes after the start during which dice and the secret are accepted (protocol §4–§5).
    input_window_minutes: int = 20


def clean_witnesses(text: str) -> tuple[str, ...]:
    """One witness per line; blank lines dropped; each name at most 100 characters."""
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if len(names) > MAX_WITNESSES:
        raise DrawSetupError(_l("At most %(count)s witnesses.", count=MAX_WITNESSES))
    if any(len(name) > 100 for name in names):
        raise DrawSetupError(_l("A witness name is longer than 100 characters."))
    return names


def plan_for(session: Session, office: Office, roc_year: int, rule: Rule) -> Plan:
    """The stages a rule gives for the office's population of that year."""
    try:
        return plan_stages(population_counts(session, office, roc_year), rule)
    except DrawRuleError as exc:
        raise DrawSetupError(exc.args[0]) from None


def draw_id_prefix(office: Office) -> str:
    """The office's namespace of draw ids: its slug and a dash (`kinmen-114-annual`)."""
    return f"{office.slug}-"


def check_draw_id(session: Session, office: Office, draw_id: str, draw: Draw | None) -> None:
    """Refuse a draw id that is malformed, outside the office's namespace, or taken.

    Every office names its draws inside its own namespace (`<slug>-…`), so the only draws a new
    id can clash with are the office's own (or, before this rule, published ones): the "already
    used" answer never tells one office the id of another office's unpublished draft. A draft
    saved before the rule keeps its id while it is edited unchanged.
    """
    if not ID_PATTERN.fullmatch(draw_id):
        raise DrawSetupError(
            _l("The public identifier may use letters, digits, dot, dash and underscore (at most 64).")
        )
    if draw is None or draw.draw_id != draw_id:
        prefix = draw_id_prefix(office)
        if not draw_id.startswith(prefix) or draw_id == prefix:
            raise DrawSetupError(
                _l("The public identifier must begin with %(prefix)s, this office's own prefix.", prefix=prefix)
            )
        # An office whose slug extends this one's (`kinmen-north` for `kinmen`) owns that part of the
        # namespace: refused by the slug alone, whatever drafts exist.
        for slug in session.scalars(select(Office.slug).where(Office.id != office.id)):
            if draw_id.startswith(f"{slug}-"):
                raise DrawSetupError(
                    _l(
                        "The public identifier may not begin with %(prefix)s, another office's prefix.",
                        prefix=f"{slug}-",
                    )
                )
    clash = session.scalar(select(Draw).where(Draw.draw_id == draw_id))
    if clash is not None and clash is not draw:
        raise DrawSetupError(_l("The identifier %(id)s is already used by another draw.", id=draw_id))


def save_draft(
    session: Session,
    *,
    office: Office,
    user: User,
    setup: DrawSetup,
    draw: Draw | None = None,
    now: datetime | None = None,
) -> Draw:
    """Create a draft draw, or update one that is still a draft; refuse anything invalid.

    `now` is the present (the demo sets up a draw at a recorded past moment).
    """
    if draw is not None and draw.status != "draft":
        raise DrawSetupError(_l("Only a draft can be changed; this draw has been announced."))
    check_draw_id(session, office, setup.draw_id, draw)
    if setup.dice_count is None and not setup.use_drand:
        raise DrawSetupError(_l("Use dice, drand or both: a draw needs public randomness besides the sealed secret."))
    if setup.scheduled_at.tzinfo is None:
        raise DrawSetupError(_l("The draw time needs a time zone."))
    if setup.scheduled_at <= (now or utcnow()):
        raise DrawSetupError(_l("The draw time must be in the future."))
    if not MIN_INPUT_WINDOW <= setup.input_window_minutes <= MAX_INPUT_WINDOW:
        raise DrawSetupError(
            _l(
                "The input window must be %(low)s to %(high)s minutes.",
                low=MIN_INPUT_WINDOW,
                high=MAX_INPUT_WINDOW,
            )
        )
    plan_for(session, office, setup.roc_year, setup.rule)  # refuses an empty year or a quota below 5%
    try:
        match_witnesses(session, office.id, setup.witnesses)  # each line names one witness account
    except WitnessError as exc:
        raise DrawSetupError(exc.args[0]) from None
    if draw is None:
        draw = Draw(office_id=office.id, created_by_id=user.id)
        session.add(draw)
    draw.title = setup.title.strip()
    draw.draw_id = setup.draw_id
    draw.roc_year = setup.roc_year
    draw.rate_bp = setup.rule.rate_bp
    draw.rounding = setup.rule.rounding
    draw.grouping = setup.rule.grouping
    draw.comparison_rate_bp = setup.rule.comparison_rate_bp
    draw.dice_count = setup.dice_count
    draw.use_drand = setup.use_drand
    draw.scheduled_at = setup.scheduled_at
    draw.min_notice_hours = setup.min_notice_hours
    draw.input_window_minutes = setup.input_window_minutes
    draw.witnesses = list(setup.witnesses)
    session.flush()
    return draw


def rule_of(draw: Draw) -> Rule:
    """The rule a draw was set up with."""
    return Rule(draw.rate_bp, draw.rounding, draw.grouping, draw.comparison_rate_bp)
