"""Bundle verification (protocol §12, docs/bundle.md): a correct bundle passes; any single change fails.

The bundles come from `tests/lottery/bundles.py`: the `stratified-244` vector signed with a fresh
key, with a checkpoint and the inclusion proofs of its `draw.announced` and `draw.completed`
log entries.
"""

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lottery import engine
from lottery.bundle import FAIL, MAX_MEMBER_BYTES, OPTIONAL, PASS, REQUIRED, SKIP, Report, read_bundle, verify_bundle
from lottery.canonical import canonical_json
from lottery.cli import main
from lottery.errors import ProtocolError
from lottery.signing import Signer, generate_signer
from tests.lottery.bundles import CORE, ORIGIN, DrawBundle, build_bundle
from tests.lottery.test_cli import run_cli

ROOT = Path(__file__).parents[2]
RECOMPUTE = "every ticket, group, threshold and the selected lists recompute exactly"
NOT_RECOMPUTED = "the draw recomputes exactly"
ANNOUNCED_POPULATION = "population.tsv is the announced population (digest, size, strata)"
SEED = "the seed recomputes from the announcement and the inputs"
ANNOUNCEMENT_SIG = "announcement.json.sig is the office's signature over announcement.json"
RESULT_SIG = "result.json.sig is the office's signature over result.json"
CHECKPOINT = "checkpoint is signed by the office key"
ANNOUNCED_ENTRY = "log entry draw.announced (index 1) is in the checkpoint"
COMPLETED_ENTRY = "log entry draw.completed (index 3) is in the checkpoint"
BLS = "drand round 657413: BLS signature verifies against the quicknet key"


def failed(report: Report) -> dict[str, str]:
    """The failed checks of a report, what → detail."""
    return {check.what: check.detail for check in report.checks if check.outcome == FAIL}


def outcome(report: Report, what: str) -> tuple[str, str]:
    """The outcome and detail of the one check named `what`."""
    matches = [(check.outcome, check.detail) for check in report.checks if check.what == what]
    assert len(matches) == 1, f"{what!r} appears {len(matches)} times"
    return matches[0]


# --- the correct bundle ----------------------------------------------------------------------


def test_a_complete_bundle_passes_every_check(bundle: DrawBundle) -> None:
    report = verify_bundle(bundle.files)
    assert report.ok
    # stratified-244 predates the input window and bindings: those lines say so (tests/lottery/test_bundle_timing.py).
    # Without witnessed.json and --witness the three witness lines are skipped (docs/witness.md).
    undeclared = {"timing", "bindings", "events", "witnessed", "witness-quorum", "witness-before-beacon"}
    assert [check.outcome for check in report.checks if check.key not in undeclared] == [PASS] * (
        len(report.checks) - len(undeclared)
    )
    assert {check.key: check.outcome for check in report.checks if check.key in undeclared} == dict.fromkeys(
        undeclared, SKIP
    )
    names = [check.what for check in report.checks]
    for what in (
        "population.tsv is canonical",
        ANNOUNCED_POPULATION,
        "office verifier key",
        ANNOUNCEMENT_SIG,
        RESULT_SIG,
        "the revealed secret reproduces the announced commitment",
        "dice: 20 digits as announced",
        "drand round 657413: randomness = sha256(signature)",
        BLS,
        SEED,
        RECOMPUTE,
        CHECKPOINT,
        ANNOUNCED_ENTRY,
        COMPLETED_ENTRY,
    ):
        assert what in names
    assert outcome(report, RECOMPUTE) == (PASS, "review 25, comparison 1")
    assert outcome(report, CHECKPOINT) == (PASS, f"log {ORIGIN} of size 5")


def test_read_bundle_reads_a_folder_and_a_zip_alike(bundle: DrawBundle, tmp_path: Path) -> None:
    from_folder = read_bundle(bundle.write(tmp_path / "folder"))
    from_zip = read_bundle(bundle.write_zip(tmp_path / "bundle.zip"))
    in_subfolder = read_bundle(bundle.write_zip(tmp_path / "nested.zip", prefix="stratified-244/"))
    expected = {name: data for name, data in bundle.files.items() if name != "VERIFY.md"}
    assert from_folder == from_zip == in_subfolder == expected


