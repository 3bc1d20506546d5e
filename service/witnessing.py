"""Witnessing: the office's checkpoints cosigned by independent witnesses (C2SP tlog-witness).

A witness keeps the latest checkpoint of our log that it cosigned and cosigns a new one only
with a consistency proof from that one, so two witnessed checkpoints can never disagree about
history: once a witness cosigned a checkpoint holding a draw's inputs, the office cannot show
anyone a log without them.

Submission (`submit`): `POST <witness>/add-checkpoint` with `old <size>`, the consistency proof
from that size (base64 lines), a blank line and the office-signed note. The old size is the
largest this witness has cosigned for us (0, and no proof, when none). A `409` with
`text/x.tlog.size` names the size the witness really holds: the proof is made again from there
(when we hold a checkpoint of that size) and sent once more. Network errors are retried with
exponential back-off; every other answer is an outcome to report. The returned cosignature is
verified against the configured vkey and the stored note before it is stored
(`WitnessCosignature`, append-only).

Submission never blocks or fails a draw: `transparency.sign_new_checkpoint` notes in the session
which checkpoints it signed, and once that transaction commits (a `draw.input`, a completion, any
logged event) a background thread, one at a time per process, with its own application context
and session, submits them, in ascending order, to every configured witness. A witness that
is down costs the draw nothing; `flask witnesses submit` catches up by hand.
"""

import base64
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lottery.cosignature import add_signature_lines, cosignatures
from lottery.errors import SignatureError
from lottery.merkle import consistency_proof
from service.config import Settings, WitnessEndpoint
from service.drand_client import opener_for
from service.models import Checkpoint, Draw, LogEntry, WitnessCosignature
from service.transparency import NEW_CHECKPOINT, checkpoint_at, consistency, latest_checkpoint, leaf_hashes

log = logging.getLogger(__name__)

#: The content type of a 409 answer that states the witness's size (tlog-witness).
SIZE_TYPE = "text/x.tlog.size"
#: The most a witness's answer may be (a few signature lines).
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """A witness's HTTP answer."""

    status: int
    content_type: str
    body: bytes


#: Sends a request body to a URL within a timeout; raises `OSError` when the network fails.
Poster = Callable[[str, bytes, float], Answer]


@dataclass(frozen=True)
class Outcome:
    """What one submission to one witness came to.

    `result` is `cosigned` (a new cosignature verified and stored), `already` (this witness had
    cosigned this checkpoint before), `superseded` (it has cosigned a later one, and a witness
    never goes back), `unreachable` (network errors on every attempt), `refused` (the witness
    answered with an error) or `invalid` (its answer did not verify).
    """

    witness: str
    size: int
    result: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing went wrong: the cosignature is stored, or the witness is past `size`."""
        return self.result in ("cosigned", "already", "superseded")


@dataclass
class Submitter:
    """How submissions are sent: the HTTP poster, the back-off delays and the sleeper (tests
    inject both so that no test waits)."""

    post: Poster | None = None
    sleep: Callable[[float], None] = time.sleep
    #: Waits before the 2nd, 3rd, … attempt after a network error (exponential back-off).
    delays: tuple[float, ...] = (1.0, 2.0, 4.0)
    #: The background threads started in this process (tests wait for them).
    threads: list[threading.Thread] = field(default_factory=list)
    #: One submission round at a time in this process.
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Checkpoint sizes signed by committed transactions, not yet submitted.
    pending: set[int] = field(default_factory=set)
    pending_lock: threading.Lock = field(default_factory=threading.Lock)


class WitnessAnswerError(RuntimeError):
    """The witness's answer held no cosignature of ours that verifies."""


def urllib_poster(proxy: str | None) -> Poster:
    """A poster over urllib (through `proxy` when set, as the drand requests)."""
    opener = opener_for(proxy)

    def post(url: str, body: bytes, timeout: float) -> Answer:
        # The URL is an http(s) prefix checked by `config.parse_witnesses`.
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})  # noqa: S310
        try:
            with opener.open(request, timeout=timeout) as response:
                return Answer(response.status, response.headers.get_content_type(), response.read(MAX_ANSWER_BYTES))
        except urllib.error.HTTPError as exc:
            with exc:
                return Answer(exc.code, exc.headers.get_content_type(), exc.read(MAX_ANSWER_BYTES))

    return post


# ---------------------------------------------------------------------------------------------
# What is stored


