"""Witnesses: who is which announced witness, and their own confirmations (docs/architecture.md "Who uses it").

The operator types the draft's witnesses as people write them ("澎湖縣政府主計處 王大明", or just
"王大明"). Each line must name exactly one active `witness` user of the office — the user whose
display name the line contains, or whose own name (the display name's last part) the line ends
with while being a tail of the display name, or whose display name or username is the whole line
(after normalising full-width characters and spaces). The witness types nothing: they confirm
with one button from their own sign-in. Saving the draft checks this; the announcement checks it again and stores the
mapping (`DrawWitness`, append-only), so who may confirm is fixed with the announcement.

A witness confirms a completed draw from their own sign-in: `confirm` writes the log event
`{"type": "draw.witness_confirmed", "time", "draw_id", "witness"}` (protocol §10; `witness` is the
name as announced) and an append-only `DrawWitnessConfirmation` row, in one transaction. Nobody
can confirm for someone else: there is no parameter naming the witness, only the signed-in user.
"""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.keystore import current_signer
from service.models import Draw, DrawWitness, DrawWitnessConfirmation, User, utcnow
from service.transparency import event_time, record


class WitnessError(ValueError):
    """A witness line or a confirmation is refused; the message names the line or the reason."""


class AlreadyConfirmed(WitnessError):
    """This witness has already confirmed this draw."""


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), case folded, every kind of space removed."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def witness_users(session: Session, office_id: int) -> list[User]:
    """The office's active witness accounts."""
    query = select(User).where(User.office_id == office_id, User.role == "witness", User.active.is_(True))
    return list(session.scalars(query.order_by(User.id)))


def personal_name(display_name: str) -> str:
    """The person's own name in a display name written as people write them: its last part after a
    space of any width ("澎湖縣政府主計處　王大明" → "王大明"); the whole name when it has one part."""
    parts = unicodedata.normalize("NFKC", display_name).split()
    return normalise(parts[-1]) if parts else ""


def names(line: str, user: User) -> bool:
    """Whether a witness line names this user, as people write names.

    The line may be the account's whole display name, or a tail of it that holds the person's
    own name (so "王大明" or "主計處 王大明" for the account "澎湖縣政府主計處 王大明"), or hold the
    whole display name with more around it ("澎湖縣政府主計處 王大明" for the account "王大明").
    Full-width and half-width characters and every kind of space count alike.
    """
    wanted, full, own = normalise(line), normalise(user.display_name), personal_name(user.display_name)
    if not wanted or not full:
        return False
    return full in wanted or (bool(own) and wanted.endswith(own) and full.endswith(wanted))


def match_line(line: str, candidates: Sequence[User]) -> User:
    """The one witness user a line names; refuses a line naming nobody or more than one person."""
    wanted = normalise(line)
    exact = [u for u in candidates if wanted in (normalise(u.display_name), normalise(u.username))]
    if len(exact) == 1:
        return exact[0]
    found = exact or [u for u in candidates if names(line, u)]
    if not found:
        raise WitnessError(
            _l(
                "The witness “%(line)s” matches no witness account of this office: the admin creates one "
                "(role witness) whose name appears in the line.",
                line=line,
            )
        )
    if len(found) > 1:
        raise WitnessError(
            _l(
                "The witness “%(line)s” matches more than one witness account (%(names)s): write the line "
                "so that it names one person.",
                line=line,
                names="、".join(u.display_name for u in found),
            )
        )
    return found[0]


def match_witnesses(session: Session, office_id: int, lines: Sequence[str]) -> list[tuple[str, User]]:
    """Each line with the user it names; refuses an unmatched or ambiguous line or one person named twice."""
    candidates = witness_users(session, office_id)
    matched: list[tuple[str, User]] = []
    for line in lines:
        user = match_line(line, candidates)
        twice = next((earlier for earlier, other in matched if other.id == user.id), None)
        if twice is not None:
            raise WitnessError(_l("“%(first)s” and “%(second)s” name the same person.", first=twice, second=line))
        matched.append((line, user))
    return matched


