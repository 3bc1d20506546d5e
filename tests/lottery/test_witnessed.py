"""Witness cosignatures in a bundle: `witnessed.json`, `--witness … --quorum K` and the line
"inputs witnessed before the beacon" (docs/witness.md), on bundles with real keys and cosignatures.

The timed bundle's log: the dice are entry 3, the secret entry 5, the whole log 13 entries; drand
round 657413 is out at 2023-09-15T11:00:03Z.
"""

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lottery.announcement import parse_announcement
from lottery.bundle import FAIL, PASS, SKIP, Report, WitnessPolicy, verify_bundle
from lottery.bundle_witnesses import check_before_beacon
from lottery.canonical import canonical_json
from lottery.checkpoint import Checkpoint, sign_checkpoint
from lottery.cli import main
from lottery.cosignature import WitnessSigner, add_signature_lines, cosign, generate_witness, note_parts
from lottery.events import parse_events
from lottery.merkle import consistency_proof, leaf_hash, tree_hash
from lottery.signing import Signer, generate_signer
from tests.lottery.bundles import ORIGIN, DrawBundle

W1, W2 = generate_witness("council.kinmen.example/w1"), generate_witness("news.example.tw/w2")
WITNESSES = [W1.verifier, W2.verifier]


def at(clock: str) -> int:
    """POSIX time of `HH:MM:SS` on the timed draw's day."""
    hour, minute, second = (int(part) for part in clock.split(":"))
    return int(datetime(2023, 9, 15, hour, minute, second, tzinfo=UTC).timestamp())


NOW = at("12:00:00")
BEACON = "drand round 657413 at 2023-09-15T11:00:03Z"


def leaves(bundle: DrawBundle) -> list[bytes]:
    """The leaf hashes of the bundle's log."""
    return [leaf_hash(canonical_json(entry)) for entry in bundle.log_entries()]


def cosigned(note: str, cosigners: list[tuple[WitnessSigner, int]]) -> str:
    """`note` with each witness's cosignature at its time appended."""
    body = note_parts(note)[0]
    return add_signature_lines(note, [cosign(signer, body, moment) for signer, moment in cosigners])


def witnessed_item(
    bundle: DrawBundle, size: int, cosigners: list[tuple[WitnessSigner, int]], office: Signer | None = None
) -> dict[str, object]:
    """One `witnessed.json` item: the office-signed checkpoint of `size`, cosigned, and its proof."""
    hashes = leaves(bundle)
    note = sign_checkpoint(office or bundle.signer, Checkpoint(ORIGIN, size, tree_hash(hashes[:size])))
    proof = consistency_proof(size, hashes) if size < len(hashes) else []
    return {"note": cosigned(note, cosigners), "consistency": [base64.b64encode(n).decode() for n in proof]}


def set_witnessed(bundle: DrawBundle, items: list[dict[str, object]]) -> None:
    """Write `witnessed.json`."""
    bundle.files["witnessed.json"] = json.dumps(items, indent=1).encode()


def cosign_checkpoint(bundle: DrawBundle, cosigners: list[tuple[WitnessSigner, int]]) -> None:
    """Append cosignatures to the bundle's own checkpoint."""
    bundle.files["checkpoint"] = cosigned(bundle.files["checkpoint"].decode(), cosigners).encode()


def verify(bundle: DrawBundle, quorum: int = 2, witnesses: list[WitnessSigner] | None = None) -> Report:
    """Verify with the given witnesses (default both) and the quorum, the clock at NOW."""
    chosen = [W1, W2] if witnesses is None else witnesses
    return verify_bundle(bundle.files, check_bls=False, witnesses=[w.verifier for w in chosen], quorum=quorum, now=NOW)


def line(report: Report, key: str) -> str:
    """The report line of the check named `key`."""
    return next(check.line() for check in report.checks if check.key == key)


def witness_outcomes(report: Report) -> dict[str, str]:
    """The outcomes of the three witness checks."""
    keys = ("witnessed", "witness-quorum", "witness-before-beacon")
    return {key: outcome for key, outcome in report.outcomes().items() if key in keys}


