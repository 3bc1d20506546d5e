"""The in-browser verifier's ES modules, run under Node: they agree with the Python reference on
every draw vector and every RFC 9162 proof vector. (Chromium runs the same code in tests/browser.)"""

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lottery.bundle import verify_bundle
from lottery.signing import generate_signer
from tests.lottery.bundles import ORIGIN, STRATIFIED, TIMED, DrawBundle, build_bundle
from tests.lottery.timed_cases import CASES

HERE = Path(__file__).parent
VECTORS = HERE.parent / "vectors"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def test_every_draw_vector_agrees_with_python() -> None:
    completed = subprocess.run(
        ["node", str(HERE / "node_vectors.mjs"), str(VECTORS / "draw")],
        capture_output=True,
        timeout=120,
        check=True,
    )
    outcomes = [json.loads(line) for line in completed.stdout.decode().splitlines()]
    cases = sorted(p.name for p in (VECTORS / "draw").iterdir() if p.is_dir())
    assert [o["case"] for o in outcomes] == cases
    for outcome in outcomes:
        case = VECTORS / "draw" / outcome["case"]
        if (case / "error.txt").exists():
            assert "error" in outcome and "result" not in outcome, outcome["case"]
        else:
            assert outcome.get("result", "").encode() == (case / "result.json").read_bytes(), outcome


def test_every_merkle_vector_agrees_with_python() -> None:
    completed = subprocess.run(
        ["node", str(HERE / "node_merkle.mjs"), str(VECTORS / "tlog")],
        capture_output=True,
        timeout=120,
        check=True,
    )
    outcomes = [json.loads(line) for line in completed.stdout.decode().splitlines()]
    assert len(outcomes) > 50
    wrong = [o for o in outcomes if o["valid"] is o["wantErr"]]
    assert wrong == []


def test_the_synchronous_sha256_agrees_with_webcrypto_on_every_length() -> None:
    completed = subprocess.run(["node", str(HERE / "node_sha256.mjs")], capture_output=True, timeout=120, check=True)
    outcome = json.loads(completed.stdout)
    assert outcome["wrong"] == []
    assert outcome["checked"] > 10_000


# --- the timed bundles: the browser verifier agrees with `python -m lottery verify` --------------

#: Check ids of bundle.js that `lottery.bundle` names alike (`Check.key`).
KEYED = {"notice", "timing", "drand-margin", "bindings", "events", "events-inclusion", "events-inputs"}
KEYED |= {"events-order", "events-times", "witnessed", "witness-quorum", "witness-before-beacon"}


def _run_node_on_bundles(folder: Path) -> dict[str, dict[str, Any]]:
    completed = subprocess.run(
        ["node", str(HERE / "node_bundles.mjs"), str(folder)], capture_output=True, timeout=300, check=True
    )
    outcomes = [json.loads(line) for line in completed.stdout.decode().splitlines()]
    return {outcome["case"]: outcome for outcome in outcomes}


def test_the_browser_verifier_agrees_on_every_timed_bundle(tmp_path: Path) -> None:
    signer = generate_signer(ORIGIN)
    expected: dict[str, tuple[bool, dict[str, str], set[str]]] = {}
    for name, change, fails in [*CASES, ("stratified", lambda bundle: None, set())]:
        bundle = build_bundle(signer, STRATIFIED if name == "stratified" else TIMED)
        change(bundle)
        bundle.write(tmp_path / name)
        report = verify_bundle(bundle.files, check_bls=False)
        expected[name] = (report.ok, {k: v for k, v in report.outcomes().items() if k in KEYED}, fails)
    outcomes = _run_node_on_bundles(tmp_path)
    assert sorted(outcomes) == sorted(expected)
    for name, (ok, python_outcomes, fails) in expected.items():
        outcome = outcomes[name]
        assert "error" not in outcome, outcome
        js_outcomes = {check["id"]: check["outcome"] for check in outcome["checks"] if check["id"] in KEYED}
        assert js_outcomes == python_outcomes, name
        assert outcome["ok"] is ok, (name, [c for c in outcome["checks"] if c["outcome"] == "fail"])
        assert {check["id"] for check in outcome["checks"] if check["outcome"] == "fail"} == fails, name


