"""The cosigning witness (C2SP tlog-witness `POST /add-checkpoint`), over loopback with a real server.

Every answer the spec names is exercised: 200 with a cosignature, 400, 403, 404, 409 with the
recorded size as `text/x.tlog.size`, 422; the compare-and-swap under two racing submissions; the
record surviving a restart; and `python -m lottery witness keygen|serve`.
"""

import base64
import http.client
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from lottery.checkpoint import Checkpoint, sign_checkpoint
from lottery.cli import main
from lottery.cosignature import (
    WitnessSigner,
    add_signature_lines,
    cosignatures,
    generate_witness,
    parse_witness_private_key,
    parse_witness_vkey,
)
from lottery.merkle import consistency_proof, leaf_hash, tree_hash
from lottery.signing import Signer, generate_signer, sign_note
from lottery.witness_server import (
    MAX_REQUEST_BYTES,
    Recorded,
    Witness,
    WitnessStore,
    make_server,
)

ORIGIN = "ethics.example.gov.tw/draws"
NOW = 1_760_000_000
ROOT = Path(__file__).parents[2]
LEAVES = [leaf_hash(f"entry {number}".encode()) for number in range(40)]
FORKED = [*LEAVES[:3], leaf_hash(b"rewritten"), *LEAVES[4:]]


def note(office: Signer, size: int, leaves: list[bytes] = LEAVES) -> str:
    """The office-signed checkpoint of the first `size` leaves."""
    return sign_checkpoint(office, Checkpoint(office.name, size, tree_hash(leaves[:size])))


def request(old: int, proof: list[bytes], checkpoint_note: str) -> bytes:
    """An add-checkpoint body: `old N`, the proof lines, a blank line, the checkpoint."""
    lines = "".join(base64.b64encode(node).decode("ascii") + "\n" for node in proof)
    return f"old {old}\n{lines}\n{checkpoint_note}".encode()


def proof(old: int, new: int, leaves: list[bytes] = LEAVES) -> list[bytes]:
    """The RFC 9162 consistency proof from `old` to `new` leaves."""
    return consistency_proof(old, leaves[:new])


@dataclass
class Running:
    """A witness served on a loopback port, its key, the office key and the clock it reads."""

    port: int
    signer: WitnessSigner
    office: Signer
    clock: list[int]
    state: Path

    def post(self, body: bytes, path: str = "/add-checkpoint") -> tuple[int, str, str]:
        """POST `body`; the status, the Content-Type and the body of the answer."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("POST", path, body=body)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read().decode()
        finally:
            connection.close()


def serve(signer: WitnessSigner, office: Signer, state: Path, clock: list[int]) -> tuple[Running, threading.Thread]:
    """Start a witness server thread on a free loopback port."""
    witness = Witness(signer, {office.name: [office.verifier]}, WitnessStore(state), now=lambda: clock[0])
    server = make_server(witness, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    running = Running(server.server_port, signer, office, clock, state)
    running.server = server  # type: ignore[attr-defined]
    return running, thread


def stop(running: Running, thread: threading.Thread) -> None:
    """Shut the server down and wait (bounded) for its thread."""
    running.server.shutdown()  # type: ignore[attr-defined]
    running.server.server_close()  # type: ignore[attr-defined]
    thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[Running]:
    """A running witness for one office log, its clock at NOW."""
    signer, office = generate_witness("witness.example.org/w1"), generate_signer(ORIGIN)
    running, thread = serve(signer, office, tmp_path / "w.db", [NOW])
    yield running
    stop(running, thread)


def cosigned_at(running: Running, checkpoint_note: str, answer: str) -> dict[str, int]:
    """The witness's verified cosignature times once `answer` is appended to the note."""
    return cosignatures(add_signature_lines(checkpoint_note, answer.splitlines()), [running.signer.verifier])


def test_the_witness_cosigns_a_first_checkpoint_and_then_a_consistent_one(witness: Running) -> None:
    first = note(witness.office, 5)
    status, _, answer = witness.post(request(0, [], first))
    assert status == 200
    assert answer.startswith("— witness.example.org/w1 ") and answer.endswith("\n") and answer.count("\n") == 1
    assert cosigned_at(witness, first, answer) == {"witness.example.org/w1": NOW}

    witness.clock[0] = NOW + 60
    second = note(witness.office, 9)
    status, _, answer = witness.post(request(5, proof(5, 9), second))
    assert status == 200
    assert cosigned_at(witness, second, answer) == {"witness.example.org/w1": NOW + 60}
    assert WitnessStore(witness.state).get(ORIGIN) == Recorded(9, tree_hash(LEAVES[:9]))