def test_read_bundle_ignores_members_two_folders_down(bundle: DrawBundle, tmp_path: Path) -> None:
    assert read_bundle(bundle.write_zip(tmp_path / "deep.zip", prefix="a/b/")) == {}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder / "missing.zip", "^no bundle at .*missing.zip$"),
        (lambda folder: folder / "plain.txt", "^.*plain.txt is neither a folder nor a readable zip: "),
    ],
    ids=["missing", "not-a-zip"],
)
def test_read_bundle_refusals(tmp_path: Path, make: Callable[[Path], Path], message: str) -> None:
    (tmp_path / "plain.txt").write_text("not a zip")
    with pytest.raises(ProtocolError, match=message):
        read_bundle(make(tmp_path))


@pytest.mark.parametrize("missing", REQUIRED)
def test_each_required_file_is_required(bundle: DrawBundle, missing: str) -> None:
    files = dict(bundle.files)
    del files[missing]
    report = verify_bundle(files, check_bls=False)
    assert not report.ok
    assert failed(report) == {"bundle has the five required files": f"missing {missing}"}


def test_the_five_core_files_verify_with_a_key(bundle: DrawBundle, signer: Signer) -> None:
    files = {name: bundle.files[name] for name in CORE}
    report = verify_bundle(files, key=signer.verifier.vkey, check_bls=False)
    assert report.ok
    assert outcome(report, "log checkpoint") == (SKIP, "absent from the bundle")
    assert outcome(report, "inclusion of the draw's log entries") == (SKIP, "absent from the bundle")
    assert outcome(report, "office verifier key") == (PASS, f"{signer.verifier.vkey} (given with --key)")


def test_a_checkpoint_without_proofs_reports_them_absent(bundle: DrawBundle) -> None:
    files = dict(bundle.files)
    del files["inclusion.json"]
    report = verify_bundle(files, check_bls=False)
    assert report.ok
    assert outcome(report, CHECKPOINT)[0] == PASS
    assert outcome(report, "inclusion of the draw's log entries") == (
        SKIP,
        "inclusion.json absent from the bundle",
    )


def test_without_any_key_nothing_signed_passes(bundle: DrawBundle) -> None:
    files = dict(bundle.files)
    del files["office.vkey"]
    report = verify_bundle(files, check_bls=False)
    assert failed(report) == {
        "office verifier key": "no key given with --key and no office.vkey in the bundle",
        ANNOUNCEMENT_SIG: "no usable key",
        RESULT_SIG: "no usable key",
        CHECKPOINT: "no usable key",
        ANNOUNCED_ENTRY: "the checkpoint did not verify",
        COMPLETED_ENTRY: "the checkpoint did not verify",
    }


def test_the_key_given_overrides_the_bundles_own(bundle: DrawBundle, signer: Signer) -> None:
    impostor = generate_signer(ORIGIN)
    forged = build_bundle(impostor)
    assert verify_bundle(forged.files, check_bls=False).ok  # consistent with its own office.vkey
    report = verify_bundle(forged.files, key=signer.verifier.vkey, check_bls=False)
    assert set(failed(report)) == {ANNOUNCEMENT_SIG, RESULT_SIG, CHECKPOINT, ANNOUNCED_ENTRY, COMPLETED_ENTRY}
    assert failed(report)[RESULT_SIG] == (
        f"signature does not verify with key {signer.name}+{signer.verifier.key_id.hex()}"
    )
    bundle.files["office.vkey"] = forged.files["office.vkey"]
    assert verify_bundle(bundle.files, key=signer.verifier.vkey, check_bls=False).ok


def test_a_malformed_key_fails_the_key_check(bundle: DrawBundle) -> None:
    bundle.files["office.vkey"] = b"not a key\n"
    report = verify_bundle(bundle.files, check_bls=False)
    assert failed(report)["office verifier key"] == "a verifier key must be <name>+<key id>+<base64 key>"


# --- single changes, each caught ---------------------------------------------------------------


def _flip_sig(name: str) -> Callable[[DrawBundle], None]:
    def change(bundle: DrawBundle) -> None:
        raw = bytearray(base64.b64decode(bundle.files[name]))
        raw[10] ^= 0x01
        bundle.files[name] = base64.b64encode(raw) + b"\n"

    return change