def stored_cosignatures(session: Session, size: int) -> list[WitnessCosignature]:
    """The cosignatures collected for the checkpoint of `size`, oldest first."""
    query = select(WitnessCosignature).where(WitnessCosignature.checkpoint_size == size)
    return list(session.scalars(query.order_by(WitnessCosignature.id)))


def witnessed_note(session: Session, checkpoint: Checkpoint) -> str:
    """The office-signed note with every verified cosignature line collected for it appended."""
    lines = [row.line for row in stored_cosignatures(session, checkpoint.size)]
    return add_signature_lines(checkpoint.note, lines)


def cosigned_size(session: Session, endpoint: WitnessEndpoint) -> int:
    """The largest checkpoint size this witness has cosigned for us (0 when none)."""
    query = select(func.max(WitnessCosignature.checkpoint_size)).where(
        WitnessCosignature.witness_name == endpoint.name,
        WitnessCosignature.key_id == endpoint.verifier.key_id.hex(),
    )
    return int(session.scalar(query) or 0)


def _has_cosigned(session: Session, endpoint: WitnessEndpoint, size: int) -> bool:
    query = select(WitnessCosignature.id).where(
        WitnessCosignature.checkpoint_size == size,
        WitnessCosignature.witness_name == endpoint.name,
        WitnessCosignature.key_id == endpoint.verifier.key_id.hex(),
    )
    return session.scalar(query) is not None


def fully_witnessed(session: Session, settings: Settings, size: int) -> bool:
    """True when every configured witness has cosigned the checkpoint of `size` (vacuously true
    when none is configured)."""
    return all(_has_cosigned(session, endpoint, size) for endpoint in settings.witnesses)


def accept(session: Session, endpoint: WitnessEndpoint, checkpoint: Checkpoint, answer: str) -> WitnessCosignature:
    """Verify the witness's answer against its configured key and the stored note; store the
    cosignature (in the caller's transaction) and return it. Lines by other keys are ignored."""
    for line in answer.split("\n"):
        if not line.strip():
            continue
        try:
            found = cosignatures(add_signature_lines(checkpoint.note, [line]), [endpoint.verifier])
        except SignatureError as exc:
            raise WitnessAnswerError(f"the answer does not verify: {exc}") from None
        if endpoint.name not in found:
            continue
        row = WitnessCosignature(
            checkpoint_size=checkpoint.size,
            witness_name=endpoint.name,
            key_id=endpoint.verifier.key_id.hex(),
            timestamp=found[endpoint.name],
            line=line,
        )
        session.add(row)
        session.flush()
        return row
    raise WitnessAnswerError("the answer holds no cosignature by this witness's key")


# ---------------------------------------------------------------------------------------------
# Submitting


def request_body(session: Session, old: int, checkpoint: Checkpoint) -> bytes:
    """`old <size>`, the consistency proof lines from `old` (none when 0), a blank line, the note."""
    proof = consistency(session, old, checkpoint.size) if old else []
    lines = [f"old {old}"] + [base64.b64encode(node).decode("ascii") for node in proof]
    return ("\n".join(lines) + "\n\n" + checkpoint.note).encode("utf-8")


def _post(submitter: Submitter, post: Poster, url: str, body: bytes, timeout: float) -> Answer | str:
    """Post, retrying network errors after each of `submitter.delays`; the last error's text when all fail."""
    error = ""
    for attempt in range(len(submitter.delays) + 1):
        if attempt:
            submitter.sleep(submitter.delays[attempt - 1])
        try:
            return post(url, body, timeout)
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"
    return error


def _stated_size(answer: Answer) -> int | None:
    """The size a 409 `text/x.tlog.size` answer states, or None."""
    if answer.status != 409 or answer.content_type != SIZE_TYPE:
        return None
    text = answer.body.decode("ascii", "replace")
    if not text.endswith("\n") or not text[:-1].isascii() or not text[:-1].isdigit():
        return None
    return int(text[:-1])