def test_the_same_checkpoint_again_is_cosigned_again_with_the_new_time(witness: Running) -> None:
    first = note(witness.office, 5)
    assert witness.post(request(0, [], first))[0] == 200
    witness.clock[0] = NOW + 5
    status, _, answer = witness.post(request(5, [], first))
    assert status == 200
    assert cosigned_at(witness, first, answer) == {"witness.example.org/w1": NOW + 5}


def test_a_wrong_old_size_gets_409_with_the_recorded_size_and_a_retry_succeeds(witness: Running) -> None:
    assert witness.post(request(0, [], note(witness.office, 5)))[0] == 200
    later = note(witness.office, 12)
    status, content_type, body = witness.post(request(0, [], later))
    assert (status, content_type, body) == (409, "text/x.tlog.size", "5\n")
    status, content_type, body = witness.post(request(7, proof(7, 12), later))
    assert (status, content_type, body) == (409, "text/x.tlog.size", "5\n")
    status, _, answer = witness.post(request(5, proof(5, 12), later))
    assert status == 200
    assert cosigned_at(witness, later, answer) == {"witness.example.org/w1": NOW}


def test_a_fork_at_the_same_size_gets_409_and_a_larger_fork_gets_422(witness: Running) -> None:
    assert witness.post(request(0, [], note(witness.office, 8)))[0] == 200
    status, _, _ = witness.post(request(8, [], note(witness.office, 8, FORKED)))
    assert status == 409
    # A larger tree of the rewritten history: its honest proof from 8 does not lead from our root.
    status, _, _ = witness.post(request(8, proof(8, 20, FORKED), note(witness.office, 20, FORKED)))
    assert status == 422
    # Nor does a proof taken from the real history lead to the forked root.
    status, _, _ = witness.post(request(8, proof(8, 20), note(witness.office, 20, FORKED)))
    assert status == 422
    assert WitnessStore(witness.state).get(ORIGIN) == Recorded(8, tree_hash(LEAVES[:8]))


def test_an_old_size_of_zero_takes_no_proof(witness: Running) -> None:
    assert witness.post(request(0, proof(3, 5), note(witness.office, 5)))[0] == 422
    assert WitnessStore(witness.state).get(ORIGIN) is None


def test_a_checkpoint_signed_by_another_key_gets_403(witness: Running) -> None:
    impostor = generate_signer(ORIGIN)  # the same origin, another key
    assert witness.post(request(0, [], note(impostor, 5)))[0] == 403
    assert WitnessStore(witness.state).get(ORIGIN) is None


def test_an_unknown_origin_gets_404(witness: Running) -> None:
    other = generate_signer("elsewhere.example/log")
    assert witness.post(request(0, [], note(other, 5)))[0] == 404
    assert witness.post(request(0, [], note(witness.office, 5)), path="/other")[0] == 404


@pytest.mark.parametrize(
    "body",
    [
        b"old 05\n\n",
        b"old -1\n\n",
        b"new 0\n\n",
        b"old 0\nnot base64!\n\n",
        b"old 0\n" + base64.b64encode(b"short") + b"\n\n",
        b"old 0\n",
        b"old 0\n\nethics.example.gov.tw/draws\n5\n",
        b"\xff\xfe",
    ],
    ids=["leading-zero", "negative", "no-old", "proof-not-base64", "proof-not-32-bytes", "no-blank", "no-sig", "utf8"],
)
def test_a_malformed_body_gets_400(witness: Running, body: bytes) -> None:
    checkpoint_note = note(witness.office, 5).encode()
    full = body + checkpoint_note if body.endswith(b"\n\n") else body
    assert witness.post(full)[0] == 400


