"""`python -m lottery` (protocol §12): keygen, sign, ticket, and how bad usage is refused.

`draw` is exercised on every vector by `test_vectors.py` and `verify` by `test_bundle.py`.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lottery.cli import PASSPHRASE_VARIABLE, main
from lottery.keyfile import open_private_key
from lottery.signing import load_vkey, open_note, parse_vkey, verify_document

ROOT = Path(__file__).parents[2]
CASE = ROOT / "tests" / "vectors" / "draw" / "stratified-244"
PASSPHRASE = "correct horse battery staple"
NAME = "ethics.example.gov.tw/draws"


def run_cli(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m lottery ARGUMENTS` in a fresh interpreter, stdin not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "lottery", *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def _environment(passphrase: str | None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != PASSPHRASE_VARIABLE}
    if passphrase is not None:
        env[PASSPHRASE_VARIABLE] = passphrase
    return env


@pytest.fixture(scope="module")
def office_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """`keygen` run once for the module: the key file, the vkey file and the command's output."""
    folder = tmp_path_factory.mktemp("keys")
    completed = run_cli("keygen", "--name", NAME, "--out", str(folder), env=_environment(PASSPHRASE))
    return folder / "office.key", folder / "office.vkey", completed


def test_keygen_writes_an_encrypted_key_and_its_vkey(
    office_key: tuple[Path, Path, subprocess.CompletedProcess[str]],
) -> None:
    key_path, vkey_path, completed = office_key
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    vkey = vkey_path.read_text()
    assert vkey.endswith("\n") and vkey.count("\n") == 1
    verifier = parse_vkey(vkey)
    assert verifier.name == NAME
    assert completed.stdout.splitlines() == [
        f"private key (encrypted): {key_path}",
        f"verifier key: {vkey_path}",
        verifier.vkey,
    ]
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    sealed = key_path.read_bytes()
    assert json.loads(sealed)["kdf"]["memory_kib"] == 262_144
    assert open_private_key(sealed, PASSPHRASE).verifier.vkey == verifier.vkey


