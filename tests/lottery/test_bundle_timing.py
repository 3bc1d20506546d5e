"""The verifier's timing, bindings and events checks (protocol §2a, §4–§5, §10, §12).

The timed bundle is `timed-bindings-244` as the service publishes it (tests/lottery/bundles.py);
each case of tests/lottery/timed_cases.py changes one thing and must fail exactly the named checks.
"""

from datetime import timedelta
from pathlib import Path

import pytest

from lottery.bundle import FAIL, PASS, SKIP, verify_bundle
from lottery.cli import main
from lottery.events import describe_duration
from lottery.signing import Signer
from tests.lottery.bundles import TIMED, DrawBundle, build_bundle
from tests.lottery.timed_cases import CASES, Change

KEYED = ["notice", "timing", "drand-margin", "bindings", "events", "events-inclusion", "events-inputs"]
KEYED += ["events-order", "events-times"]
#: Without witnessed.json and --witness the witness checks are skipped (docs/witness.md).
WITNESS_KEYS = ("witnessed", "witness-quorum", "witness-before-beacon")


@pytest.mark.parametrize(("change", "fails"), [pytest.param(c[1], c[2], id=c[0]) for c in CASES])
def test_each_change_fails_exactly_its_checks(signer: Signer, change: Change, fails: set[str]) -> None:
    bundle = build_bundle(signer, TIMED)
    change(bundle)
    report = verify_bundle(bundle.files, check_bls=False)
    assert {check.key or check.what for check in report.checks if check.outcome == FAIL} == fails
    assert report.ok is (not fails)


def test_the_timed_bundle_passes_every_new_check(timed_bundle: DrawBundle) -> None:
    report = verify_bundle(timed_bundle.files, check_bls=False)
    assert report.outcomes() == {**dict.fromkeys(KEYED, PASS), **dict.fromkeys(WITNESS_KEYS, SKIP)}
    lines = [check.line() for check in report.checks]
    assert "✓ notice given: 3 days 9 h 40 min: announced 2023-09-12T01:00:00Z, draw at 2023-09-15T10:40:00Z" in lines
    assert (
        "✓ input window: dice and secret accepted from scheduled_at until inputs_close_at: "
        "2023-09-15T10:40:00Z – 2023-09-15T10:59:00Z (19 min)"
    ) in lines
    assert (
        "✓ drand round 657413 comes at least 30 s after inputs close: "
        "round 657413 is out at 2023-09-15T11:00:03Z, 63 s after inputs close"
    ) in lines
    assert (
        "✓ the events are logged in order announced → dice → secret → drand → completed: "
        "announced → dice → secret → drand → completed"
    ) in lines
    assert (
        "✓ dice and secret were entered within [scheduled_at, inputs_close_at): "
        "dice 2023-09-15T10:41:00Z, secret 2023-09-15T10:44:00Z"
    ) in lines


def test_an_announcement_without_a_window_reports_timing_not_declared(bundle: DrawBundle) -> None:
    report = verify_bundle(bundle.files, check_bls=False)
    assert report.ok
    outcomes = report.outcomes()
    assert outcomes == {
        "notice": PASS,
        "timing": SKIP,
        "bindings": SKIP,
        "events": SKIP,
        **dict.fromkeys(WITNESS_KEYS, SKIP),
    }
    lines = [check.line() for check in report.checks]
    assert (
        "– timing: not declared (the announcement has no inputs_close_at: it predates the input window, protocol §4)"
        in lines
    )
    assert "✓ notice given: 7 days: announced 2026-01-08T02:00:00Z, draw at 2026-01-15T02:00:00Z" in lines
    assert "– the draw's logged events (events.json): absent from the bundle" in lines


def test_short_notice_without_a_window_is_reported_not_failed(bundle: DrawBundle) -> None:
    document = bundle.announcement
    document["announced_at"] = "2026-01-15T01:57:00Z"
    bundle.reannounce(document)
    report = verify_bundle(bundle.files, check_bls=False)
    assert report.ok
    notice = [check for check in report.checks if check.key == "notice"]
    assert [(c.outcome, c.what) for c in notice] == [(SKIP, "notice given: 3 min")]
    assert "predates that rule" in notice[0].detail


def test_absent_bindings_and_events_are_reported_absent(timed_bundle: DrawBundle) -> None:
    del timed_bundle.files["bindings.tsv"], timed_bundle.files["events.json"]
    report = verify_bundle(timed_bundle.files, check_bls=False)
    assert report.ok
    skipped = {check.key: check.detail for check in report.checks if check.outcome == SKIP and check.key}
    assert skipped == {
        "bindings": "absent from the bundle",
        "events": "absent from the bundle",
        "witnessed": "absent from the bundle",
        "witness-quorum": "no --witness given",
        "witness-before-beacon": "no --witness given",
    }


def test_a_bindings_file_without_a_digest_proves_nothing(bundle: DrawBundle, timed_bundle: DrawBundle) -> None:
    bundle.files["bindings.tsv"] = timed_bundle.files["bindings.tsv"]
    report = verify_bundle(bundle.files, check_bls=False)
    assert report.ok
    assert [c.detail for c in report.checks if c.key == "bindings"] == [
        "present, but the announcement carries no bindings_digest to check it"
    ]


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(days=3, hours=9, minutes=40), "3 days 9 h 40 min"),
        (timedelta(days=1), "1 day"),
        (timedelta(hours=23, minutes=59, seconds=59), "23 h 59 min"),
        (timedelta(seconds=59), "0 min"),
        (timedelta(days=2, minutes=5), "2 days 5 min"),
        (timedelta(minutes=-90), "-1 h 30 min"),
    ],
)
def test_describe_duration(delta: timedelta, text: str) -> None:
    assert describe_duration(delta) == text


def test_cli_prints_the_timing_lines_and_fails_a_late_dice_event(
    timed_bundle: DrawBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(timed_bundle.write(tmp_path / "good"))]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "VERIFIED: every check passed"
    assert any(line.startswith("✓ notice given: 3 days 9 h 40 min") for line in out)
    assert any(line.startswith("✓ bindings.tsv is the committed bindings file") for line in out)
    assert any(line.startswith("✓ every event in events.json is in the checkpoint: 6 events") for line in out)
    late = dict(CASES_BY_ID)["dice-at-close"]
    late(timed_bundle)
    assert main(["verify", str(timed_bundle.write_zip(tmp_path / "late.zip", prefix="timed-bindings-244/"))]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "NOT VERIFIED: at least one check failed"
    assert [line for line in out if line.startswith("✗ ")] == [
        "✗ dice and secret were entered within [scheduled_at, inputs_close_at): draw.input dice (index 3) was "
        "entered at 2023-09-15T10:59:00Z, at or after inputs_close_at 2023-09-15T10:59:00Z"
    ]


def test_cli_fails_a_bindings_file_that_differs_from_its_digest(
    timed_bundle: DrawBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dict(CASES_BY_ID)["bindings-line"](timed_bundle)
    assert main(["verify", str(timed_bundle.write(tmp_path / "bundle"))]) == 1
    failed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("✗ ")]
    assert len(failed) == 1
    assert failed[0].startswith(
        "✗ bindings.tsv is the committed bindings file (digest, ids and order of population.tsv): sha256 "
    )


CASES_BY_ID = [(case[0], case[1]) for case in CASES]
