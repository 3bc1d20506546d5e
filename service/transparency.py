"""The transparency log (protocol §10): append-only entries, RFC 9162 tree, signed checkpoints.

A domain change and its log entry are written in the same transaction; the checkpoint over the
new leaves is signed and stored in that transaction too, so no checkpoint is ever served before
its leaves are durable. Before signing, the stored log is checked against the last checkpoint:
if history was rewritten in the database, signing is refused, saying why, so the office never
signs two inconsistent checkpoints.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from lottery.canonical import canonical_json
from lottery.checkpoint import Checkpoint as CheckpointBody
from lottery.checkpoint import open_checkpoint, sign_checkpoint
from lottery.errors import ProtocolError
from lottery.merkle import consistency_proof, inclusion_proof, leaf_hash, tree_hash
from lottery.signing import Signer, parse_vkey
from lottery.tiles import ENTRIES, Tile, encode_bundle, hash_tile
from lottery.timestamps import format_timestamp
from service.models import Checkpoint, LogEntry, SigningKey, utcnow

#: An entry must fit a C2SP tlog-tiles entry bundle, whose length prefix is a uint16.
MAX_ENTRY_BYTES = 65_535
#: Any fixed number: the PostgreSQL advisory lock that serialises appends across processes.
_APPEND_LOCK = 0x53554E  # "SUN"
#: `session.info` key holding the sizes of the checkpoints a transaction signed: once it commits,
#: they are submitted to the witnesses (`service.witnessing`).
NEW_CHECKPOINT = "sunshine_new_checkpoint"


class LogIntegrityError(RuntimeError):
    """The stored log does not match what was signed before; nothing more will be signed."""


def event_time(moment: datetime | None = None) -> str:
    """The `time` field of a log event."""
    return format_timestamp(moment or utcnow())


def log_size(session: Session) -> int:
    """Number of entries in the log."""
    return int(session.scalar(select(func.count()).select_from(LogEntry)) or 0)


def leaf_hashes(session: Session, size: int | None = None) -> list[bytes]:
    """The stored leaf hashes, in order (the first `size` of them when given)."""
    query = select(LogEntry.leaf_hash).order_by(LogEntry.index)
    if size is not None:
        query = query.where(LogEntry.index < size)
    return [bytes(h) for h in session.scalars(query)]


def leaf_hash_range(session: Session, start: int, end: int) -> list[bytes]:
    """The stored leaf hashes of entries `start` (inclusive) to `end` (exclusive), in order."""
    query = select(LogEntry.leaf_hash).where(LogEntry.index >= start, LogEntry.index < end).order_by(LogEntry.index)
    return [bytes(h) for h in session.scalars(query)]


def tile_bytes(session: Session, tile: Tile) -> bytes:
    """A C2SP tlog-tiles hash tile or entry bundle, read from the entries it covers only (the
    caller checks that the signed tree has it: `lottery.tiles.in_tree`)."""
    if tile.level == ENTRIES:
        query = select(LogEntry.entry).where(LogEntry.index >= tile.start, LogEntry.index < tile.end)
        texts = list(session.scalars(query.order_by(LogEntry.index)))
        if len(texts) != tile.width:
            raise LogIntegrityError(f"entries {tile.start} to {tile.end - 1} are not all stored")
        return encode_bundle([text.encode("utf-8", "surrogatepass") for text in texts])
    leaves = leaf_hash_range(session, tile.start, tile.end)
    if len(leaves) != tile.end - tile.start:
        raise LogIntegrityError(f"entries {tile.start} to {tile.end - 1} are not all stored")
    return hash_tile(tile, leaves)


def append(session: Session, entry: dict[str, Any]) -> int:
    """Append one event (canonical JSON, at most 65,535 bytes); returns its index."""
    data = canonical_json(entry)
    if len(data) > MAX_ENTRY_BYTES:
        raise ValueError(f"a log entry is limited to {MAX_ENTRY_BYTES:,} bytes, not {len(data):,}")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    index = log_size(session)
    session.add(LogEntry(index=index, entry=data.decode("utf-8"), leaf_hash=leaf_hash(data)))
    session.flush()
    return index


def latest_checkpoint(session: Session) -> Checkpoint | None:
    """The most recent signed checkpoint."""
    return session.scalar(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1))


def checkpoint_at(session: Session, size: int) -> Checkpoint | None:
    """The checkpoint signed at exactly `size`, if any."""
    return session.get(Checkpoint, size)


def check_against_last_checkpoint(session: Session, leaves: list[bytes]) -> None:
    """Refuse when the stored leaves no longer reproduce the last signed root."""
    last = latest_checkpoint(session)
    if last is None:
        return
    if last.size > len(leaves):
        raise LogIntegrityError(
            f"the log has {len(leaves)} entries but checkpoint {last.size} was signed: entries were removed"
        )
    if tree_hash(leaves[: last.size]) != bytes(last.root):
        raise LogIntegrityError(
            f"the first {last.size} log entries no longer give the root of the signed checkpoint: history was rewritten"
        )


def sign_new_checkpoint(session: Session, signers: list[Signer]) -> Checkpoint:
    """Sign and store a checkpoint over the whole log (cosigned when several signers are given)."""
    leaves = leaf_hashes(session)
    check_against_last_checkpoint(session, leaves)
    last = latest_checkpoint(session)
    if last is not None and last.size == len(leaves):
        return last
    body = CheckpointBody(signers[0].name, len(leaves), tree_hash(leaves))
    note = sign_checkpoint(signers[0], body)
    for extra in signers[1:]:
        note = _cosign(note, body, extra)
    row = Checkpoint(size=body.size, root=body.root, note=note, key_id=signers[0].verifier.key_id.hex())
    session.add(row)
    session.flush()
    session.info.setdefault(NEW_CHECKPOINT, set()).add(row.size)
    return row


def _cosign(note: str, body: CheckpointBody, signer: Signer) -> str:
    """Add a second signature line to a signed note (a rotation is signed by old and new keys)."""
    extra = sign_checkpoint(signer, body)
    return note + extra.split("\n\n", 1)[1]


def record(session: Session, signers: list[Signer], entries: list[dict[str, Any]]) -> list[int]:
    """Append events and sign a checkpoint over them, in the caller's transaction."""
    indices = [append(session, entry) for entry in entries]
    sign_new_checkpoint(session, signers)
    return indices