def bind_witnesses(session: Session, draw: Draw) -> list[DrawWitness]:
    """At the announcement: store which user is which announced witness (append-only from then on)."""
    rows = [
        DrawWitness(draw_pk=draw.id, position=number, name=line, user_id=user.id)
        for number, (line, user) in enumerate(match_witnesses(session, draw.office_id, draw.witnesses), start=1)
    ]
    session.add_all(rows)
    session.flush()
    return rows


@dataclass(frozen=True)
class Confirmation:
    """A confirmation as the pages show it."""

    name: str
    at: datetime
    log_index: int | None
    #: True for a name the operator typed before v2 (`draw.witness_confirmations`): no log event,
    #: no sign-in behind it.
    by_operator: bool = False

    def to_json(self) -> dict[str, object]:
        """The public form (live.json)."""
        value: dict[str, object] = {"name": self.name, "at": event_time(self.at)}
        if self.by_operator:
            value["recorded_by"] = "operator"
        else:
            value["log_index"] = self.log_index
        return value


def confirmations(session: Session, draw: Draw) -> list[Confirmation]:
    """The draw's confirmations: the witnesses' own, and any the operator typed before v2."""
    rows = session.scalars(
        select(DrawWitnessConfirmation)
        .where(DrawWitnessConfirmation.draw_pk == draw.id)
        .order_by(DrawWitnessConfirmation.log_index)
    )
    found = [Confirmation(row.witness, row.confirmed_at, row.log_index) for row in rows]
    for old in draw.witness_confirmations or []:
        try:
            at = datetime.fromisoformat(str(old.get("at", "")).replace("Z", "+00:00"))
        except ValueError:
            continue
        found.append(Confirmation(str(old.get("name", "")), at, None, by_operator=True))
    return found


def draws_of_witness(session: Session, user: User) -> list[tuple[Draw, DrawWitness]]:
    """The draws this user is an announced witness of, newest first."""
    query = (
        select(Draw, DrawWitness)
        .join(DrawWitness, DrawWitness.draw_pk == Draw.id)
        .where(DrawWitness.user_id == user.id, Draw.office_id == user.office_id)
        .order_by(Draw.scheduled_at.desc())
    )
    return [(draw, named) for draw, named in session.execute(query).all()]


def named_witness(session: Session, draw: Draw, user: User) -> DrawWitness | None:
    """The announced witness this user is on this draw, if any."""
    return session.scalar(select(DrawWitness).where(DrawWitness.draw_pk == draw.id, DrawWitness.user_id == user.id))


def confirmation_of(session: Session, draw: Draw, name: str) -> DrawWitnessConfirmation | None:
    """The confirmation of the witness announced as `name`, if given."""
    return session.scalar(
        select(DrawWitnessConfirmation).where(
            DrawWitnessConfirmation.draw_pk == draw.id, DrawWitnessConfirmation.witness == name
        )
    )


def confirm(
    session: Session, settings: Settings, draw_pk: int, user: User, now: datetime | None = None
) -> DrawWitnessConfirmation:
    """The signed-in `user` confirms the completed draw they are named on: log event and row, one transaction."""
    from service.draw_lifecycle import lock_draw

    now = now or utcnow()
    draw = lock_draw(session, draw_pk)
    if user.role != "witness" or not user.active or user.office_id != draw.office_id:
        raise WitnessError(_l("Only a witness named on this draw can confirm it."))
    named = named_witness(session, draw, user)
    if named is None:
        raise WitnessError(_l("Only a witness named on this draw can confirm it."))
    if draw.status != "completed":
        raise WitnessError(_l("The result is not published yet: confirm once the draw is completed."))
    if confirmation_of(session, draw, named.name) is not None:
        raise AlreadyConfirmed(_l("You have already confirmed this draw."))
    [index] = record(
        session,
        [current_signer(session, settings)],
        [{"type": "draw.witness_confirmed", "time": event_time(now), "draw_id": draw.draw_id, "witness": named.name}],
    )
    row = DrawWitnessConfirmation(
        draw_pk=draw.id, user_id=user.id, witness=named.name, log_index=index, confirmed_at=now.replace(microsecond=0)
    )
    session.add(row)
    session.flush()
    return row
