"""The self-check: does what is stored still match what was signed and logged?

The database refuses UPDATE and DELETE on history (service/triggers.py), but an insider with
full control of the database can drop triggers. This check finds what such a person changed:
the log against its signed checkpoints, each published draw against its logged digests and its
signatures, the population against its announced digest. It runs when gunicorn starts, on the
operator dashboard and in `flask audit verify`; every problem is named.
"""

import contextlib
import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from lottery.errors import ProtocolError
from lottery.signing import parse_vkey, verify_document
from service.bindings import check_bindings
from service.models import Draw, DrawWitnessConfirmation, LogEntry, SigningKey
from service.transparency import verify_log

#: Further checks registered by other parts of the service (e.g. review records).
EXTRA_CHECKS: list[Callable[[Session], list[str]]] = []

#: What a draw's status must be after each kind of its log events (other `draw.*` events, such as
#: inputs and confirmations, need a published draw: announced at least).
_STATUS_AFTER = {"draw.completed": "completed", "draw.abandoned": "abandoned"}


def _malformed(what: str, exc: BaseException) -> str:
    return f"{what}: cannot be checked, a stored value is malformed ({type(exc).__name__})"


def log_events(session: Session) -> list[tuple[int, dict[str, Any]]]:
    """Every log entry that is a JSON object, with its index (`verify_log` names the others)."""
    events = []
    for index, text in session.execute(select(LogEntry.index, LogEntry.entry)).tuples():
        try:
            event = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(event, dict):
            events.append((index, event))
    return events


def _draw_rows(session: Session, problems: list[str]) -> dict[str, Draw]:
    """Every draw row by draw id; a row that cannot be loaded is named, not fatal."""
    with contextlib.suppress(Exception):  # one malformed row: load them one by one below and name it
        return {str(draw.draw_id): draw for draw in session.scalars(select(Draw).order_by(Draw.id))}
    rows = {}
    for pk, draw_id in session.execute(select(Draw.id, Draw.draw_id)).tuples():
        try:
            draw = session.get(Draw, pk)
        except Exception as exc:
            problems.append(_malformed(f"draw {draw_id}", exc))
            continue
        if draw is not None:
            rows[str(draw_id)] = draw
    return rows


def check_draws(session: Session) -> list[str]:
    """Every draw the log refers to against its row, and every published draw against its log
    entries and signatures. A missing row, a status the log contradicts, a changed column: named."""
    problems: list[str] = []
    events: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _index, event in log_events(session):
        kind, draw_id = event.get("type"), event.get("draw_id")
        if isinstance(kind, str) and kind.startswith("draw.") and isinstance(draw_id, str):
            events.setdefault((kind, draw_id), []).append(event)
    rows = _draw_rows(session, problems)
    kinds_of: dict[str, set[str]] = {}
    for kind, draw_id in events:
        kinds_of.setdefault(draw_id, set()).add(kind)
    for draw_id, kinds in sorted(kinds_of.items()):
        draw = rows.get(draw_id)
        logged = ", ".join(sorted(kinds))
        if draw is None:
            problems.append(f"draw {draw_id}: the log records it ({logged}), but its row is missing")
            continue
        final = {_STATUS_AFTER[k] for k in kinds if k in _STATUS_AFTER}
        expected = final.pop() if len(final) == 1 else None
        if final:
            problems.append(f"draw {draw_id}: the log says it both completed and was abandoned")
        elif expected is None and draw.status not in ("announced", "completed", "abandoned"):
            problems.append(f"draw {draw_id}: the log says it was published ({logged}), but its row is {draw.status!r}")
        elif expected is not None and draw.status != expected:
            problems.append(f"draw {draw_id}: the log says it is {expected}, but its row is {draw.status!r}")
    keys = {}
    for key in session.scalars(select(SigningKey)):
        try:
            keys[key.key_id] = parse_vkey(key.vkey)
        except (ProtocolError, TypeError, ValueError):
            problems.append(f"office key {key.key_id}: the stored public key does not parse")
    for draw_id, draw in rows.items():
        if draw.status == "draft":
            continue
        try:
            _check_draw(problems, draw, events, keys)
        except Exception as exc:  # any hand edit is named, never a crash
            problems.append(_malformed(f"draw {draw_id}", exc))
    return problems