def _flip_checkpoint_signature(bundle: DrawBundle) -> None:
    body, line = bundle.files["checkpoint"].decode().rsplit("\n", 2)[:2]
    prefix, encoded = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[20] ^= 0x01
    bundle.files["checkpoint"] = f"{body}\n{prefix} {base64.b64encode(raw).decode()}\n".encode()


def _change_population_line(bundle: DrawBundle) -> None:
    data = bundle.files["population.tsv"]
    assert b"114-0001\tregular\n" in data
    bundle.files["population.tsv"] = data.replace(b"114-0001\tregular\n", b"114-0001\tnon-regular\n", 1)


def _rename_population_entry(bundle: DrawBundle) -> None:
    data = bundle.files["population.tsv"]
    bundle.files["population.tsv"] = data.replace(b"114-0001\t", b"114-0000\t", 1)


def _crlf_population(bundle: DrawBundle) -> None:
    bundle.files["population.tsv"] = bundle.files["population.tsv"].replace(b"\n", b"\r\n")


def _change_dice(resign: bool) -> Callable[[DrawBundle], None]:
    def change(bundle: DrawBundle) -> None:
        result = bundle.result
        dice = result["inputs"]["dice"]
        result["inputs"]["dice"] = str((int(dice[0]) + 1) % 10) + dice[1:]
        bundle.set_result(result, resign=resign)

    return change


def _swap_selected(resign: bool) -> Callable[[DrawBundle], None]:
    def change(bundle: DrawBundle) -> None:
        result = bundle.result
        selected = result["stages"][0]["selected"]
        selected[0], selected[1] = selected[1], selected[0]
        bundle.set_result(result, resign=resign)

    return change


def _edit_result(edit: Callable[[dict[str, object]], object]) -> Callable[[DrawBundle], None]:
    def change(bundle: DrawBundle) -> None:
        result = bundle.result
        edit(result)
        bundle.set_result(result, resign=True)

    return change


def _edit_proofs(edit: Callable[[list[dict[str, object]]], object]) -> Callable[[DrawBundle], None]:
    def change(bundle: DrawBundle) -> None:
        proofs = json.loads(bundle.files["inclusion.json"])
        edit(proofs)
        bundle.files["inclusion.json"] = json.dumps(proofs).encode()

    return change


def _alter_entry(field: str, value: str) -> Callable[[list[dict[str, object]]], None]:
    """Change one field of the draw.completed entry (the second proof), keeping it canonical."""

    def edit(proofs: list[dict[str, object]]) -> None:
        entry = json.loads(str(proofs[1]["entry"]))
        entry[field] = value
        proofs[1]["entry"] = canonical_json(entry).decode()

    return edit


def _flip_path(proofs: list[dict[str, object]]) -> None:
    path = proofs[0]["path"]
    assert isinstance(path, list)
    raw = bytearray(base64.b64decode(path[0]))
    raw[0] ^= 0x80
    path[0] = base64.b64encode(raw).decode()


def _alter_announcement_title(bundle: DrawBundle) -> None:
    announcement = bundle.announcement
    announcement["title"] = "Another title"
    bundle.files["announcement.json"] = canonical_json(announcement)


def _pretty_result(bundle: DrawBundle) -> None:
    bundle.files["result.json"] = json.dumps(bundle.result, indent=1).encode()
    bundle.sign("result.json")
    bundle.log()


def _set_inputs(field: str, value: object) -> Callable[[dict[str, object]], None]:
    def edit(result: dict[str, object]) -> None:
        inputs = result["inputs"]
        assert isinstance(inputs, dict)
        inputs[field] = value

    return edit


def _set_drand(field: str, value: object) -> Callable[[dict[str, object]], None]:
    def edit(result: dict[str, object]) -> None:
        inputs = result["inputs"]
        assert isinstance(inputs, dict)
        inputs["drand"][field] = value

    return edit


