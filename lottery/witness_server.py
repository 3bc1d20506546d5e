"""A C2SP `tlog-witness`: cosign the office log's checkpoints, never two different histories.

A county council, a newspaper or an NGO runs this (`python -m lottery witness serve`). The log
submits each new checkpoint with `POST /add-checkpoint`; the witness checks that it is signed by
the office key it was configured with and that it extends the checkpoint it cosigned last time
(an RFC 9162 consistency proof), records the new size and root, and only then answers with its
timestamped cosignature (C2SP `tlog-cosignature`, `lottery.cosignature`).

`Witness.add_checkpoint` is the whole protocol, free of HTTP; `make_server` is the stdlib HTTP
glue. The record per origin lives in a SQLite file and is advanced with a compare-and-swap in
one transaction, so two racing requests can never both advance from the same old size (the
rollback race the spec warns about).
"""

import base64
import binascii
import hashlib
import re
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lottery.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_body
from lottery.cosignature import WitnessSigner, cosign, note_parts
from lottery.errors import ProtocolError
from lottery.merkle import verify_consistency
from lottery.signing import SIGNATURE_PREFIX, Verifier

#: A request body larger than this is refused (63 proof lines and a checkpoint fit in 16 KiB).
MAX_REQUEST_BYTES = 64 * 1024
#: tlog-witness: "The client MUST NOT send more than 63 consistency proof lines."
MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
#: The root of the empty tree (RFC 9162 §2.1.1): the only root a checkpoint of size 0 can have.
EMPTY_ROOT = hashlib.sha256(b"").digest()
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,19})")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    updated_at INTEGER NOT NULL
)
"""


@dataclass(frozen=True)
class Answer:
    """What the witness answers: HTTP status, content type, body and a one-line reason for the log."""

    status: int
    body: str
    reason: str
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Recorded:
    """The latest checkpoint the witness cosigned for one origin."""

    size: int
    root: bytes


class WitnessStore:
    """The durable record: per origin, the size and root of the latest cosigned checkpoint."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the SQLite file at `path`."""
        self.path = path
        with self._connect() as connection:
            connection.execute(_SCHEMA)
        connection.close()

    def _connect(self) -> sqlite3.Connection:
        # One connection per operation: requests run in threads, and a connection is cheap.
        # Autocommit mode; transactions are opened explicitly with BEGIN IMMEDIATE.
        connection = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        connection.execute("PRAGMA synchronous = FULL")
        return connection

    def get(self, origin: str) -> Recorded | None:
        """The record of `origin`, or None when the witness never cosigned for it."""
        connection = self._connect()
        try:
            row = connection.execute("SELECT size, root FROM logs WHERE origin = ?", (origin,)).fetchone()
        finally:
            connection.close()
        return None if row is None else Recorded(int(row[0]), bytes(row[1]))

    def advance(self, origin: str, old: Recorded | None, new: Checkpoint, note: str, now: int) -> bool:
        """Replace the record `old` of `origin` by `new`, in one transaction; False if it changed meanwhile.

        The compare-and-swap: the update applies only while the stored size and root are still
        `old` (or, for `old` None, while there is no record), so of two requests checked against
        the same record exactly one succeeds. The change is committed (fsynced) before returning.
        """
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            if old is None:
                changed = connection.execute(
                    "INSERT OR IGNORE INTO logs (origin, size, root, note, updated_at) VALUES (?, ?, ?, ?, ?)",
                    (origin, new.size, new.root, note, now),
                ).rowcount
            else:
                changed = connection.execute(
                    "UPDATE logs SET size = ?, root = ?, note = ?, updated_at = ? "
                    "WHERE origin = ? AND size = ? AND root = ?",
                    (new.size, new.root, note, now, origin, old.size, old.root),
                ).rowcount
            connection.execute("COMMIT" if changed == 1 else "ROLLBACK")
        finally:
            connection.close()
        return changed == 1


@dataclass(frozen=True)
class Submission:
    """A parsed `add-checkpoint` request body."""

    old_size: int
    proof: list[bytes]
    note: str
    checkpoint: Checkpoint


class Malformed(Exception):
    """The request body does not follow tlog-witness; answered with 400."""


