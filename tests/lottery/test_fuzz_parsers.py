"""Fuzzing the parsers that read what strangers send: signed notes, checkpoints, bundles, vkeys.

Whatever bytes arrive, each parser either returns a value or raises a `ProtocolError` with a
message — never another exception (which the CLI would show as a traceback).
"""

import io
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lottery.bundle import read_bundle, verify_bundle
from lottery.checkpoint import open_checkpoint, parse_checkpoint_body
from lottery.errors import ProtocolError
from lottery.population import parse_population
from lottery.signing import generate_signer, open_note, parse_vkey, sign_note

SIGNER = generate_signer("fuzz.example/log")
NOTE = sign_note(SIGNER, "fuzz.example/log\n3\n" + "A" * 43 + "=\n")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mutations(base: str) -> st.SearchStrategy[str]:
    """Strings near `base`: a character replaced, inserted or deleted, or random text."""
    positions = st.integers(min_value=0, max_value=len(base))
    return st.one_of(
        st.text(max_size=300),
        st.builds(lambda i, c: base[:i] + c + base[i + 1 :], positions, st.characters()),
        st.builds(lambda i, c: base[:i] + c + base[i:], positions, st.characters()),
        st.builds(lambda i: base[:i] + base[i + 1 :], positions),
    )


@FUZZ
@given(_mutations(NOTE))
def test_signed_notes(text: str) -> None:
    try:
        body, signers = open_note(text, [SIGNER.verifier])
    except ProtocolError:
        return
    assert signers and body.endswith("\n")


@FUZZ
@given(_mutations(NOTE))
def test_checkpoints(text: str) -> None:
    try:
        checkpoint = open_checkpoint(text, [SIGNER.verifier])
    except ProtocolError:
        return
    assert checkpoint.origin == "fuzz.example/log"


@FUZZ
@given(_mutations("fuzz.example/log\n3\n" + "A" * 43 + "=\n"))
def test_checkpoint_bodies(text: str) -> None:
    try:
        checkpoint = parse_checkpoint_body(text)
    except ProtocolError:
        return
    assert len(checkpoint.root) == 32 and checkpoint.size >= 0


@FUZZ
@given(_mutations(SIGNER.verifier.vkey))
def test_vkeys(text: str) -> None:
    try:
        verifier = parse_vkey(text)
    except ProtocolError:
        return
    assert verifier.vkey.split("+")[0] == text.strip().split("+")[0]


@FUZZ
@given(st.binary(max_size=400))
def test_population_files(data: bytes) -> None:
    try:
        population = parse_population(data)
    except ProtocolError:
        return
    assert population.data == data


VECTOR = Path(__file__).parents[1] / "vectors" / "draw" / "stratified-244"
NAMES = ("population.tsv", "announcement.json", "result.json")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(NAMES), st.integers(min_value=0, max_value=10_000), st.binary(min_size=1, max_size=8))
def test_bundles_with_damaged_members(name: str, offset: int, junk: bytes) -> None:
    files = {n: (VECTOR / n).read_bytes() for n in NAMES}
    files["announcement.json.sig"] = b"AAAA\n"
    files["result.json.sig"] = b"AAAA\n"
    data = files[name]
    offset %= len(data)
    files[name] = data[:offset] + junk + data[offset + len(junk) :]
    report = verify_bundle(files, key=SIGNER.verifier.vkey, check_bls=False)
    assert not report.ok  # the signatures are junk, so a damaged bundle never verifies
    assert all(check.line() for check in report.checks)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_bundle_zips(data: bytes) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x/population.tsv", data)
        archive.writestr("x/result.json", data[::-1])
    scratch = Path(tempfile.mkdtemp())
    path = scratch / "bundle.zip"
    path.write_bytes(buffer.getvalue())
    try:
        files = read_bundle(path)
        report = verify_bundle(files, check_bls=False)
        assert not report.ok
    except ProtocolError:
        pass
    finally:
        path.unlink()
    garbage = scratch / "garbage.zip"
    garbage.write_bytes(data)
    try:
        read_bundle(garbage)
    except ProtocolError:
        pass
    finally:
        garbage.unlink()
        scratch.rmdir()