def submit(
    session: Session, settings: Settings, endpoint: WitnessEndpoint, checkpoint: Checkpoint, submitter: Submitter
) -> Outcome:
    """Submit `checkpoint` to one witness and store its verified cosignature (the caller commits
    it). The caller's transaction is ended before each request: nothing stays open meanwhile."""
    size = checkpoint.size
    if _has_cosigned(session, endpoint, size):
        return Outcome(endpoint.name, size, "already")
    old = cosigned_size(session, endpoint)
    if old > size:
        return Outcome(endpoint.name, size, "superseded", f"the witness has cosigned the later size {old}")
    post = submitter.post or urllib_poster(settings.drand_proxy)
    url = endpoint.url + "/add-checkpoint"
    for attempt in (1, 2):
        body = request_body(session, old, checkpoint)
        session.commit()  # no transaction stays open while a witness is waited for
        answer = _post(submitter, post, url, body, settings.witness_timeout_seconds)
        if isinstance(answer, str):
            return Outcome(endpoint.name, size, "unreachable", answer)
        if answer.status == 200:
            try:
                accept(session, endpoint, checkpoint, answer.body.decode("utf-8", "replace"))
            except WitnessAnswerError as exc:
                return Outcome(endpoint.name, size, "invalid", str(exc))
            return Outcome(endpoint.name, size, "cosigned")
        stated = _stated_size(answer)
        if attempt == 1 and stated is not None and stated <= size and (stated == 0 or checkpoint_at(session, stated)):
            old = stated  # the witness holds another size: prove from there, once
            continue
        if stated is not None and stated > size and checkpoint_at(session, stated) is not None:
            return Outcome(endpoint.name, size, "superseded", f"the witness holds the later size {stated}")
        detail = answer.body[:200].decode("utf-8", "replace").strip()
        if stated is not None:
            detail = f"the witness holds size {stated}, which this log cannot prove from"
        return Outcome(endpoint.name, size, "refused", f"HTTP {answer.status}: {detail}")
    raise AssertionError("unreachable")  # pragma: no cover


def submit_latest(session: Session, settings: Settings, submitter: Submitter) -> list[Outcome]:
    """Submit the latest checkpoint to every configured witness (committing after each one)."""
    latest = latest_checkpoint(session)
    return submit_sizes(session, settings, submitter, [latest.size] if latest is not None else [])


def submit_sizes(session: Session, settings: Settings, submitter: Submitter, sizes: list[int]) -> list[Outcome]:
    """Submit the checkpoints of `sizes` to every configured witness, in ascending order,
    committing after each; a witness that fails is not sent the rest of them.

    Every checkpoint a transaction signed is submitted, not only its last: a completion signs
    the bundle's checkpoint and then one over the review cases it opened, and the bundle's own
    checkpoint should carry the witnesses' cosignatures (a witness never goes back to a smaller
    size once it cosigned a larger one).
    """
    outcomes: list[Outcome] = []
    for endpoint in settings.witnesses:
        for size in sorted(set(sizes)):
            checkpoint = checkpoint_at(session, size)
            if checkpoint is None:
                continue
            outcome = _submit_and_commit(session, settings, endpoint, checkpoint, submitter)
            outcomes.append(outcome)
            if not outcome.ok:
                break
    return outcomes


def _submit_and_commit(
    session: Session, settings: Settings, endpoint: WitnessEndpoint, checkpoint: Checkpoint, submitter: Submitter
) -> Outcome:
    size = checkpoint.size
    try:
        outcome = submit(session, settings, endpoint, checkpoint, submitter)
        session.commit()
    except IntegrityError:  # another process stored the same cosignature first
        session.rollback()
        outcome = Outcome(endpoint.name, size, "already", "stored by another process")
    level = logging.INFO if outcome.ok else logging.WARNING
    log.log(level, "witness %s: checkpoint %s %s %s", outcome.witness, outcome.size, outcome.result, outcome.detail)
    return outcome


# ---------------------------------------------------------------------------------------------
# In the background, after the transaction that signed a checkpoint commits


def submitter_of(app: Flask) -> Submitter:
    """The application's submitter."""
    submitter: Submitter = app.extensions["sunshine_witnessing"]
    return submitter


def init_app(app: Flask) -> None:
    """Give `app` a submitter and listen for commits that signed a checkpoint (once per process)."""
    app.extensions["sunshine_witnessing"] = Submitter()
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    sizes: set[int] = session.info.pop(NEW_CHECKPOINT, set())
    if not sizes or not has_app_context():
        return
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy typed as Flask
    settings: Settings | None = app.extensions.get("sunshine_settings")
    if settings is None or not settings.witnesses or "sunshine_witnessing" not in app.extensions:
        return
    submitter = submitter_of(app)
    with submitter.pending_lock:
        submitter.pending |= sizes
    start_submissions(app)


def _after_rollback(session: Session) -> None:
    session.info.pop(NEW_CHECKPOINT, None)