def parse_submission(data: bytes) -> Submission:
    """Parse `old <size>\\n`, the proof lines, a blank line and a checkpoint note; refuse anything else."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8") from None
    split = text.find("\n\n")
    if split < 0:
        raise Malformed("no blank line after the old size and proof lines")
    header, note = text[:split].split("\n"), text[split + 2 :]
    match = _OLD_LINE.fullmatch(header[0])
    if match is None:
        raise Malformed("the first line must be 'old <size>' in decimal without leading zeroes")
    if len(header) - 1 > MAX_PROOF_LINES:
        raise Malformed(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = [_proof_hash(line) for line in header[1:]]
    if any(character < " " and character != "\n" for character in note):
        raise Malformed("the note holds a control character other than newline")
    try:
        body, lines = note_parts(note)
        for line in lines:
            if not line.startswith(SIGNATURE_PREFIX) or line.count(" ") != 2:
                raise Malformed("malformed note signature line")
        checkpoint = parse_checkpoint_body(body)
    except ProtocolError as exc:
        raise Malformed(f"the checkpoint is malformed: {exc}") from None
    return Submission(int(match.group(1)), proof, note, checkpoint)


def _proof_hash(line: str) -> bytes:
    try:
        value = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("a consistency proof line is not base64") from None
    if len(value) != 32 or base64.b64encode(value).decode("ascii") != line:
        raise Malformed("a consistency proof line is not the base64 of a 32-byte hash")
    return value


class Witness:
    """The witness's logic: which logs it follows, its key, its record and its clock."""

    def __init__(
        self,
        signer: WitnessSigner,
        logs: dict[str, list[Verifier]],
        store: WitnessStore,
        now: Callable[[], int] = lambda: int(time.time()),
    ) -> None:
        """`logs` maps each origin to the office keys trusted to sign its checkpoints."""
        for origin, verifiers in logs.items():
            if not verifiers or any(verifier.name != origin for verifier in verifiers):
                raise ProtocolError(f"the keys of log {origin} must be named after its origin")
        self.signer, self.logs, self.store, self.now = signer, logs, store, now

    def add_checkpoint(self, data: bytes) -> Answer:
        """Handle one `POST /add-checkpoint` body (tlog-witness), in the order the spec gives."""
        try:
            submission = parse_submission(data)
        except Malformed as exc:
            return Answer(400, f"{exc}\n", str(exc))
        checkpoint, old_size = submission.checkpoint, submission.old_size
        where = f"{checkpoint.origin} old {old_size} new {checkpoint.size}"
        verifiers = self.logs.get(checkpoint.origin)
        if verifiers is None:
            return Answer(404, "unknown log origin\n", f"unknown origin {checkpoint.origin}")
        try:
            open_checkpoint(submission.note, verifiers)
        except ProtocolError as exc:
            return Answer(403, "the checkpoint is not signed by a trusted key\n", f"{where}: {exc}")
        if old_size > checkpoint.size:
            return Answer(400, "old size is larger than the checkpoint size\n", f"{where}: old size too large")
        recorded = self.store.get(checkpoint.origin)
        conflict = self._conflict(recorded, submission)
        if conflict is not None:
            return conflict
        if not self._consistent(recorded, submission):
            return Answer(422, "the consistency proof does not verify\n", f"{where}: bad consistency proof")
        now = self.now()
        if not self.store.advance(checkpoint.origin, recorded, checkpoint, submission.note, now):
            # Another request advanced the record between our read and our write.
            return self._size_conflict(self.store.get(checkpoint.origin), f"{where}: lost a race")
        return Answer(200, cosign(self.signer, checkpoint.body(), now), f"{where}: cosigned at {now}")

    def _conflict(self, recorded: Recorded | None, submission: Submission) -> Answer | None:
        """409 when the old size is not the recorded one, or the same size comes with another root."""
        checkpoint = submission.checkpoint
        where = f"{checkpoint.origin} old {submission.old_size} new {checkpoint.size}"
        recorded_size = 0 if recorded is None else recorded.size
        if submission.old_size != recorded_size:
            return self._size_conflict(recorded, f"{where}: recorded size is {recorded_size}")
        if recorded is not None and recorded.size == checkpoint.size and recorded.root != checkpoint.root:
            return Answer(409, "a different root was cosigned for this size\n", f"{where}: FORK, another root")
        return None

    @staticmethod
    def _size_conflict(recorded: Recorded | None, reason: str) -> Answer:
        size = 0 if recorded is None else recorded.size
        return Answer(409, f"{size}\n", reason, SIZE_CONTENT_TYPE)

    @staticmethod
    def _consistent(recorded: Recorded | None, submission: Submission) -> bool:
        """The proof from the recorded tree to the submitted one (empty when the old size is zero)."""
        checkpoint = submission.checkpoint
        if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
            return False
        if recorded is None or recorded.size == 0:
            return not submission.proof
        try:
            verify_consistency(recorded.size, checkpoint.size, submission.proof, recorded.root, checkpoint.root)
        except ProtocolError:
            return False
        return True


def make_server(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) with the witness at `POST /add-checkpoint`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the spec recommends
        timeout = 30  # seconds to read a request before the connection is dropped
        disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

        def do_POST(self) -> None:
            """`POST /add-checkpoint` with a bounded body; anything else is 404."""
            if self.path != "/add-checkpoint":
                self._answer(Answer(404, "not found\n", "no such path"))
                return
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self._answer(Answer(411, "Content-Length is required\n", "no Content-Length"))
                return
            if int(length) > MAX_REQUEST_BYTES:
                self.close_connection = True
                self._answer(Answer(413, f"the body is limited to {MAX_REQUEST_BYTES} bytes\n", "body too large"))
                return
            data = self.rfile.read(int(length))
            try:
                answer = witness.add_checkpoint(data)
            except sqlite3.Error as exc:
                # Nothing was cosigned: the record could not be read or written.
                answer = Answer(503, "the witness's state is unavailable; try again\n", f"state: {exc}")
            self._answer(answer)

        def do_GET(self) -> None:
            """A witness has nothing to read (the monitoring API is not specified yet)."""
            self._answer(Answer(405, "use POST /add-checkpoint\n", "GET"))

        def _answer(self, answer: Answer) -> None:
            # Logged before answering, so the line is out by the time the client reads the answer.
            line = f"{self.client_address[0]} {self.command} {self.path} {answer.status} {answer.reason}"
            print(line.replace("\n", " "), file=sys.stderr, flush=True)
            body = answer.body.encode("utf-8")
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """Each request is logged once, by `_answer`, with the reason."""

    return ThreadingHTTPServer((host, port), Handler)
