"""What an abandoned draw published, and what it would have selected (protocol §5).

`draw.abandoned` carries every input recorded before the abandonment, the secret included
whenever it could be unsealed. Once every announced source is known — the drand round is public
once it is out, whether or not the console recorded it — anyone can run the same engine on the
frozen population and the announcement. The public page does so and marks the outcome as not
binding: abandoning a draw whose result displeased someone would show that result anyway.
"""

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lottery.announcement import parse_announcement
from lottery.canonical import load_canonical
from lottery.drand import Beacon, parse_beacon, round_time
from lottery.draw import DrawInputs
from lottery.engine import run_draw_from_file
from lottery.errors import ProtocolError
from service.drand_client import verify_beacon
from service.models import DrandRound, Draw, LogEntry


@dataclass(frozen=True)
class AbandonedDraw:
    """The abandonment as logged, and the outcome it would have had where it can be computed."""

    reason: str
    time: str
    #: The inputs of the `draw.abandoned` event: secret, dice, drand as far as they were known.
    inputs: dict[str, Any]
    #: The drand beacon used for the outcome (from the event, or fetched once it was out).
    beacon: Beacon | None
    #: The result document the draw would have produced (not binding), or None.
    would_have: dict[str, Any] | None
    #: Why there is no outcome yet (None when there is one).
    pending: str | None


_OUTCOMES: dict[tuple[str, str, str], dict[str, Any] | None] = {}
_lock = threading.Lock()


def _abandoned_event(session: Session, draw_id: str) -> dict[str, Any] | None:
    marker = '"draw_id":' + json.dumps(draw_id, ensure_ascii=False)
    for entry in session.scalars(
        select(LogEntry.entry).where(LogEntry.entry.contains(marker, autoescape=True)).order_by(LogEntry.index)
    ):
        event: dict[str, Any] = json.loads(entry)
        if event.get("type") == "draw.abandoned" and event.get("draw_id") == draw_id:
            return event
    return None


def known_beacon(session: Session, round_number: int) -> Beacon | None:
    """A verified beacon of this round that the service has seen (recorded or fetched later)."""
    row = session.get(DrandRound, round_number)
    if row is None:
        return None
    try:
        return verify_beacon(
            {"round": row.round, "randomness": row.randomness, "signature": row.signature}, round_number
        )
    except ProtocolError:
        return None  # an edited row: ignored, never trusted


def abandoned_draw(session: Session, draw: Draw, now: datetime) -> AbandonedDraw | None:
    """The abandonment of `draw` as its log entry published it, with the outcome it would have had."""
    event = _abandoned_event(session, draw.draw_id)
    if event is None:
        return None
    inputs = event.get("inputs") or {}
    announcement = parse_announcement(load_canonical(draw.announcement or b"{}", "announcement"))
    beacon: Beacon | None = None
    pending: str | None = None
    if "secret" not in inputs:
        pending = "secret"
    elif announcement.dice_count is not None and "dice" not in inputs:
        pending = "dice"
    elif announcement.drand_round is not None:
        if "drand" in inputs:
            beacon = parse_beacon(inputs["drand"])
        elif now.timestamp() < round_time(announcement.drand_round):
            pending = "beacon-not-out"
        else:
            beacon = known_beacon(session, announcement.drand_round)
            pending = None if beacon is not None else "beacon-not-fetched"
    would_have = None
    if pending is None:
        # Keyed by what determines the outcome: the signed announcement (its commitment is fresh
        # for every draw, whatever its id) and the inputs.
        key = (draw.announcement_digest or "", json.dumps(inputs, sort_keys=True), beacon.signature if beacon else "")
        with _lock:
            cached = key in _OUTCOMES
            would_have = _OUTCOMES.get(key)
        if not cached:
            try:
                would_have = run_draw_from_file(
                    draw.population_tsv or b"",
                    announcement,
                    DrawInputs(secret=inputs["secret"], dice=inputs.get("dice"), drand=beacon),
                    event["time"],
                    verify_bls=False,  # verified when it was recorded or read back
                )
            except ProtocolError:
                would_have = None
                pending = "refused"
            with _lock:
                _OUTCOMES[key] = would_have
    return AbandonedDraw(
        reason=str(event.get("reason", "")),
        time=str(event.get("time", "")),
        inputs=inputs,
        beacon=beacon,
        would_have=would_have,
        pending=pending,
    )


def remember_beacon(session: Session, beacon: Beacon, now: datetime | None = None) -> None:
    """Keep a verified beacon (the caller verified it), so abandoned draws of its round can be
    computed on their public page."""
    if session.get(DrandRound, beacon.round) is None:
        session.add(
            DrandRound(
                round=beacon.round,
                randomness=beacon.randomness,
                signature=beacon.signature,
                recorded_at=now or datetime.now(UTC).replace(microsecond=0),
            )
        )
        session.flush()