def test_a_note_with_a_control_character_gets_400(witness: Running) -> None:
    body = Checkpoint(ORIGIN, 5, tree_hash(LEAVES[:5])).body()
    assert witness.post(request(0, [], sign_note(witness.office, body + "extension\tline\n")))[0] == 400
    assert witness.post(request(0, [], sign_note(witness.office, body + "extension line\n")))[0] == 200


def test_an_old_size_above_the_checkpoint_size_gets_400(witness: Running) -> None:
    assert witness.post(request(6, [], note(witness.office, 5)))[0] == 400


def test_more_than_63_proof_lines_get_400(witness: Running) -> None:
    assert witness.post(request(0, [LEAVES[0]] * 64, note(witness.office, 5)))[0] == 400


def test_a_body_over_the_limit_is_refused_unread(witness: Running) -> None:
    assert witness.post(b"x" * (MAX_REQUEST_BYTES + 1))[0] == 413


def test_two_racing_submissions_from_the_same_size_exactly_one_wins(witness: Running) -> None:
    assert witness.post(request(0, [], note(witness.office, 4)))[0] == 200
    bodies = [request(4, proof(4, 10), note(witness.office, 10)), request(4, proof(4, 30), note(witness.office, 30))]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(witness.post, bodies))
    statuses = sorted(answer[0] for answer in answers)
    assert statuses == [200, 409]
    winner = 10 if answers[0][0] == 200 else 30
    assert WitnessStore(witness.state).get(ORIGIN) == Recorded(winner, tree_hash(LEAVES[:winner]))
    loser = next(answer for answer in answers if answer[0] == 409)
    assert loser[1:] == ("text/x.tlog.size", f"{winner}\n")


def test_the_compare_and_swap_refuses_a_stale_record(tmp_path: Path) -> None:
    """The race itself, made deterministic: a record read before another request advanced it."""
    office = generate_signer(ORIGIN)
    store = WitnessStore(tmp_path / "w.db")
    checkpoint = Checkpoint(ORIGIN, 4, tree_hash(LEAVES[:4]))
    assert store.advance(ORIGIN, None, checkpoint, "n", NOW)
    assert not store.advance(ORIGIN, None, checkpoint, "n", NOW)  # a second first insert loses
    stale = store.get(ORIGIN)
    assert store.advance(ORIGIN, stale, Checkpoint(ORIGIN, 30, tree_hash(LEAVES[:30])), "n", NOW)
    assert not store.advance(ORIGIN, stale, Checkpoint(ORIGIN, 10, tree_hash(LEAVES[:10])), "n", NOW)
    assert store.get(ORIGIN) == Recorded(30, tree_hash(LEAVES[:30]))

    class StaleStore(WitnessStore):
        """Answers its first read with the record as it was before the size-30 checkpoint."""

        reads = 0

        def get(self, origin: str) -> Recorded | None:
            self.reads += 1
            return stale if self.reads == 1 else super().get(origin)

    witness = Witness(generate_witness("w.example/1"), {ORIGIN: [office.verifier]}, StaleStore(store.path), lambda: NOW)
    answer = witness.add_checkpoint(request(4, proof(4, 10), note(office, 10)))
    assert (answer.status, answer.content_type, answer.body) == (409, "text/x.tlog.size", "30\n")
    assert store.get(ORIGIN) == Recorded(30, tree_hash(LEAVES[:30]))


def test_a_checkpoint_of_size_zero_must_have_the_empty_root(tmp_path: Path) -> None:
    office = generate_signer(ORIGIN)
    witness = Witness(generate_witness("w.example/1"), {ORIGIN: [office.verifier]}, WitnessStore(tmp_path / "w.db"))
    assert witness.add_checkpoint(request(0, [], note(office, 0, [LEAVES[0]]))).status == 200
    bogus = sign_checkpoint(office, Checkpoint(ORIGIN, 0, LEAVES[0]))
    assert witness.add_checkpoint(request(0, [], bogus)).status == 409  # another root for size 0
    fresh = Witness(generate_witness("w.example/2"), {ORIGIN: [office.verifier]}, WitnessStore(tmp_path / "x.db"))
    assert fresh.add_checkpoint(request(0, [], bogus)).status == 422


def test_an_unreadable_state_answers_503_and_cosigns_nothing(witness: Running) -> None:
    witness.state.unlink()
    witness.state.mkdir()  # SQLite cannot open a folder
    status, _, body = witness.post(request(0, [], note(witness.office, 5)))
    assert status == 503
    assert "—" not in body