def test_the_browser_verifier_words_the_timing_as_python_does(tmp_path: Path) -> None:
    signer = generate_signer(ORIGIN)
    for name, case in (("timed", TIMED), ("stratified", STRATIFIED)):
        build_bundle(signer, case).write(tmp_path / name)
    outcomes = _run_node_on_bundles(tmp_path)
    for name, case in (("timed", TIMED), ("stratified", STRATIFIED)):
        report = verify_bundle(build_bundle(signer, case).files, check_bls=False)
        python = {check.key: check.detail for check in report.checks if check.key in KEYED}
        node = {check["id"]: check["detail"] for check in outcomes[name]["checks"] if check["id"] in KEYED}
        assert node == python, name
    notice = next(check for check in outcomes["timed"]["checks"] if check["id"] == "notice")
    assert notice["params"] == {"notice": "3 days 9 h 40 min"}


# --- witness cosignatures: the browser verifier says what `verify --witness … --quorum K` says ------


def _witness_cases() -> list[tuple[str, Callable[[DrawBundle], None], int, set[str]]]:
    """(name, change to the timed bundle, quorum, the witness checks expected to fail)."""
    from tests.lottery.test_witnessed import W1, W2, at, cosign_checkpoint, set_witnessed, witnessed_item

    def yes(bundle: DrawBundle) -> None:
        set_witnessed(bundle, [witnessed_item(bundle, 7, [(W1, at("10:45:00")), (W2, at("10:50:00"))])])
        cosign_checkpoint(bundle, [(W1, at("11:05:00")), (W2, at("11:06:00"))])

    def late(bundle: DrawBundle) -> None:
        set_witnessed(
            bundle,
            [
                witnessed_item(bundle, 7, [(W1, at("10:45:00"))]),
                witnessed_item(bundle, 11, [(W1, at("11:01:00")), (W2, at("11:02:00"))]),
            ],
        )
        cosign_checkpoint(bundle, [(W1, at("11:05:00")), (W2, at("11:06:00"))])

    def unwitnessed(bundle: DrawBundle) -> None:
        set_witnessed(bundle, [witnessed_item(bundle, 5, [(W1, at("10:45:00")), (W2, at("10:46:00"))])])
        cosign_checkpoint(bundle, [(W1, at("11:05:00"))])

    def forged(bundle: DrawBundle) -> None:
        yes(bundle)
        items = json.loads(bundle.files["witnessed.json"])
        items[0]["consistency"] = items[0]["consistency"][1:]
        bundle.files["witnessed.json"] = json.dumps(items).encode()

    return [
        ("yes", yes, 2, set()),
        ("late-for-two", late, 2, {"witness-before-beacon"}),
        ("early-for-one", late, 1, set()),
        ("not-witnessed", unwitnessed, 2, {"witness-quorum", "witness-before-beacon"}),
        ("bad-proof", forged, 2, {"witnessed", "witness-before-beacon"}),
    ]


def test_the_browser_verifier_agrees_on_witness_cosignatures(tmp_path: Path) -> None:
    from tests.lottery.test_witnessed import NOW, W1, W2

    signer = generate_signer(ORIGIN)
    witnesses = [W1.verifier, W2.verifier]
    keys = ("witnessed", "witness-quorum", "witness-before-beacon")
    expected = {}
    for name, change, quorum, fails in _witness_cases():
        bundle = build_bundle(signer, TIMED)
        change(bundle)
        folder = bundle.write(tmp_path / name)
        options = {"witnesses": [w.vkey for w in witnesses], "quorum": quorum, "now": NOW}
        (folder / "options.json").write_text(json.dumps(options))
        report = verify_bundle(bundle.files, check_bls=False, witnesses=witnesses, quorum=quorum, now=NOW)
        failed = {check.key for check in report.checks if check.outcome == "fail"}
        assert failed == fails, name  # the cases are what they say
        expected[name] = {check.key: (check.outcome, check.detail) for check in report.checks if check.key in keys}
    outcomes = _run_node_on_bundles(tmp_path)
    for name, python in expected.items():
        assert "error" not in outcomes[name], outcomes[name]
        node = {c["id"]: (c["outcome"], c["detail"]) for c in outcomes[name]["checks"] if c["id"] in keys}
        assert node == python, name
