"""Proof for auditors: each event's record and its inclusion in the signed log."""

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from lottery.canonical import canonical_json, digest
from service.models import LogEntry, ReviewCase, ReviewEvent
from service.reviews.records import log_event_of, record_of
from service.reviews.rules import ReviewError
from service.transparency import inclusion, latest_checkpoint


@dataclass(frozen=True)
class RecordProof:
    """One event's record, its log entry and its inclusion proof against a checkpoint."""

    event: ReviewEvent
    record: dict[str, Any]
    #: The log entry exactly as stored (canonical JSON text).
    entry: str
    index: int
    size: int
    path: list[bytes]
    #: True when the rebuilt record hashes to the digest stored with the event and in the log.
    digest_matches: bool


def prove_case(session: Session, case: ReviewCase) -> tuple[str, list[RecordProof]]:
    """The latest signed checkpoint and, for each event of the case, what an auditor needs.

    Refuses (ReviewError) when no checkpoint covers the case's events yet.
    """
    checkpoint = latest_checkpoint(session)
    if checkpoint is None:
        raise ReviewError(_l("The log has no checkpoint yet."))
    proofs = []
    for event in case.events:
        if event.log_index >= checkpoint.size:
            raise ReviewError(_l("The latest checkpoint does not cover this case's events yet."))
        rebuilt = record_of(event)
        stored = session.get(LogEntry, event.log_index)
        entry = stored.entry if stored is not None else ""
        matches = digest(rebuilt) == event.record_digest and entry.encode("utf-8") == canonical_json(
            log_event_of(event)
        )
        proofs.append(
            RecordProof(
                event=event,
                record=rebuilt,
                entry=entry,
                index=event.log_index,
                size=checkpoint.size,
                path=inclusion(session, event.log_index, checkpoint.size),
                digest_matches=matches,
            )
        )
    return checkpoint.note, proofs
