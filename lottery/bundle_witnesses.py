"""Check a bundle's witness cosignatures (protocol §11): `witnessed.json`, the quorum on the
checkpoint, and whether the draw's inputs were witnessed before the drand beacon.

Inputs: the bundle's files, the verified checkpoint and logged events (`lottery.bundle_log`) and
a `WitnessPolicy`. Output: lines added to a `lottery.report.Report`.
"""

from dataclasses import dataclass

from lottery import events as draw_events
from lottery.announcement import Announcement
from lottery.checkpoint import Checkpoint
from lottery.cosignature import WitnessVerifier
from lottery.drand import round_time
from lottery.errors import ProtocolError
from lottery.report import FAIL, PASS, SKIP, Report
from lottery.signing import Verifier
from lottery.witnessed import (
    CosignedCheckpoint,
    check_witnessed,
    cosigned_by,
    describe,
    earliest_cosignatures,
    quorum_moment,
    utc,
)


@dataclass(frozen=True)
class WitnessPolicy:
    """Whose cosignatures count (`--witness`), how many must agree (`--quorum`), and the clock."""

    witnesses: list[WitnessVerifier]
    quorum: int
    now: int


def check_witnesses(
    report: Report,
    files: dict[str, bytes],
    verifier: Verifier | None,
    checkpoint: Checkpoint | None,
    announcement: Announcement | None,
    events: list[draw_events.LoggedEvent] | None,
    policy: WitnessPolicy,
) -> None:
    """`witnessed.json`, the quorum on the checkpoint and "inputs witnessed before the beacon"."""
    notes: list[CosignedCheckpoint] = []
    what = "witnessed.json: every note is signed by the office key and consistent with the checkpoint"
    if "witnessed.json" not in files:
        report.add(SKIP, what, "absent from the bundle", "witnessed")
    else:

        def check_notes() -> str:
            if verifier is None or checkpoint is None:
                raise ProtocolError("not checked: the checkpoint did not verify")
            notes.extend(check_witnessed(files["witnessed.json"], verifier, checkpoint, policy.witnesses, policy.now))
            sizes = ", ".join(str(note.checkpoint.size) for note in notes)
            return f"{len(notes)} notes, sizes {sizes or '(none)'} of {checkpoint.size}"

        if not report.attempt(what, check_notes, "witnessed"):
            notes.clear()
    if not policy.witnesses:
        report.add(SKIP, "witness cosignatures on the checkpoint", "no --witness given", "witness-quorum")
        report.add(SKIP, "inputs witnessed before the beacon", "no --witness given", "witness-before-beacon")
        return
    check_quorum(report, files, checkpoint, policy, notes)
    check_before_beacon(report, announcement, events, policy, notes)


def check_quorum(
    report: Report,
    files: dict[str, bytes],
    checkpoint: Checkpoint | None,
    policy: WitnessPolicy,
    notes: list[CosignedCheckpoint],
) -> None:
    """At least K of the given witnesses cosigned the bundle checkpoint; adds it to `notes`.

    A `witnessed.json` note of the checkpoint's size is the same tree (its consistency proof is
    empty and its root the same), so its cosignatures count as well.
    """
    count, quorum = len(policy.witnesses), policy.quorum
    what = f"the checkpoint is cosigned by at least {quorum} of the {count} given witnesses"

    def check() -> str:
        if checkpoint is None:
            raise ProtocolError("no checkpoint that verifies")
        own = cosigned_by(files["checkpoint"].decode("utf-8", "replace"), policy.witnesses, policy.now)
        same_tree = [note for note in notes if note.checkpoint.size == checkpoint.size]
        notes.append(CosignedCheckpoint(checkpoint, own))
        cosigned = earliest_cosignatures([*same_tree, notes[-1]], checkpoint.size - 1)
        missing = sorted(witness.name for witness in policy.witnesses if witness.name not in cosigned)
        absent = f"; not by {', '.join(missing)}" if missing else ""
        if len(cosigned) < quorum:
            raise ProtocolError(f"only {len(cosigned)}: {describe(cosigned) or 'none'}{absent}")
        return f"{describe(cosigned)}{absent}"

    report.attempt(what, check, "witness-quorum")


def check_before_beacon(
    report: Report,
    announcement: Announcement | None,
    events: list[draw_events.LoggedEvent] | None,
    policy: WitnessPolicy,
    notes: list[CosignedCheckpoint],
) -> None:
    """Had K witnesses cosigned a tree holding the dice and the secret before the drand round?"""
    key, what = "witness-before-beacon", "inputs witnessed before the beacon"
    if announcement is None or announcement.drand_round is None:
        report.add(SKIP, what, "the draw uses no drand beacon", key)
        return
    if events is None:
        report.add(SKIP, what, "no verified events.json to find the logged dice and secret in", key)
        return
    inputs = {
        str(event.event.get("name")): event.index
        for event in events
        if event.type == "draw.input" and event.event.get("name") in ("dice", "secret")
    }
    if not inputs:
        report.add(SKIP, what, "the draw logs no dice or secret input", key)
        return
    last = max(inputs.values())
    logged = ", ".join(f"{name} at index {index}" for name, index in sorted(inputs.items(), key=lambda kv: kv[1]))
    beacon = round_time(announcement.drand_round)
    beacon_text = f"drand round {announcement.drand_round} at {utc(beacon)}"
    earliest = earliest_cosignatures(notes, last)
    moment = quorum_moment(earliest, policy.quorum)
    seen = describe(earliest) or "none"
    if moment is None:
        detail = f"{logged}; fewer than {policy.quorum} witnesses cosigned a checkpoint larger than {last} ({seen})"
        report.add(FAIL, f"{what}: not witnessed", f"{detail}; {beacon_text}", key)
        return
    detail = f"{logged}; {policy.quorum} witnesses had cosigned a checkpoint holding them at {utc(moment)} ({seen})"
    if moment < beacon:
        report.add(PASS, f"{what}: yes", f"{detail}, before {beacon_text}", key)
    else:
        report.add(FAIL, f"{what}: no", f"{detail}, not before {beacon_text}", key)