def _logged(events: dict[tuple[str, str], list[dict[str, Any]]], kind: str, draw_id: str) -> list[dict[str, Any]]:
    return events.get((kind, draw_id), [])


def _check_draw(
    problems: list[str], draw: Draw, events: dict[tuple[str, str], list[dict[str, Any]]], keys: dict[str, Any]
) -> None:
    name = f"draw {draw.draw_id}"
    announced = _logged(events, "draw.announced", draw.draw_id)
    if not announced:
        problems.append(f"{name}: its row is {draw.status!r}, but the log never recorded it as announced")
    if draw.status == "abandoned":
        abandoned = _logged(events, "draw.abandoned", draw.draw_id)
        if not abandoned:
            problems.append(f"{name}: its row is abandoned, but the log never recorded that")
        elif all(e.get("reason") != draw.abandoned_reason for e in abandoned):
            problems.append(f"{name}: the stored reason for abandoning it is not the one logged")
    announcement_bytes, population, result = (
        _as_bytes(draw.announcement),
        _as_bytes(draw.population_tsv),
        _as_bytes(draw.result),
    )
    if announcement_bytes is None or population is None:
        problems.append(f"{name}: its announcement or population is missing")
        return
    try:
        announcement = json.loads(announcement_bytes)
    except ValueError:
        announcement = None
    if not isinstance(announcement, dict):
        problems.append(f"{name}: the stored announcement is not a JSON object")
        return
    if [e.get("announcement_digest") for e in announced] != [hashlib.sha256(announcement_bytes).hexdigest()]:
        problems.append(f"{name}: the stored announcement is not the one logged as announced")
    population_doc = announcement.get("population")
    if not isinstance(population_doc, dict) or hashlib.sha256(population).hexdigest() != population_doc.get("digest"):
        problems.append(f"{name}: the stored population.tsv does not match the announced digest")
    _check_columns(problems, name, draw, announcement)
    verifier = keys.get(draw.signing_key_id or "")
    if verifier is None:
        problems.append(f"{name}: the key that signed it is not among the office keys")
    else:
        _check_signature(
            problems, f"{name}: announcement.json.sig", verifier, announcement_bytes, draw.announcement_sig
        )
    _check_inputs_logged(problems, name, draw, events)
    completed = _logged(events, "draw.completed", draw.draw_id)
    if result is None:
        if completed:
            problems.append(f"{name}: the log says it completed, but no result is stored")
        return
    if [e.get("result_digest") for e in completed] != [hashlib.sha256(result).hexdigest()]:
        problems.append(f"{name}: the stored result is not the one logged as completed")
    if verifier is not None:
        _check_signature(problems, f"{name}: result.json.sig", verifier, result, draw.result_sig)
    try:
        document = json.loads(result)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        problems.append(f"{name}: the stored result is not a JSON object")
        return
    _check_result_columns(problems, name, draw, document)


def _check_columns(problems: list[str], name: str, draw: Draw, announcement: dict[str, Any]) -> None:
    """The columns the announcement fixed (and the stage display shows) against the signed document."""
    entropy = _object(announcement.get("entropy"))
    drand, dice = _object(entropy.get("drand")), _object(entropy.get("dice"))
    pairs = (
        ("title", draw.title, announcement.get("title")),
        ("draw id", draw.draw_id, announcement.get("draw_id")),
        ("commitment", draw.commitment, entropy.get("commitment")),
        ("drand round", draw.drand_round, drand.get("round")),
        ("number of dice", draw.dice_count, dice.get("count")),
    )
    _name_differences(problems, name, pairs, "the announced one")
    if draw.dice is not None and draw.dice_count is not None and len(str(draw.dice)) != draw.dice_count:
        problems.append(f"{name}: the stored dice are not {draw.dice_count} digits")
    witnesses = draw.witnesses if isinstance(draw.witnesses, list) else []
    confirmations = draw.witness_confirmations
    if confirmations is not None and not isinstance(confirmations, list):
        problems.append(f"{name}: the stored witness confirmations are not a list")
        return
    if confirmations and draw.inputs_close_at is not None:
        problems.append(f"{name}: confirmations are stored that no witness made from their own sign-in")
    seen: set[str] = set()
    for confirmation in confirmations or []:
        who = confirmation.get("name") if isinstance(confirmation, dict) else None
        if who not in witnesses or who in seen:
            problems.append(f"{name}: a stored witness confirmation ({who!r}) is not by an announced witness")
        seen.add(str(who))
    revealed = draw.revealed_count
    if revealed is not None and (not isinstance(revealed, int) or revealed < 0):
        problems.append(f"{name}: the stored count of revealed selections is not a count")