def test_the_record_survives_a_restart(tmp_path: Path) -> None:
    signer, office = generate_witness("witness.example.org/w1"), generate_signer(ORIGIN)
    running, thread = serve(signer, office, tmp_path / "w.db", [NOW])
    assert running.post(request(0, [], note(office, 6)))[0] == 200
    stop(running, thread)
    running, thread = serve(signer, office, tmp_path / "w.db", [NOW + 1])
    try:
        assert running.post(request(0, [], note(office, 9))) == (409, "text/x.tlog.size", "6\n")
        assert running.post(request(6, proof(6, 9), note(office, 9)))[0] == 200
    finally:
        stop(running, thread)


def test_each_request_is_logged_on_one_line(witness: Running, capsys: pytest.CaptureFixture[str]) -> None:
    witness.post(request(0, [], note(witness.office, 5)))
    witness.post(request(0, [], note(witness.office, 7)))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("127.0.0.1 POST /add-checkpoint 200 ethics.example.gov.tw/draws old 0 new 5")
    assert lines[1].startswith("127.0.0.1 POST /add-checkpoint 409 ")


def test_keys_not_named_after_their_origin_are_refused(tmp_path: Path) -> None:
    office = generate_signer("another.example/log")
    with pytest.raises(ValueError, match="named after its origin"):
        Witness(generate_witness("w.example/1"), {ORIGIN: [office.verifier]}, WitnessStore(tmp_path / "w.db"))


# --- python -m lottery witness keygen | serve -----------------------------------------------------


def test_keygen_writes_a_private_key_file_and_prints_the_vkey(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "witness.key"
    assert main(["witness", "keygen", "--name", "witness.example.org/w1", "--out", str(out)]) == 0
    vkey = capsys.readouterr().out.strip()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    signer = parse_witness_private_key(out.read_text())
    assert signer.verifier.vkey == vkey == parse_witness_vkey(vkey).vkey
    assert out.read_text().startswith("PRIVATE+KEY+witness.example.org/w1+")

    before = out.read_bytes()
    assert main(["witness", "keygen", "--name", "witness.example.org/w1", "--out", str(out)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_the_monitor_is_still_the_witness_command_with_a_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["witness", "ftp://example.org", "--state", str(tmp_path / "state.json"), "--key", "x+00+AA=="])
    assert code == 2
    assert capsys.readouterr().err.startswith("refused: ")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_runs_a_witness_from_the_command_line(tmp_path: Path, stop: signal.Signals) -> None:
    """Also when started with SIGINT ignored, as a shell starts a background job (it stopped only
    in a foreground run; in CI under `nohup … &` it ignored Ctrl-C for ever)."""
    key = tmp_path / "witness.key"
    assert main(["witness", "keygen", "--name", "witness.example.org/w1", "--out", str(key)]) == 0
    office = generate_signer(ORIGIN)
    command = [sys.executable, "-m", "lottery", "witness", "serve", "--key", str(key)]
    command += ["--log", f"{ORIGIN}={office.verifier.vkey}", "--state", str(tmp_path / "w.db")]
    command += ["--listen", "127.0.0.1:0"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # started as a background job is
    )
    try:
        assert process.stderr is not None
        assert process.stderr.readline().startswith("witness witness.example.org/w1+")
        listening = process.stderr.readline()
        assert listening.startswith("listening on http://127.0.0.1:")
        port = int(listening.split(":")[2].split("/")[0])
        signer = parse_witness_private_key(key.read_text())
        running = Running(port, signer, office, [NOW], tmp_path / "w.db")
        checkpoint_note = note(office, 5)
        status, _, answer = running.post(request(0, [], checkpoint_note))
        assert status == 200
        assert set(cosigned_at(running, checkpoint_note, answer)) == {"witness.example.org/w1"}
        assert process.stderr.readline().startswith("127.0.0.1 POST /add-checkpoint 200 ")
    finally:
        process.send_signal(stop)
        code = process.wait(timeout=20)
        assert process.stderr is not None
        process.stderr.close()
    assert code == 0
    assert os.path.getsize(tmp_path / "w.db") > 0
