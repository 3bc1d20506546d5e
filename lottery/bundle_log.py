"""Check a bundle's log parts: `checkpoint`, `inclusion.json` and `events.json` (protocol §10, §12).

Inputs: the bundle's files, the office's verifier, the parsed announcement and result. Output:
lines added to a `lottery.report.Report`, and the checkpoint and logged events when they verify
(the witness checks of `lottery.bundle_witnesses` build on them).
"""

import base64
import binascii
import functools
import hashlib
from typing import Any

from lottery import events as draw_events
from lottery.announcement import Announcement
from lottery.canonical import digest, load_canonical, load_json
from lottery.checkpoint import Checkpoint, open_checkpoint
from lottery.errors import ProtocolError
from lottery.merkle import leaf_hash, verify_inclusion
from lottery.report import FAIL, PASS, SKIP, Report
from lottery.signing import Verifier


def check_log(
    report: Report,
    files: dict[str, bytes],
    verifier: Verifier | None,
    announcement: Announcement | None,
    population_digest: str | None,
) -> Checkpoint | None:
    """Check the checkpoint and `inclusion.json`; return the checkpoint when it verified."""
    if "checkpoint" not in files:
        report.add(SKIP, "log checkpoint", "absent from the bundle")
        report.add(SKIP, "inclusion of the draw's log entries", "absent from the bundle")
        return None
    checkpoint: Checkpoint | None = None

    def check_checkpoint() -> str:
        nonlocal checkpoint
        if verifier is None:
            raise ProtocolError("no usable key")
        checkpoint = open_checkpoint(files["checkpoint"].decode("utf-8", "replace"), [verifier])
        return f"log {checkpoint.origin} of size {checkpoint.size}"

    report.attempt("checkpoint is signed by the office key", check_checkpoint)
    if "inclusion.json" not in files:
        report.add(SKIP, "inclusion of the draw's log entries", "inclusion.json absent from the bundle")
        return checkpoint
    try:
        proofs = load_json(files["inclusion.json"], "inclusion.json")
        if not isinstance(proofs, list) or not proofs:
            raise ProtocolError("inclusion.json must be a non-empty list of proofs")
    except ProtocolError as exc:
        report.add(FAIL, "inclusion of the draw's log entries", str(exc))
        return checkpoint
    expected = _expected_entries(files, announcement, population_digest)
    for proof in proofs:
        report.attempt(
            f"log entry {_entry_label(proof)} is in the checkpoint",
            functools.partial(_check_one_inclusion, proof, checkpoint, expected),
        )
    # Without this, leaving out the draw.completed proof would let a swapped result pass.
    proven = {_entry_type(proof) for proof in proofs}
    for kind in sorted(set(expected) - proven):
        report.add(FAIL, f"log entry {kind} is in the checkpoint", "inclusion.json has no proof for it")
    return checkpoint


def _expected_entries(
    files: dict[str, bytes], announcement: Announcement | None, population_digest: str | None
) -> dict[str, dict[str, str]]:
    """`{entry type: fields}` of the log entries `inclusion.json` must prove for this bundle."""
    expected: dict[str, dict[str, str]] = {}
    if announcement is not None:
        expected["draw.announced"] = {
            "draw_id": announcement.draw_id,
            "announcement_digest": digest(announcement.document),
            "population_digest": population_digest or "",
        }
        expected["draw.completed"] = {
            "draw_id": announcement.draw_id,
            "result_digest": hashlib.sha256(files["result.json"]).hexdigest(),
        }
    return expected


def _entry_type(proof: object) -> str | None:
    """The `type` of the log entry a proof carries; None when the proof or entry is malformed."""
    if isinstance(proof, dict) and isinstance(proof.get("entry"), str):
        try:
            entry = load_json(proof["entry"].encode("utf-8"), "entry")
        except ProtocolError:
            return None
        if isinstance(entry, dict):
            return str(entry.get("type"))
    return None


