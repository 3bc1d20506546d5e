"""The witness keeps the last checkpoint and proves any rewrite (against a stub log on loopback)."""

import base64
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from lottery.canonical import canonical_json
from lottery.checkpoint import Checkpoint, sign_checkpoint
from lottery.merkle import consistency_proof, inclusion_proof, leaf_hash, tree_hash
from lottery.signing import Signer, generate_signer
from lottery.witness import WitnessAlarm, check_log, load_state, save_state

ORIGIN = "witness.example/log"


class StubLog:
    """A log served over HTTP whose entries and signer the test controls."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        self.entries: list[bytes] = []

    def add(self, event: dict[str, object]) -> None:
        self.entries.append(canonical_json(event))

    def leaves(self) -> list[bytes]:
        return [leaf_hash(e) for e in self.entries]

    def checkpoint(self) -> str:
        return sign_checkpoint(self.signer, Checkpoint(ORIGIN, len(self.entries), tree_hash(self.leaves())))

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, bytes]:
        number = lambda name: int(query[name][0])  # noqa: E731
        encode = lambda nodes: [base64.b64encode(n).decode() for n in nodes]  # noqa: E731
        if path == "/keys/office.vkey":
            return 200, (self.signer.verifier.vkey + "\n").encode()
        if path == "/log/checkpoint":
            return 200, self.checkpoint().encode()
        if path == "/log/entries":
            start, end = number("start"), min(number("end"), len(self.entries))
            return 200, json.dumps(
                [{"index": i, "entry": self.entries[i].decode()} for i in range(start, end)]
            ).encode()
        if path == "/log/proof/inclusion":
            index, size = number("index"), number("size")
            return 200, json.dumps({"path": encode(inclusion_proof(index, self.leaves()[:size]))}).encode()
        if path == "/log/proof/consistency":
            first, second = number("first"), number("second")
            return 200, json.dumps({"path": encode(consistency_proof(first, self.leaves()[:second]))}).encode()
        return 404, b"{}"


@pytest.fixture
def stub() -> Iterator[tuple[StubLog, str]]:
    log = StubLog(generate_signer(ORIGIN))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            status, body = log.answer(parts.path, parse_qs(parts.query))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield log, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _events(log: StubLog, count: int, tag: str) -> None:
    for i in range(count):
        log.add({"type": "draw.abandoned", "time": "2026-01-01T00:00:00Z", "draw_id": f"{tag}-{i}", "reason": tag})


def test_a_growing_log_stays_consistent(stub: tuple[StubLog, str], tmp_path: Path) -> None:
    log, base = stub
    log.add({"type": "key.added", "time": "2026-01-01T00:00:00Z", "vkey": log.signer.verifier.vkey})
    _events(log, 2, "a")
    state_path = tmp_path / "witness.json"
    state, lines = check_log(load_state(state_path, base), key=log.signer.verifier.vkey)
    save_state(state_path, state)
    assert state.size == 3 and any("signed by a trusted key" in line for line in lines)
    _events(log, 4, "b")
    state, lines = check_log(load_state(state_path, base))
    assert state.size == 7 and any("consistent with the checkpoint of size 3" in line for line in lines)


def test_a_rotation_is_followed_through_the_log(stub: tuple[StubLog, str], tmp_path: Path) -> None:
    log, base = stub
    old = log.signer
    _events(log, 2, "a")
    state_path = tmp_path / "witness.json"
    save_state(state_path, check_log(load_state(state_path, base), key=old.verifier.vkey)[0])
    new = generate_signer(ORIGIN)
    log.add({"type": "key.added", "time": "2026-01-02T00:00:00Z", "vkey": new.verifier.vkey})
    state, _ = check_log(load_state(state_path, base))  # still signed by the old key
    save_state(state_path, state)
    assert new.verifier.vkey in state.trusted_vkeys
    log.signer = new
    _events(log, 1, "c")
    state, _ = check_log(load_state(state_path, base))
    assert state.size == 4


def test_a_rewritten_history_raises_the_alarm_with_both_checkpoints(stub: tuple[StubLog, str], tmp_path: Path) -> None:
    log, base = stub
    _events(log, 5, "honest")
    state_path = tmp_path / "witness.json"
    save_state(state_path, check_log(load_state(state_path, base), key=log.signer.verifier.vkey)[0])
    honest_note = load_state(state_path, base).note
    log.entries[2] = canonical_json({"type": "draw.abandoned", "time": "x", "draw_id": "friend", "reason": "gone"})
    _events(log, 2, "later")
    with pytest.raises(WitnessAlarm) as alarm:
        check_log(load_state(state_path, base))
    assert alarm.value.evidence[0] == honest_note
    assert alarm.value.evidence[1] != honest_note
    # the CLI exits non-zero and prints both signed checkpoints
    completed = subprocess.run(
        [sys.executable, "-m", "lottery", "witness", base, "--state", str(state_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 1
    assert honest_note in completed.stdout
    assert completed.stdout.count("\n\u2014 " + ORIGIN) == 2


def test_the_same_size_with_another_root_is_caught(stub: tuple[StubLog, str], tmp_path: Path) -> None:
    log, base = stub
    _events(log, 3, "x")
    state_path = tmp_path / "witness.json"
    save_state(state_path, check_log(load_state(state_path, base), key=log.signer.verifier.vkey)[0])
    log.entries[0] = canonical_json({"type": "draw.abandoned", "time": "y", "draw_id": "y", "reason": "y"})
    with pytest.raises(WitnessAlarm, match="two different roots"):
        check_log(load_state(state_path, base))


def test_a_checkpoint_by_an_unknown_key_is_an_alarm(stub: tuple[StubLog, str], tmp_path: Path) -> None:
    log, base = stub
    _events(log, 2, "x")
    state_path = tmp_path / "witness.json"
    save_state(state_path, check_log(load_state(state_path, base), key=log.signer.verifier.vkey)[0])
    log.signer = generate_signer(ORIGIN)
    with pytest.raises(WitnessAlarm, match="not signed by a trusted key"):
        check_log(load_state(state_path, base))