def start_submissions(app: Flask) -> threading.Thread:
    """Submit the pending checkpoints to every witness in a background thread."""
    submitter = submitter_of(app)
    thread = threading.Thread(target=_run, args=(app,), name="witness-submit", daemon=True)
    submitter.threads[:] = [t for t in submitter.threads if t.is_alive()] + [thread]
    thread.start()
    return thread


def _run(app: Flask) -> None:
    from service.extensions import db, session

    submitter = submitter_of(app)
    with submitter.lock, app.app_context():
        try:
            while True:  # until no committed checkpoint waits (more may commit meanwhile)
                with submitter.pending_lock:
                    sizes, submitter.pending = sorted(submitter.pending), set()
                if not sizes:
                    break
                submit_sizes(session(), app.extensions["sunshine_settings"], submitter, sizes)
        except Exception:
            log.exception("witness submission failed")
            db.session.rollback()
        finally:
            db.session.remove()


def wait_for_submissions(app: Flask, timeout: float) -> bool:
    """Wait (at most `timeout` seconds each) for the background submissions; True when all ended."""
    for thread in list(submitter_of(app).threads):
        thread.join(timeout)
    return not any(thread.is_alive() for thread in submitter_of(app).threads)


# ---------------------------------------------------------------------------------------------
# Serving


def witnessed_json(session: Session, draw: Draw, size: int) -> bytes | None:
    """The bundle's `witnessed.json`: every cosigned checkpoint of size in (the draw's announced
    index, `size`], ascending, each `{"note", "consistency"}` with its cosignatures appended and
    the RFC 9162 consistency proof from its size to `size` (empty when equal); None when no
    cosignature exists."""
    if draw.announced_log_index is None:
        return None
    query = (
        select(WitnessCosignature.checkpoint_size)
        .where(
            WitnessCosignature.checkpoint_size > draw.announced_log_index,
            WitnessCosignature.checkpoint_size <= size,
        )
        .distinct()
        .order_by(WitnessCosignature.checkpoint_size)
    )
    items: list[dict[str, Any]] = []
    leaves: list[bytes] | None = None
    for cosigned in session.scalars(query).all():
        checkpoint = checkpoint_at(session, cosigned)
        if checkpoint is None:
            continue
        if leaves is None:
            leaves = leaf_hashes(session, size)
        proof = consistency_proof(cosigned, leaves) if cosigned < size else []
        items.append(
            {
                "note": witnessed_note(session, checkpoint),
                "consistency": [base64.b64encode(node).decode("ascii") for node in proof],
            }
        )
    if not items:
        return None
    return json.dumps(items, ensure_ascii=False, indent=1).encode("utf-8")


_INPUT_TYPES = ("draw.announced", "draw.input", "draw.completed")


def size_after_last(session: Session, draw: Draw, wanted: Callable[[dict[str, Any]], bool]) -> int | None:
    """The size of the smallest tree holding every logged event of the draw that `wanted`
    accepts (its last one's index + 1); None when none is logged."""
    marker = '"draw_id":' + json.dumps(draw.draw_id, ensure_ascii=False)
    rows = session.execute(
        select(LogEntry.index, LogEntry.entry)
        .where(LogEntry.index >= (draw.announced_log_index or 0), LogEntry.entry.contains(marker, autoescape=True))
        .order_by(LogEntry.index.desc())
    )
    for index, entry in rows:
        event_ = json.loads(entry)
        if event_.get("draw_id") == draw.draw_id and wanted(event_):
            return int(index) + 1
    return None


def inputs_size(session: Session, draw: Draw) -> int | None:
    """The size of the smallest tree that holds the draw's announcement and every input recorded
    so far (and its completion, once completed); None before its announcement is logged."""
    if draw.completed_log_index is not None:
        return draw.completed_log_index + 1
    if draw.announced_log_index is None:
        return None
    found = size_after_last(session, draw, lambda event_: event_.get("type") in _INPUT_TYPES)
    return found if found is not None else draw.announced_log_index + 1


def draw_witnesses(session: Session, settings: Settings, draw: Draw) -> dict[str, Any] | None:
    """For the stage display: the configured witnesses that cosigned a checkpoint holding the
    draw's inputs so far (`{"configured": n, "names": [...]}`); None when none is configured."""
    if not settings.witnesses:
        return None
    size = inputs_size(session, draw)
    names: list[str] = []
    if size is not None:
        for endpoint in settings.witnesses:
            if cosigned_size(session, endpoint) >= size:
                names.append(endpoint.name)
    return {"configured": len(settings.witnesses), "names": names}