#: (id, change, the checks that must fail, whether exactly those fail)
CHANGES: list[tuple[str, Callable[[DrawBundle], None], set[str], bool]] = [
    (
        "population-line",
        _change_population_line,
        {ANNOUNCED_POPULATION, NOT_RECOMPUTED, ANNOUNCED_ENTRY},
        True,
    ),
    (
        "population-id",
        _rename_population_entry,
        {ANNOUNCED_POPULATION, NOT_RECOMPUTED, ANNOUNCED_ENTRY},
        True,
    ),
    ("population-crlf", _crlf_population, {"population.tsv is canonical", NOT_RECOMPUTED}, False),
    ("dice-digit-resigned", _change_dice(resign=True), {SEED}, True),
    ("dice-digit", _change_dice(resign=False), {RESULT_SIG, SEED, COMPLETED_ENTRY}, True),
    ("selected-order-resigned", _swap_selected(resign=True), {RECOMPUTE}, True),
    ("selected-order", _swap_selected(resign=False), {RESULT_SIG, RECOMPUTE, COMPLETED_ENTRY}, True),
    ("announcement-sig-byte", _flip_sig("announcement.json.sig"), {ANNOUNCEMENT_SIG}, True),
    ("result-sig-byte", _flip_sig("result.json.sig"), {RESULT_SIG}, True),
    (
        "checkpoint-sig-byte",
        _flip_checkpoint_signature,
        {CHECKPOINT, ANNOUNCED_ENTRY, COMPLETED_ENTRY},
        True,
    ),
    ("log-entry-time", _edit_proofs(_alter_entry("time", "2026-01-15T02:03:05Z")), {COMPLETED_ENTRY}, True),
    ("log-entry-digest", _edit_proofs(_alter_entry("result_digest", "0" * 64)), {COMPLETED_ENTRY}, True),
    ("log-proof-path", _edit_proofs(_flip_path), {ANNOUNCED_ENTRY}, True),
    (
        "log-proof-dropped",
        _edit_proofs(lambda proofs: proofs.pop()),
        {"log entry draw.completed is in the checkpoint"},
        True,
    ),
    (
        "announcement-edited",
        _alter_announcement_title,
        {ANNOUNCEMENT_SIG, "result.json is canonical and belongs to this announcement", ANNOUNCED_ENTRY},
        False,
    ),
    ("result-not-canonical", _pretty_result, {"result.json is canonical and belongs to this announcement"}, False),
    (
        "result-other-secret",
        _edit_result(_set_inputs("secret", "0" * 64)),
        {"the revealed secret reproduces the announced commitment"},
        False,
    ),
    ("result-short-dice", _edit_result(_set_inputs("dice", "1234")), {"dice: 20 digits as announced"}, False),
    (
        "result-other-round",
        _edit_result(_set_drand("round", 657414)),
        {"drand round 657413 as announced"},
        False,
    ),
    (
        "result-other-randomness",
        _edit_result(_set_drand("randomness", "0" * 64)),
        {"drand round 657413: randomness = sha256(signature)"},
        False,
    ),
    ("result-other-seed", _edit_result(lambda r: r.update(seed="0" * 64)), {SEED}, True),
    (
        "result-other-draw",
        _edit_result(lambda r: r.update(announcement_digest="0" * 64)),
        {"result.json is canonical and belongs to this announcement"},
        False,
    ),
]


