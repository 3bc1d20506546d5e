"""The self-check: does what is stored still match what was signed and logged?

The database refuses UPDATE and DELETE on history (service/triggers.py), but an insider with
full control of the database can drop triggers. This check finds what such a person changed:
the log against its signed checkpoints, each published draw against its logged digests and its
signatures, the population against its announced digest. It runs when gunicorn starts, on the
operator dashboard and in `flask audit verify`; every problem is named.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lottery.errors import ProtocolError
from lottery.signing import parse_vkey, verify_document
from service.bindings import check_bindings
from service.models import Draw, LogEntry, SigningKey
from service.transparency import verify_log

#: Further checks registered by other parts of the service (e.g. review records).
EXTRA_CHECKS: list[Callable[[Session], list[str]]] = []


def check_draws(session: Session) -> list[str]:
    """Every announced or completed draw against its log entries and signatures."""
    problems: list[str] = []
    events: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for text in session.scalars(select(LogEntry.entry)):
        event = json.loads(text)
        if "draw_id" in event:
            events.setdefault((event["type"], event["draw_id"]), []).append(event)
    keys = {key.key_id: parse_vkey(key.vkey) for key in session.scalars(select(SigningKey))}
    for draw in session.scalars(select(Draw).where(Draw.status != "draft")):
        name = f"draw {draw.draw_id}"
        announced = events.get(("draw.announced", draw.draw_id), [])
        announcement_bytes, population, result = (
            _as_bytes(draw.announcement),
            _as_bytes(draw.population_tsv),
            _as_bytes(draw.result),
        )
        if announcement_bytes is None or population is None:
            problems.append(f"{name}: its announcement or population is missing")
            continue
        try:
            announcement = json.loads(announcement_bytes)
        except ValueError:
            problems.append(f"{name}: the stored announcement is not JSON")
            continue
        if [e["announcement_digest"] for e in announced] != [hashlib.sha256(announcement_bytes).hexdigest()]:
            problems.append(f"{name}: the stored announcement is not the one logged as announced")
        if hashlib.sha256(population).hexdigest() != announcement.get("population", {}).get("digest"):
            problems.append(f"{name}: the stored population.tsv does not match the announced digest")
        verifier = keys.get(draw.signing_key_id or "")
        if verifier is None:
            problems.append(f"{name}: the key that signed it is not among the office keys")
        else:
            _check_signature(
                problems, f"{name}: announcement.json.sig", verifier, announcement_bytes, draw.announcement_sig
            )
        completed = events.get(("draw.completed", draw.draw_id), [])
        if result is None:
            if completed:
                problems.append(f"{name}: the log says it completed, but no result is stored")
            continue
        if [e["result_digest"] for e in completed] != [hashlib.sha256(result).hexdigest()]:
            problems.append(f"{name}: the stored result is not the one logged as completed")
        if verifier is not None:
            _check_signature(problems, f"{name}: result.json.sig", verifier, result, draw.result_sig)
    return problems


def _as_bytes(value: object) -> bytes | None:
    """Stored documents as bytes, even if an edit behind the app's back turned them into text."""
    if value is None:
        return None
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)  # type: ignore[arg-type]


def _check_signature(problems: list[str], what: str, verifier: Any, data: bytes, signature: str | None) -> None:
    try:
        verify_document(verifier, data, (signature or "").encode("ascii"))
    except (ProtocolError, UnicodeEncodeError):
        problems.append(f"{what} does not verify over the stored document")


def check_review_records(session: Session) -> list[str]:
    """Every review event against its salted digest and its `review.recorded` log entry."""
    from lottery.canonical import canonical_json, digest
    from service.models import ReviewEvent
    from service.reviews import log_event_of, record_of

    problems: list[str] = []
    entries = {row.index: row.entry for row in session.scalars(select(LogEntry))}
    for event in session.scalars(select(ReviewEvent).order_by(ReviewEvent.id)):
        name = f"review case {event.case.case_number} event {event.sequence}"
        if digest(record_of(event)) != event.record_digest:
            problems.append(f"{name}: the stored record no longer hashes to its logged digest")
        if entries.get(event.log_index) != canonical_json(log_event_of(event)).decode("utf-8"):
            problems.append(f"{name}: its log entry {event.log_index} does not record this event")
    return problems


def self_check(session: Session) -> list[str]:
    """Every problem found in the stored history (empty when everything matches)."""
    problems = verify_log(session) + check_draws(session) + check_review_records(session)
    problems.extend(check_bindings(session))  # SPEC §2a: every case number still its declarant's
    for extra in EXTRA_CHECKS:
        problems.extend(extra(session))
    return problems