def test_inputs_cosigned_by_the_quorum_before_the_beacon_verify_yes(timed_bundle: DrawBundle) -> None:
    set_witnessed(timed_bundle, [witnessed_item(timed_bundle, 7, [(W1, at("10:45:00")), (W2, at("10:50:00"))])])
    cosign_checkpoint(timed_bundle, [(W1, at("11:05:00")), (W2, at("11:06:00"))])
    report = verify(timed_bundle)
    assert report.ok
    assert witness_outcomes(report) == {"witnessed": PASS, "witness-quorum": PASS, "witness-before-beacon": PASS}
    assert line(report, "witnessed") == (
        "✓ witnessed.json: every note is signed by the office key and consistent with the checkpoint: "
        "1 notes, sizes 7 of 13"
    )
    assert line(report, "witness-quorum") == (
        "✓ the checkpoint is cosigned by at least 2 of the 2 given witnesses: "
        "council.kinmen.example/w1 at 2023-09-15T11:05:00Z, news.example.tw/w2 at 2023-09-15T11:06:00Z"
    )
    assert line(report, "witness-before-beacon") == (
        "✓ inputs witnessed before the beacon: yes: dice at index 3, secret at index 5; 2 witnesses had "
        "cosigned a checkpoint holding them at 2023-09-15T10:50:00Z (council.kinmen.example/w1 at "
        f"2023-09-15T10:45:00Z, news.example.tw/w2 at 2023-09-15T10:50:00Z), before {BEACON}"
    )


def test_the_moment_is_the_kth_earliest_witness(timed_bundle: DrawBundle) -> None:
    set_witnessed(
        timed_bundle,
        [
            witnessed_item(timed_bundle, 7, [(W1, at("10:45:00"))]),
            witnessed_item(timed_bundle, 11, [(W1, at("11:01:00")), (W2, at("11:02:00"))]),
        ],
    )
    cosign_checkpoint(timed_bundle, [(W1, at("11:05:00")), (W2, at("11:06:00"))])
    one = verify(timed_bundle, quorum=1)
    assert one.ok
    assert "yes: " in line(one, "witness-before-beacon") and "at 2023-09-15T10:45:00Z (" in line(
        one, "witness-before-beacon"
    )
    two = verify(timed_bundle, quorum=2)
    assert not two.ok
    assert line(two, "witness-before-beacon").startswith("✗ inputs witnessed before the beacon: no: ")
    assert "at 2023-09-15T11:02:00Z (council.kinmen.example/w1 at 2023-09-15T10:45:00Z, " in line(
        two, "witness-before-beacon"
    )
    assert witness_outcomes(two) == {"witnessed": PASS, "witness-quorum": PASS, "witness-before-beacon": FAIL}


def test_a_cosignature_at_the_beacon_time_is_not_before_it(timed_bundle: DrawBundle) -> None:
    set_witnessed(timed_bundle, [witnessed_item(timed_bundle, 6, [(W1, at("10:45:00")), (W2, at("11:00:03"))])])
    cosign_checkpoint(timed_bundle, [(W1, at("11:05:00")), (W2, at("11:06:00"))])
    report = verify(timed_bundle)
    assert not report.ok
    assert line(report, "witness-before-beacon").endswith(f"not before {BEACON}")
    assert line(report, "witness-before-beacon").startswith("✗ inputs witnessed before the beacon: no: ")


def test_a_checkpoint_without_the_secret_does_not_count(timed_bundle: DrawBundle) -> None:
    # Size 5 holds the dice (index 3) but not the secret (index 5).
    set_witnessed(timed_bundle, [witnessed_item(timed_bundle, 5, [(W1, at("10:45:00")), (W2, at("10:46:00"))])])
    cosign_checkpoint(timed_bundle, [(W1, at("11:05:00")), (W2, at("11:06:00"))])
    report = verify(timed_bundle)
    assert line(report, "witness-before-beacon").startswith("✗ inputs witnessed before the beacon: no: ")
    assert "at 2023-09-15T11:06:00Z" in line(report, "witness-before-beacon")


def test_fewer_than_k_witnesses_is_not_witnessed_and_no_quorum(timed_bundle: DrawBundle) -> None:
    cosign_checkpoint(timed_bundle, [(W1, at("10:58:00"))])
    report = verify(timed_bundle)
    assert not report.ok
    assert witness_outcomes(report) == {"witnessed": SKIP, "witness-quorum": FAIL, "witness-before-beacon": FAIL}
    assert line(report, "witness-quorum") == (
        "✗ the checkpoint is cosigned by at least 2 of the 2 given witnesses: only 1: "
        "council.kinmen.example/w1 at 2023-09-15T10:58:00Z; not by news.example.tw/w2"
    )
    assert line(report, "witness-before-beacon").startswith(
        "✗ inputs witnessed before the beacon: not witnessed: dice at index 3, secret at index 5; "
        "fewer than 2 witnesses cosigned a checkpoint larger than 5"
    )