def _check_inputs_logged(
    problems: list[str], name: str, draw: Draw, events: dict[tuple[str, str], list[dict[str, Any]]]
) -> None:
    """Inputs and witness confirmations the log recorded are the ones stored."""
    column = {"dice": draw.dice, "secret": draw.revealed_secret, "drand": draw.drand_beacon}
    inputs = _logged(events, "draw.input", draw.draw_id)
    for event in inputs:
        wanted = event.get("name")
        if wanted in column and column[wanted] != event.get("value"):
            problems.append(f"{name}: the stored {wanted} is not the one logged when it was entered")
    if draw.inputs_close_at is not None:  # announced under protocol §5: every accepted input was logged
        logged_names = {event.get("name") for event in inputs}
        for wanted, value in column.items():
            if value is not None and wanted not in logged_names:
                problems.append(f"{name}: a {wanted} is stored that was never logged as entered")
    # Witnesses confirm from their own sign-in (service.witnesses): each logged confirmation is a
    # stored row and each stored row was logged. Confirmations typed by an operator before v2 stay
    # in `witness_confirmations` and were never logged.
    session = object_session(draw)
    rows = (
        list(session.scalars(select(DrawWitnessConfirmation).where(DrawWitnessConfirmation.draw_pk == draw.id)))
        if session is not None
        else []
    )
    stored = {row.witness for row in rows}
    logged = _logged(events, "draw.witness_confirmed", draw.draw_id)
    for event in logged:
        if event.get("witness") not in stored:
            problems.append(
                f"{name}: the log records {event.get('witness')!r} confirming, but no such confirmation is stored"
            )
    logged_names = {event.get("witness") for event in logged}
    for row in rows:
        if row.witness not in logged_names:
            problems.append(f"{name}: a stored confirmation by {row.witness!r} was never logged")


def _check_result_columns(problems: list[str], name: str, draw: Draw, result: dict[str, Any]) -> None:
    """The inputs and seed stored on the row against the signed result."""
    inputs = _object(result.get("inputs"))
    pairs = (
        ("dice", draw.dice, inputs.get("dice")),
        ("secret", draw.revealed_secret, inputs.get("secret")),
        ("drand beacon", draw.drand_beacon, inputs.get("drand")),
        ("seed", draw.seed, result.get("seed")),
    )
    _name_differences(problems, name, pairs, "the one in the signed result")
    stages = result.get("stages")
    selected = [_object(stage).get("selected") or [] for stage in (stages if isinstance(stages, list) else [])]
    total = sum(len(items) for items in selected)
    if isinstance(draw.revealed_count, int) and draw.revealed_count > total:
        problems.append(f"{name}: the stored count of revealed selections exceeds the {total} selected")


def _name_differences(problems: list[str], name: str, pairs: tuple[tuple[str, Any, Any], ...], signed: str) -> None:
    """Name each stored column (label, stored, signed) that differs from what was signed."""
    for label, stored, value in pairs:
        if stored != value:
            problems.append(f"{name}: the stored {label} is not {signed}")


def _object(value: object) -> dict[str, Any]:
    """A JSON object as parsed, or an empty one when a hand edit made it something else."""
    return value if isinstance(value, dict) else {}