def inclusion(session: Session, index: int, size: int) -> list[bytes]:
    """Audit path of leaf `index` in the tree of the first `size` leaves."""
    if not 0 <= index < size <= log_size(session):
        raise ValueError(f"need 0 <= index < size <= {log_size(session)}")
    return inclusion_proof(index, leaf_hashes(session, size))


def consistency(session: Session, first: int, second: int) -> list[bytes]:
    """Proof that the tree of size `first` is a prefix of the tree of size `second`."""
    if not 0 < first <= second <= log_size(session):
        raise ValueError(f"need 0 < first <= second <= {log_size(session)}")
    return consistency_proof(first, leaf_hashes(session, second))


def verify_log(session: Session) -> list[str]:
    """Check the whole stored log; returns every problem found (empty when all is well).

    Each entry must hash to its stored leaf hash and be canonical JSON; indices must run from 0
    without gaps; every checkpoint must be signed by a known office key and its root must equal
    the tree over the first `size` leaves.
    """
    problems: list[str] = []
    leaves: list[bytes] = []
    for expected, row in enumerate(session.scalars(select(LogEntry).order_by(LogEntry.index))):
        if row.index != expected:
            problems.append(f"log entry {expected} is missing (found {row.index} next)")
            break
        data = str(row.entry).encode("utf-8", "surrogatepass")
        stored = row.leaf_hash if isinstance(row.leaf_hash, bytes | bytearray | memoryview) else b""
        if leaf_hash(data) != bytes(stored):
            problems.append(f"log entry {row.index} was changed: its text no longer matches its leaf hash")
        leaves.append(leaf_hash(data))
    verifiers = [parse_vkey(key.vkey) for key in session.scalars(select(SigningKey))]
    for checkpoint in session.scalars(select(Checkpoint).order_by(Checkpoint.size)):
        try:
            body = open_checkpoint(checkpoint.note, verifiers)
        except ProtocolError as exc:
            problems.append(f"checkpoint {checkpoint.size} does not verify: {exc}")
            continue
        if body.size != checkpoint.size or body.root != bytes(checkpoint.root):
            problems.append(f"checkpoint {checkpoint.size}: stored size or root differs from its signed note")
        if checkpoint.size > len(leaves) or tree_hash(leaves[: checkpoint.size]) != body.root:
            problems.append(f"checkpoint {checkpoint.size}: the stored log no longer gives its root")
    return problems