def test_without_witness_keys_nothing_is_required(timed_bundle: DrawBundle) -> None:
    set_witnessed(timed_bundle, [witnessed_item(timed_bundle, 7, [(W1, at("10:45:00"))])])
    report = verify_bundle(timed_bundle.files, check_bls=False, now=NOW)
    assert report.ok
    assert witness_outcomes(report) == {"witnessed": PASS, "witness-quorum": SKIP, "witness-before-beacon": SKIP}
    assert line(report, "witness-quorum") == "– witness cosignatures on the checkpoint: no --witness given"


def test_a_witnessed_note_of_the_checkpoint_size_counts_for_the_quorum(timed_bundle: DrawBundle) -> None:
    set_witnessed(timed_bundle, [witnessed_item(timed_bundle, 13, [(W2, at("11:04:00"))])])
    cosign_checkpoint(timed_bundle, [(W1, at("11:05:00"))])
    report = verify(timed_bundle)
    assert line(report, "witness-quorum") == (
        "✓ the checkpoint is cosigned by at least 2 of the 2 given witnesses: "
        "news.example.tw/w2 at 2023-09-15T11:04:00Z, council.kinmen.example/w1 at 2023-09-15T11:05:00Z"
    )
    assert line(report, "witness-before-beacon").startswith("✗ inputs witnessed before the beacon: no: ")


def test_cosignatures_by_unknown_witnesses_are_ignored(timed_bundle: DrawBundle) -> None:
    stranger = generate_witness("stranger.example/w9")
    cosign_checkpoint(timed_bundle, [(stranger, at("10:50:00")), (W1, at("10:55:00"))])
    report = verify(timed_bundle, quorum=1)
    assert report.ok
    assert "stranger" not in line(report, "witness-quorum")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("forked", "consistency proof does not reproduce both roots"),
        ("impostor", "no signature from a known key"),
        ("larger", "larger than the checkpoint's 13"),
        ("descending", "not in ascending size order"),
        ("tampered", "does not verify"),
        ("future", "dated in the future"),
        ("shape", "must be {note, consistency}"),
    ],
)
def test_a_bad_witnessed_note_fails(timed_bundle: DrawBundle, change: str, message: str) -> None:
    early = [(W1, at("10:45:00")), (W2, at("10:50:00"))]
    items = [witnessed_item(timed_bundle, 7, early)]
    if change == "forked":
        timed_bundle.events[1] = {**timed_bundle.events[1], "time": "2023-09-15T10:42:00Z"}  # type: ignore[index]
        items = [witnessed_item(timed_bundle, 7, early)]  # a note of another history
        timed_bundle.events[1] = {**timed_bundle.events[1], "time": "2023-09-15T10:41:00Z"}  # type: ignore[index]
    elif change == "impostor":
        items = [witnessed_item(timed_bundle, 7, early, office=generate_signer(ORIGIN))]
    elif change == "larger":
        items = [{**witnessed_item(timed_bundle, 13, early)}]
        bigger = [*timed_bundle.log_entries(), {"type": "review.recorded", "time": "2023-09-16T00:00:00Z"}]
        hashes = [leaf_hash(canonical_json(entry)) for entry in bigger]
        note = sign_checkpoint(timed_bundle.signer, Checkpoint(ORIGIN, 14, tree_hash(hashes)))
        items = [{"note": cosigned(note, early), "consistency": []}]
    elif change == "descending":
        items = [witnessed_item(timed_bundle, 9, early), witnessed_item(timed_bundle, 7, early)]
    elif change == "tampered":
        note = str(items[0]["note"])
        good = cosign(W2, note_parts(note)[0], at("10:50:00")).rstrip("\n")
        forged = cosign(W2, note_parts(note)[0], at("10:40:00")).rstrip("\n")
        name, blob = forged.rsplit(" ", 1)
        # the 10:40 timestamp with the 10:50 signature
        raw = base64.b64decode(blob)[:12] + base64.b64decode(good.rsplit(" ", 1)[1])[12:]
        items[0]["note"] = note.replace(good, f"{name} {base64.b64encode(raw).decode()}")
    elif change == "future":
        items = [witnessed_item(timed_bundle, 7, [(W1, NOW + 601)])]
    elif change == "shape":
        items = [{"note": items[0]["note"]}]
    set_witnessed(timed_bundle, items)
    cosign_checkpoint(timed_bundle, [(W1, at("11:05:00")), (W2, at("11:06:00"))])
    report = verify(timed_bundle)
    assert not report.ok
    assert report.outcomes()["witnessed"] == FAIL
    assert message in line(report, "witnessed")