def _entry_label(proof: object) -> str:
    """How the report names a proof's entry: its type and index."""
    kind = _entry_type(proof)
    if kind is None or not isinstance(proof, dict):
        return "(malformed)"
    return f"{kind} (index {proof.get('index')})"


def _check_one_inclusion(proof: object, checkpoint: Checkpoint | None, expected: dict[str, dict[str, str]]) -> str:
    """One proof: its entry is an expected draw event of this bundle and is in the checkpoint."""
    if checkpoint is None:
        raise ProtocolError("the checkpoint did not verify")
    if not isinstance(proof, dict) or not isinstance(proof.get("entry"), str):
        raise ProtocolError("proof must be {index, size, entry, path}")
    index, size, path = proof.get("index"), proof.get("size"), proof.get("path")
    if not isinstance(index, int) or not isinstance(size, int) or not isinstance(path, list):
        raise ProtocolError("proof must be {index, size, entry, path}")
    if size != checkpoint.size:
        raise ProtocolError(f"proof is for tree size {size}, the checkpoint has {checkpoint.size}")
    entry_bytes = proof["entry"].encode("utf-8")
    entry = load_canonical(entry_bytes, "log entry")
    want = expected.get(str(entry.get("type"))) if isinstance(entry, dict) else None
    if want is None:
        raise ProtocolError("entry is not a draw event of this bundle")
    for name, value in want.items():
        if entry.get(name) != value:
            raise ProtocolError(f"entry's {name} does not match this bundle")
    try:
        hashes = [base64.b64decode(item, validate=True) for item in path]
    except (binascii.Error, TypeError, ValueError):
        raise ProtocolError("proof path is not base64") from None
    verify_inclusion(index, size, leaf_hash(entry_bytes), hashes, checkpoint.root)
    return f"index {index} of {size}"


def check_events(
    report: Report,
    files: dict[str, bytes],
    checkpoint: Checkpoint | None,
    announcement: Announcement | None,
    population_digest: str | None,
    result: dict[str, Any] | None,
) -> list[draw_events.LoggedEvent] | None:
    """`events.json`: inclusion, the logged inputs, their order and times (protocol §5, §10, §12).

    Returns the events when they are proven in the checkpoint, else None.
    """
    if "events.json" not in files:
        report.add(SKIP, "the draw's logged events (events.json)", "absent from the bundle", "events")
        return None
    try:
        events = draw_events.parse_events(files["events.json"])
        if announcement is None or result is None:
            raise ProtocolError("not checked: the announcement or the result did not verify")
        detail = draw_events.check_identity(
            events,
            announcement.draw_id,
            digest(announcement.document),
            population_digest,
            hashlib.sha256(files["result.json"]).hexdigest(),
        )
    except ProtocolError as exc:
        report.add(FAIL, "events.json is well-formed and names this draw", str(exc), "events")
        return None
    report.add(PASS, "events.json is well-formed and names this draw", detail, "events")
    ann = announcement

    def inclusion() -> str:
        if checkpoint is None:
            raise ProtocolError("no checkpoint that verifies to prove them against")
        return draw_events.check_inclusion(events, checkpoint)

    included = report.attempt("every event in events.json is in the checkpoint", inclusion, "events-inclusion")
    report.attempt(
        "the logged draw.input values are result.json's inputs",
        lambda: draw_events.check_input_values(events, ann, result.get("inputs")),
        "events-inputs",
    )
    sources = " → ".join(["announced", *draw_events.announced_sources(ann), "completed"])
    report.attempt(
        f"the events are logged in order {sources}", lambda: draw_events.check_order(events, ann), "events-order"
    )
    window = "within [scheduled_at, inputs_close_at)" if ann.inputs_close_at is not None else "at or after scheduled_at"
    report.attempt(
        f"dice and secret were entered {window}", lambda: draw_events.check_input_times(events, ann), "events-times"
    )
    return events if included else None
