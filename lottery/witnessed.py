"""Witness cosignatures in a bundle: `witnessed.json`, the quorum, and "witnessed before the beacon".

`witnessed.json` (docs/bundle.md) lists office-signed checkpoints that witnesses cosigned (C2SP
`tlog-cosignature` lines appended), ascending by size, each with the RFC 9162 consistency proof
from its size to the bundle checkpoint's size:

    [{"note": "<checkpoint note with cosignature lines>", "consistency": ["<base64>", …]}]

A citizen names the witnesses they trust (`--witness`) and how many must agree (`--quorum K`).
The moment K of them had cosigned a checkpoint that already held the draw's dice and secret is
the K-th smallest of each witness's earliest such cosignature; if that moment precedes the
drand round's publication, nobody — the office included — could have chosen those inputs after
seeing the beacon without K witnesses holding a signed tree that says otherwise.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

from lottery.canonical import load_json
from lottery.checkpoint import Checkpoint, open_checkpoint
from lottery.cosignature import WitnessVerifier, cosignatures
from lottery.errors import ProtocolError
from lottery.merkle import verify_consistency
from lottery.signing import Verifier
from lottery.timestamps import format_timestamp

#: Cosignatures stamped later than this many seconds after the verifier's clock are refused.
FUTURE_TOLERANCE = 600


@dataclass(frozen=True)
class CosignedCheckpoint:
    """A verified checkpoint and the given witnesses' cosignature times on it (name → POSIX time)."""

    checkpoint: Checkpoint
    cosigned: dict[str, int]


def utc(timestamp: int) -> str:
    """A POSIX time as `2026-01-15T02:00:00Z`."""
    return format_timestamp(datetime.fromtimestamp(timestamp, UTC))


def cosigned_by(note: str, witnesses: list[WitnessVerifier], now: int) -> dict[str, int]:
    """The given witnesses' cosignatures on `note`; refuse a bad one or one from the future."""
    found = cosignatures(note, witnesses)
    for name, timestamp in sorted(found.items()):
        if timestamp > now + FUTURE_TOLERANCE:
            raise ProtocolError(f"the cosignature by {name} is dated in the future ({timestamp})")
    return found


def check_witnessed(
    data: bytes, office: Verifier, checkpoint: Checkpoint, witnesses: list[WitnessVerifier], now: int
) -> list[CosignedCheckpoint]:
    """Every note of `witnessed.json`, each signed by `office` and consistent with `checkpoint`."""
    items = load_json(data, "witnessed.json")
    if not isinstance(items, list):
        raise ProtocolError("witnessed.json must be a list of {note, consistency}")
    notes: list[CosignedCheckpoint] = []
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict) or set(item) != {"note", "consistency"} or not isinstance(item["note"], str):
            raise ProtocolError(f"witnessed.json item {position} must be {{note, consistency}}")
        try:
            notes.append(_check_one(item["note"], item["consistency"], office, checkpoint, witnesses, now))
        except ProtocolError as exc:
            raise ProtocolError(f"witnessed.json item {position}: {exc}") from None
        if len(notes) > 1 and notes[-1].checkpoint.size < notes[-2].checkpoint.size:
            raise ProtocolError(f"witnessed.json item {position} is not in ascending size order")
    return notes


def _check_one(
    note: str,
    proof: object,
    office: Verifier,
    checkpoint: Checkpoint,
    witnesses: list[WitnessVerifier],
    now: int,
) -> CosignedCheckpoint:
    witnessed = open_checkpoint(note, [office])
    if witnessed.origin != checkpoint.origin:
        raise ProtocolError(f"the note is for log {witnessed.origin}, the checkpoint for {checkpoint.origin}")
    if witnessed.size > checkpoint.size:
        raise ProtocolError(f"size {witnessed.size} is larger than the checkpoint's {checkpoint.size}")
    if not isinstance(proof, list) or not all(isinstance(node, str) for node in proof):
        raise ProtocolError("consistency must be a list of base64 hashes")
    try:
        path = [base64.b64decode(node, validate=True) for node in proof]
    except (binascii.Error, ValueError):
        raise ProtocolError("a consistency proof item is not base64") from None
    if witnessed.size == 0:
        if path:
            raise ProtocolError("a note of size 0 needs an empty consistency proof")
    else:
        verify_consistency(witnessed.size, checkpoint.size, path, witnessed.root, checkpoint.root)
    return CosignedCheckpoint(witnessed, cosigned_by(note, witnesses, now))


def earliest_cosignatures(notes: list[CosignedCheckpoint], larger_than: int) -> dict[str, int]:
    """Per witness, its earliest cosignature on a checkpoint of size greater than `larger_than`."""
    earliest: dict[str, int] = {}
    for note in notes:
        if note.checkpoint.size <= larger_than:
            continue
        for name, timestamp in note.cosigned.items():
            earliest[name] = min(timestamp, earliest.get(name, timestamp))
    return earliest


def quorum_moment(earliest: dict[str, int], quorum: int) -> int | None:
    """The moment `quorum` witnesses had cosigned (the K-th smallest time), or None if fewer did."""
    times = sorted(earliest.values())
    return times[quorum - 1] if 1 <= quorum <= len(times) else None


def describe(cosigned: dict[str, int]) -> str:
    """`name at time, …` in time order."""
    return ", ".join(f"{name} at {utc(moment)}" for name, moment in sorted(cosigned.items(), key=lambda kv: kv[1]))
