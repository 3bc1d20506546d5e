"""A loopback C2SP tlog-witness for the witnessing tests: `add-checkpoint` with a real consistency
check (`lottery.merkle.verify_consistency`) and a real cosignature (`lottery.cosignature.cosign`).

It can be told to hold a given size (as if it had cosigned a checkpoint we never stored), to
answer with an error, to cosign with another key, or to hold every request until released.
"""

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lottery.checkpoint import open_checkpoint
from lottery.cosignature import WitnessSigner, cosign, generate_witness, note_parts
from lottery.errors import ProtocolError
from lottery.merkle import verify_consistency
from lottery.signing import Verifier

#: The cosignature timestamp the stub signs by default.
TIMESTAMP = 1_700_000_000


class StubWitness:
    """The witness's state: its key, the office key it trusts, the latest size and root it cosigned."""

    def __init__(self, name: str = "witness.example/w1") -> None:
        self.signer: WitnessSigner = generate_witness(name)
        self.office: Verifier | None = None
        self.size = 0
        self.root = b""
        #: The time its cosignatures carry (fixed, so that the tests are deterministic).
        self.timestamp = TIMESTAMP
        self.requests: list[str] = []
        self.answer_status: int | None = None  # answer every request with this status instead
        self.sign_with: WitnessSigner | None = None  # cosign with another key (a forged answer)
        self.release: threading.Event | None = None  # hold each request until this is set
        self.received = threading.Event()
        self.lock = threading.Lock()
        self.url = ""

    def add_checkpoint(self, body: str) -> tuple[int, str, str]:
        """Status, content type and body of the answer to one add-checkpoint request."""
        header, _, note = body.partition("\n\n")
        lines = header.split("\n")
        if not lines[0].startswith("old ") or self.office is None:
            return 400, "text/plain", "bad request\n"
        old = int(lines[0][4:])
        proof = [base64.b64decode(line) for line in lines[1:]]
        try:
            checkpoint = open_checkpoint(note, [self.office])
        except ProtocolError:
            return 403, "text/plain", "not signed by a known key\n"
        with self.lock:
            if old != self.size:
                return 409, "text/x.tlog.size", f"{self.size}\n"
            if old > checkpoint.size:
                return 400, "text/plain", "old size above checkpoint size\n"
            if old:
                try:
                    verify_consistency(old, checkpoint.size, proof, self.root, checkpoint.root)
                except ProtocolError:
                    return 422, "text/plain", "consistency proof does not verify\n"
            elif proof:
                return 400, "text/plain", "a proof from size 0\n"
            self.size, self.root = checkpoint.size, checkpoint.root
        signed_body, _ = note_parts(note)
        return 200, "text/plain; charset=utf-8", cosign(self.sign_with or self.signer, signed_body, self.timestamp)


@contextmanager
def running(witness: StubWitness) -> Iterator[StubWitness]:
    """Serve `witness` on a loopback port for the duration of the block."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8")
            witness.requests.append(body)
            witness.received.set()
            if witness.release is not None:
                witness.release.wait(10)
            if self.path != "/add-checkpoint":
                status, kind, text = 404, "text/plain", "not found\n"
            elif witness.answer_status is not None:
                status, kind, text = witness.answer_status, "text/plain", "the witness is unwell\n"
            else:
                status, kind, text = witness.add_checkpoint(body)
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    witness.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield witness
    finally:
        if witness.release is not None:
            witness.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