def test_keygen_refuses_to_overwrite_a_key(
    office_key: tuple[Path, Path, subprocess.CompletedProcess[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key_path, _, _ = office_key
    before = key_path.read_bytes()
    monkeypatch.setenv(PASSPHRASE_VARIABLE, PASSPHRASE)
    assert main(["keygen", "--name", NAME, "--out", str(key_path.parent)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"refused: {key_path} exists; refusing to overwrite a private key (use --force)\n"
    assert key_path.read_bytes() == before


def test_sign_writes_a_signature_that_verifies(
    office_key: tuple[Path, Path, subprocess.CompletedProcess[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key_path, vkey_path, _ = office_key
    document = tmp_path / "announcement.json"
    document.write_bytes((CASE / "announcement.json").read_bytes())
    monkeypatch.setenv(PASSPHRASE_VARIABLE, PASSPHRASE)
    assert main(["sign", str(document), "--key", str(key_path)]) == 0
    assert capsys.readouterr().out == f"wrote {document}.sig\n"
    verify_document(load_vkey(str(vkey_path)), document.read_bytes(), Path(f"{document}.sig").read_bytes())


def test_sign_note_writes_a_signed_note(
    office_key: tuple[Path, Path, subprocess.CompletedProcess[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key_path, vkey_path, _ = office_key
    body = tmp_path / "checkpoint.txt"
    body.write_text(f"{NAME}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
    monkeypatch.setenv(PASSPHRASE_VARIABLE, PASSPHRASE)
    assert main(["sign", str(body), "--key", str(key_path), "--note", "--out", str(tmp_path / "checkpoint")]) == 0
    text, signers = open_note((tmp_path / "checkpoint").read_text(), [load_vkey(str(vkey_path))])
    assert text == body.read_text()
    assert [verifier.name for verifier in signers] == [NAME]


def test_sign_refuses_a_wrong_passphrase(
    office_key: tuple[Path, Path, subprocess.CompletedProcess[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key_path, _, _ = office_key
    (tmp_path / "file").write_bytes(b"data")
    monkeypatch.setenv(PASSPHRASE_VARIABLE, "not the passphrase")
    assert main(["sign", str(tmp_path / "file"), "--key", str(key_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "refused: wrong passphrase for the private key (or the file was altered)\n"
    assert not (tmp_path / "file.sig").exists()


def test_keygen_without_a_passphrase_or_terminal_is_refused(tmp_path: Path) -> None:
    completed = run_cli("keygen", "--name", NAME, "--out", str(tmp_path), env=_environment(None))
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == (
        f"refused: set {PASSPHRASE_VARIABLE} or run in a terminal to be asked for the passphrase\n"
    )
    assert list(tmp_path.iterdir()) == []


def _result() -> dict[str, object]:
    result: dict[str, object] = json.loads((CASE / "result.json").read_bytes())
    return result


def test_ticket_prints_the_ticket_in_the_result() -> None:
    result = _result()
    stages = result["stages"]
    assert isinstance(stages, list)
    picked = stages[0]["selected"][3]
    completed = run_cli("ticket", "--seed", str(result["seed"]), "--stage", "review", "--id", picked["id"])
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == picked["ticket"] + "\n"
    assert completed.stderr == ""


def test_ticket_for_every_pick_of_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    result = _result()
    stages = result["stages"]
    assert isinstance(stages, list)
    for stage in stages:
        for picked in stage["selected"]:
            assert main(["ticket", "--seed", str(result["seed"]), "--stage", stage["name"], "--id", picked["id"]]) == 0
            assert capsys.readouterr().out == picked["ticket"] + "\n"


SEED = "40c324ef5c3dea211a0c20dbd9bcfdd5f5c6bf297483b2cac61252eb7653eaef"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["ticket", "--seed", "xyz", "--stage", "review", "--id", "114-0001"],
            "seed must be 64 lowercase hex characters",
        ),
        (
            ["ticket", "--seed", SEED.upper(), "--stage", "review", "--id", "a"],
            "seed must be 64 lowercase hex characters",
        ),
        (
            ["ticket", "--seed", SEED, "--stage", "Review", "--id", "114-0001"],
            "stage must be a stage name such as review",
        ),
        (
            ["ticket", "--seed", SEED, "--stage", "review", "--id", "114 0001"],
            "id '114 0001' is not valid: 1–64 of A–Z a–z 0–9 . _ -, starting with a letter or digit",
        ),
        (
            ["draw", "--population", "missing.tsv", "--announcement", "a", "--inputs", "i", "--drawn-at", "x"],
            "cannot read population file missing.tsv: No such file or directory",
        ),
        (
            [
                "draw",
                "--population",
                str(CASE / "population.tsv"),
                "--announcement",
                str(CASE / "announcement.json"),
                "--inputs",
                str(CASE / "inputs.json"),
                "--drawn-at",
                "2026-01-15 02:03:04",
            ],
            "drawn_at must look like 2026-01-15T02:00:00Z (UTC, whole seconds)",
        ),
        (
            [
                "draw",
                "--population",
                str(CASE / "announcement.json"),
                "--announcement",
                "a",
                "--inputs",
                "i",
                "--drawn-at",
                "x",
            ],
            "population file is not canonical: line 1 does not end with a newline",
        ),
        (["keygen", "--name", "a b", "--out", "unused"], "key name 'a b' must be non-empty with no spaces and no '+'"),
        (["sign", "file", "--key", "missing.key"], "cannot read private key missing.key: No such file or directory"),
    ],
    ids=["seed-short", "seed-upper", "stage", "id", "no-population", "drawn-at", "population", "key-name", "no-key"],
)
def test_bad_usage_exits_2_with_one_line(
    arguments: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSPHRASE_VARIABLE, PASSPHRASE)
    monkeypatch.chdir(ROOT)
    assert main(arguments) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"refused: {message}\n"


def test_keygen_refuses_a_short_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSPHRASE_VARIABLE, "too short")
    assert main(["keygen", "--name", NAME, "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "refused: passphrase must be at least 12 characters\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "arguments",
    [[], ["shuffle"], ["ticket", "--seed", SEED, "--stage", "review"], ["verify"], ["draw", "--population"]],
    ids=["no-command", "unknown-command", "missing-option", "missing-bundle", "missing-value"],
)
def test_malformed_command_lines_exit_2_with_an_error_line(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0].startswith("usage: python -m lottery")
    assert ": error: " in lines[-1]
    assert sum(": error: " in line for line in lines) == 1