@pytest.mark.parametrize(("change", "expected", "exactly"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_each_single_change_is_caught(
    bundle: DrawBundle, change: Callable[[DrawBundle], None], expected: set[str], exactly: bool
) -> None:
    change(bundle)
    report = verify_bundle(bundle.files, check_bls=False)
    assert not report.ok
    if exactly:
        assert set(failed(report)) == expected
    else:
        assert expected <= set(failed(report))


def _unchanged(bundle: DrawBundle) -> None:
    del bundle


@pytest.mark.parametrize("change", [_unchanged, *(c[1] for c in CHANGES)], ids=["unchanged", *(c[0] for c in CHANGES)])
def test_a_large_bundle_read_in_slices_gets_the_same_report(
    bundle: DrawBundle, change: Callable[[DrawBundle], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large population is recomputed from its bytes in parallel slices when everything is as
    # announced; the report must not tell the two paths apart, whatever is wrong with the bundle.
    change(bundle)
    one_process = verify_bundle(bundle.files, check_bls=False).checks
    monkeypatch.setattr(engine, "PARALLEL_MIN_LINES", 1)
    monkeypatch.setattr(engine, "_usable_cores", lambda: 3)
    answered: list[bool] = []
    original = engine._run_draw_in_slices

    def recording(*args: object) -> object:
        result = original(*args)  # type: ignore[arg-type]
        answered.append(result is not None)
        return result

    monkeypatch.setattr(engine, "_run_draw_in_slices", recording)
    assert verify_bundle(bundle.files, check_bls=False).checks == one_process
    if change is _unchanged:
        assert answered == [True]  # the honest bundle was recomputed in slices


def test_a_swapped_pick_names_the_rank_that_differs(bundle: DrawBundle) -> None:
    first = bundle.result["stages"][0]["selected"][0]
    _swap_selected(resign=True)(bundle)
    detail = failed(verify_bundle(bundle.files, check_bls=False))[RECOMPUTE]
    assert detail == f"stage review: rank 1 should be {first['id']} with ticket {first['ticket']}"


def test_a_proof_for_another_tree_size_is_refused(bundle: DrawBundle) -> None:
    _edit_proofs(lambda proofs: proofs[0].update(size=4))(bundle)
    detail = failed(verify_bundle(bundle.files, check_bls=False))[ANNOUNCED_ENTRY]
    assert detail == "proof is for tree size 4, the checkpoint has 5"


def test_an_entry_of_another_draw_is_refused(bundle: DrawBundle) -> None:
    _edit_proofs(_alter_entry("draw_id", "another-draw"))(bundle)
    detail = failed(verify_bundle(bundle.files, check_bls=False))[COMPLETED_ENTRY]
    assert detail == "entry's draw_id does not match this bundle"


@pytest.mark.parametrize(
    ("inclusion", "message"),
    [
        (b"{}", "inclusion.json must be a non-empty list of proofs"),
        (b"[]", "inclusion.json must be a non-empty list of proofs"),
        (b"[1.5]", "inclusion.json is not valid JSON: number 1.5 is not an integer"),
    ],
)
def test_a_malformed_inclusion_file_fails(bundle: DrawBundle, inclusion: bytes, message: str) -> None:
    bundle.files["inclusion.json"] = inclusion
    assert failed(verify_bundle(bundle.files, check_bls=False)) == {"inclusion of the draw's log entries": message}


@pytest.mark.parametrize(
    ("proof", "what", "detail"),
    [
        (5, "log entry (malformed) is in the checkpoint", "proof must be {index, size, entry, path}"),
        (
            {"entry": "{}"},
            "log entry None (index None) is in the checkpoint",
            "proof must be {index, size, entry, path}",
        ),
        (
            {"index": 1, "size": 5, "entry": "not json", "path": []},
            "log entry (malformed) is in the checkpoint",
            "log entry is not valid JSON: Expecting value: line 1 column 1 (char 0)",
        ),
        (
            {"index": 1, "size": 5, "entry": "{}", "path": "AAAA"},
            "log entry None (index 1) is in the checkpoint",
            "proof must be {index, size, entry, path}",
        ),
        (
            {"index": 1, "size": 5, "entry": '{"type": "draw.announced"}', "path": []},
            ANNOUNCED_ENTRY,
            "log entry is not in canonical form (RFC 8785, one line, no newline)",
        ),
        (
            {"index": 1, "size": 5, "entry": '{"type":"key.added"}', "path": []},
            "log entry key.added (index 1) is in the checkpoint",
            "entry is not a draw event of this bundle",
        ),
    ],
    ids=["number", "no-index", "entry-not-json", "path-not-list", "entry-not-canonical", "other-event"],
)
def test_malformed_proofs_fail_without_crashing(bundle: DrawBundle, proof: object, what: str, detail: str) -> None:
    proofs = json.loads(bundle.files["inclusion.json"])
    bundle.files["inclusion.json"] = json.dumps([*proofs, proof]).encode()
    assert failed(verify_bundle(bundle.files, check_bls=False)) == {what: detail}


def test_a_path_that_is_not_base64_fails(bundle: DrawBundle) -> None:
    _edit_proofs(lambda proofs: proofs[0].update(path=["é"]))(bundle)
    assert failed(verify_bundle(bundle.files, check_bls=False)) == {ANNOUNCED_ENTRY: "proof path is not base64"}


# --- through the command line --------------------------------------------------------------------


#: What `verify` says of witnesses for a bundle without witnessed.json, run without --witness.
WITNESS_SKIPPED = (
    "– witnessed.json: every note is signed by the office key and consistent with the checkpoint: "
    "absent from the bundle",
    "– witness cosignatures on the checkpoint: no --witness given",
    "– inputs witnessed before the beacon: no --witness given",
)


def test_cli_verifies_a_bundle_folder(timed_bundle: DrawBundle, tmp_path: Path) -> None:
    completed = run_cli("verify", str(timed_bundle.write(tmp_path / "bundle")))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[-1] == "VERIFIED: every check passed"
    assert all(line.startswith("✓ ") for line in lines[:-1] if line not in WITNESS_SKIPPED)
    assert [line for line in lines if line in WITNESS_SKIPPED] == list(WITNESS_SKIPPED)
    assert f"✓ {BLS}" in lines
    assert completed.stderr == ""


def test_cli_verifies_a_bundle_zip(bundle: DrawBundle, tmp_path: Path) -> None:
    completed = run_cli("verify", str(bundle.write_zip(tmp_path / "bundle.zip", prefix="stratified-244/")))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.splitlines()[-1] == "VERIFIED: every check passed"


def test_cli_verifies_the_five_core_files_with_a_key(bundle: DrawBundle, signer: Signer, tmp_path: Path) -> None:
    folder = bundle.write(tmp_path / "core", names=CORE)
    assert sorted(p.name for p in folder.iterdir()) == sorted(CORE)
    (tmp_path / "office.vkey").write_text(signer.verifier.vkey + "\n")
    for key in (signer.verifier.vkey, str(tmp_path / "office.vkey")):
        completed = run_cli("verify", str(folder), "--key", key)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        lines = completed.stdout.splitlines()
        assert "– log checkpoint: absent from the bundle" in lines
        assert "– inclusion of the draw's log entries: absent from the bundle" in lines
        assert lines[-1] == "VERIFIED: every check passed"


#: The changes the brief of the bundle format names, checked again through `python -m lottery verify`.
CLI_CHANGES = {
    "population-line",
    "dice-digit-resigned",
    "dice-digit",
    "selected-order-resigned",
    "announcement-sig-byte",
    "result-sig-byte",
    "log-entry-time",
}


@pytest.mark.parametrize("change", [pytest.param(c[1], id=c[0]) for c in CHANGES if c[0] in CLI_CHANGES])
def test_cli_rejects_each_single_change(
    bundle: DrawBundle, change: Callable[[DrawBundle], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change(bundle)
    code = main(["verify", str(bundle.write(tmp_path / "bundle"))])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[-1] == "NOT VERIFIED: at least one check failed"
    assert any(line.startswith("✗ ") for line in out)


def test_cli_says_plainly_when_the_bls_check_was_skipped(timed_bundle: DrawBundle, tmp_path: Path) -> None:
    folder = timed_bundle.write(tmp_path / "bundle")
    block_py_ecc = (
        "import sys; sys.modules['py_ecc'] = None; "
        "from lottery.cli import main; sys.exit(main(['verify', sys.argv[1]]))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", block_py_ecc, str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    lines = completed.stdout.splitlines()
    assert f"– {BLS}: SKIPPED because py_ecc is not installed (pip install py_ecc)" in lines
    assert f"✓ {BLS}" not in lines
    assert completed.returncode == 0
    assert sum(line.startswith("– ") for line in lines if line not in WITNESS_SKIPPED) == 1


def test_cli_refuses_a_missing_bundle_in_one_line(tmp_path: Path) -> None:
    completed = run_cli("verify", str(tmp_path / "nothing.zip"))
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == f"refused: no bundle at {tmp_path / 'nothing.zip'}\n"


def test_the_layout_document_names_what_the_verifier_reads() -> None:
    layout = (ROOT / "docs" / "bundle.md").read_text(encoding="utf-8")
    for name in (*REQUIRED, *OPTIONAL, "VERIFY.md"):
        assert f"| `{name}` |" in layout
    assert f"{MAX_MEMBER_BYTES // 2**20} MiB" in layout
    for line in ("VERIFIED: every check passed", "NOT VERIFIED: at least one check failed"):
        assert line in layout