def test_a_cosignature_up_to_ten_minutes_ahead_is_accepted(timed_bundle: DrawBundle) -> None:
    cosign_checkpoint(timed_bundle, [(W1, NOW + 600)])
    assert verify(timed_bundle, quorum=1, witnesses=[W1]).outcomes()["witness-quorum"] == PASS
    cosign_checkpoint(timed_bundle, [(W2, NOW + 601)])
    report = verify(timed_bundle, quorum=1)
    assert report.outcomes()["witness-quorum"] == FAIL
    assert "news.example.tw/w2 is dated in the future" in line(report, "witness-quorum")


def test_a_draw_without_logged_inputs_says_so(bundle: DrawBundle) -> None:
    cosign_checkpoint(bundle, [(W1, at("10:45:00")), (W2, at("10:50:00"))])
    report = verify(bundle)
    assert report.ok
    assert line(report, "witness-before-beacon") == (
        "– inputs witnessed before the beacon: no verified events.json to find the logged dice and secret in"
    )


def test_cli_verify_with_witnesses_and_a_quorum(
    timed_bundle: DrawBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_witnessed(timed_bundle, [witnessed_item(timed_bundle, 7, [(W1, at("10:45:00")), (W2, at("10:50:00"))])])
    cosign_checkpoint(timed_bundle, [(W1, at("11:05:00"))])
    folder = str(timed_bundle.write(tmp_path / "bundle"))
    (tmp_path / "w2.vkey").write_text(W2.verifier.vkey + "\n")
    witnesses = ["--witness", W1.verifier.vkey, "--witness", str(tmp_path / "w2.vkey")]
    assert main(["verify", folder, *witnesses, "--quorum", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(text.startswith("✓ inputs witnessed before the beacon: yes: ") for text in out)
    assert out[-1].startswith("VERIFIED")
    # By default every given witness must have cosigned the checkpoint: W2 did not.
    assert main(["verify", folder, *witnesses]) == 1
    out = capsys.readouterr().out.splitlines()
    assert any(text.startswith("✗ the checkpoint is cosigned by at least 2 of the 2 given witnesses") for text in out)
    assert main(["verify", folder, *witnesses, "--quorum", "3"]) == 2
    assert "--quorum must be between 1 and" in capsys.readouterr().err
    assert main(["verify", folder, "--quorum", "1"]) == 2
    assert main(["verify", folder, "--witness", W1.verifier.vkey, "--witness", W1.verifier.vkey]) == 2
    assert "same name" in capsys.readouterr().err


def test_a_draw_without_drand_or_without_logged_dice_and_secret_says_so(timed_bundle: DrawBundle) -> None:
    announcement = parse_announcement(timed_bundle.announcement)
    events = parse_events(timed_bundle.files["events.json"])
    policy = WitnessPolicy([W1.verifier], 1, NOW)
    report = Report()
    check_before_beacon(report, replace(announcement, drand_round=None), events, policy, [])
    check_before_beacon(report, announcement, [e for e in events if e.type != "draw.input"], policy, [])
    assert [check.line() for check in report.checks] == [
        "– inputs witnessed before the beacon: the draw uses no drand beacon",
        "– inputs witnessed before the beacon: the draw logs no dice or secret input",
    ]
    assert report.ok


def test_a_mangled_witnessed_json_fails_its_line_and_never_crashes(timed_bundle: DrawBundle) -> None:
    set_witnessed(timed_bundle, [witnessed_item(timed_bundle, 7, [(W1, at("10:45:00")), (W2, at("10:50:00"))])])
    cosign_checkpoint(timed_bundle, [(W1, at("11:05:00")), (W2, at("11:06:00"))])
    original = timed_bundle.files["witnessed.json"]
    outcomes = set()
    for position in range(0, len(original), 7):  # every 7th byte: flipped, and the file cut there
        for mangled in (
            original[:position] + bytes([original[position] ^ 0x01]) + original[position + 1 :],
            original[:position],
        ):
            timed_bundle.files["witnessed.json"] = mangled
            report = verify(timed_bundle)
            outcomes.add(report.outcomes()["witnessed"])
            assert report.outcomes()["witnessed"] in (PASS, FAIL)
            # A flipped bit may also turn a cosignature into an unknown key's line, which is ignored:
            # the file still verifies, with fewer witnesses before the beacon.
            assert report.ok is False or report.outcomes()["witnessed"] == PASS
    assert outcomes == {PASS, FAIL}