def _as_bytes(value: object) -> bytes | None:
    """Stored documents as bytes, even if an edit behind the app's back turned them into text."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    # text where bytes were, or a number: never bytes(<int>), which would be that many zero bytes
    return str(value).encode("utf-8", "surrogatepass")


def _check_signature(problems: list[str], what: str, verifier: Any, data: bytes, signature: str | None) -> None:
    try:
        verify_document(verifier, data, (signature or "").encode("ascii"))
    except (ProtocolError, UnicodeEncodeError):
        problems.append(f"{what} does not verify over the stored document")


def check_review_records(session: Session) -> list[str]:
    """Every review event against its salted digest and its `review.recorded` log entry; every
    `review.recorded` entry against a stored event; every case's columns against its replayed history."""
    from lottery.canonical import canonical_json, digest
    from service.models import ReviewCase, ReviewEvent
    from service.reviews import log_event_of, record_of

    problems: list[str] = []
    entries = {index: text for index, text in session.execute(select(LogEntry.index, LogEntry.entry)).tuples()}
    recorded = {index for index, event in log_events(session) if event.get("type") == "review.recorded"}
    cases = _load_all(session, ReviewCase, problems, "review case")
    events = _load_all(session, ReviewEvent, problems, "review event")
    stored_indices: set[object] = set()
    by_case: dict[object, list[Any]] = {}
    for event in events:
        stored_indices.add(event.log_index)
        by_case.setdefault(event.case_id, []).append(event)
        name = f"review event {event.id} (case id {event.case_id}, event {event.sequence})"
        try:
            if event.case is None:
                problems.append(f"{name}: its review case is missing")
                continue
            name = f"review case {event.case.case_number} event {event.sequence}"
            if event.actor is None:
                problems.append(f"{name}: the user who recorded it is missing")
                continue
            if digest(record_of(event)) != event.record_digest:
                problems.append(f"{name}: the stored record no longer hashes to its logged digest")
            if entries.get(event.log_index) != canonical_json(log_event_of(event)).decode("utf-8"):
                problems.append(f"{name}: its log entry {event.log_index} does not record this event")
        except Exception as exc:  # any hand edit is named, never a crash
            problems.append(_malformed(name, exc))
    for index in sorted(recorded - stored_indices):
        problems.append(f"log entry {index} records a review event (review.recorded) that is no longer stored")
    for case in cases:
        try:
            _check_case(problems, case, by_case.get(case.id, []))
        except Exception as exc:
            problems.append(_malformed(f"review case {case.case_number}", exc))
    return problems


def _load_all(session: Session, model: Any, problems: list[str], what: str) -> list[Any]:
    """Every row of `model`; a row that cannot be loaded is named and left out."""
    with contextlib.suppress(Exception):  # one malformed row: load them one by one below and name it
        return list(session.scalars(select(model).order_by(model.id)))
    rows = []
    for pk in session.scalars(select(model.id).order_by(model.id)):
        try:
            rows.append(session.get(model, pk))
        except Exception as exc:
            problems.append(_malformed(f"{what} {pk}", exc))
    return [row for row in rows if row is not None]


def _check_case(problems: list[str], case: Any, events: list[Any]) -> None:
    """The case's stored projection against the replay of its stored events."""
    from service.reviews import PROJECTED, replay

    name = f"review case {case.case_number}"
    sequences = sorted(e.sequence for e in events)
    if sequences != list(range(1, len(sequences) + 1)):
        problems.append(f"{name}: its history is not complete (events {sequences or 'none'} are stored)")
    projection = replay(events)
    if projection is None:
        problems.append(f"{name}: it has no recorded history, yet it is stored as {case.state!r}")
        return
    for column in PROJECTED:
        stored, replayed = getattr(case, column), getattr(projection, column)
        if stored != replayed:
            problems.append(
                f"{name}: the stored {column.replace('_', ' ')} ({stored!r}) "
                f"is not what its history says ({replayed!r})"
            )


def self_check(session: Session) -> list[str]:
    """Every problem found in the stored history (empty when everything matches). Never raises
    for what is stored: a check that meets a value it cannot read names it and the others go on."""
    problems: list[str] = []
    # check_bindings: protocol §2a, every case number is still its declarant's
    for check in (verify_log, check_draws, check_review_records, check_bindings, *EXTRA_CHECKS):
        try:
            problems.extend(check(session))
        except Exception as exc:  # a hand edit no check foresaw
            session.rollback()
            what = (check.__doc__ or check.__name__).strip().splitlines()[0].rstrip(".")
            problems.append(_malformed(f"self-check ({what})", exc))
    return problems
