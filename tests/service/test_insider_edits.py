"""Issue 12 item 4, tried as an insider with SQL on the database: with the triggers in place the
database refuses each edit; with the triggers dropped, `flask audit verify` names it (non-zero
exit, one line per problem, no traceback) and the public figures still come from the history."""

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from service.config import settings_of
from service.draw_lifecycle import abandon, advance_reveal, announce, enter_dice
from service.extensions import db
from service.integrity import self_check
from service.models import Draw, DrawWitnessConfirmation, ReviewCase, ReviewEvent
from service.witnesses import confirm
from tests.builders import (
    ANNOUNCED,
    BEACON_AT,
    DICE_AT,
    TO_FINED,
    completed_draw,
    prepare_draft,
    reviewed_draw,
    user,
    walk,
)
from tests.service.test_draw_lifecycle import run_to_completion

DRAW_ID = "kinmen-114-annual"


# --- the insider's tools ----------------------------------------------------------------------


def _sql(app: Flask, statement: str, **params: Any) -> None:
    """Run statements (one per line ending in `;`) on the database, as its administrator would."""
    with app.app_context():
        try:
            for part in statement.split(";\n"):
                db.session.execute(text(part), {k: v for k, v in params.items() if f":{k}" in part})
            db.session.commit()
        finally:
            db.session.rollback()


def _refused(app: Flask, statement: str, **params: Any) -> str:
    """The database's refusal of `statement` (the test fails if it goes through)."""
    with pytest.raises(DBAPIError) as refusal:
        _sql(app, statement, **params)
    return str(refusal.value.orig)


def _sqlite_unchecked(app: Flask, statement: str, **params: Any) -> None:
    """Run one statement on SQLite with foreign keys off (the pragma only works outside a transaction)."""
    with app.app_context():
        pooled = db.engine.raw_connection()
        raw = pooled.driver_connection
        try:
            raw.execute("PRAGMA foreign_keys = OFF")
            raw.execute(statement, params)
            raw.commit()
        finally:
            raw.execute("PRAGMA foreign_keys = ON")
            pooled.close()


def _drop_triggers(app: Flask) -> None:
    from service.triggers import VERSIONS, drop_statements_for

    with app.app_context(), db.engine.begin() as connection:
        for version in VERSIONS:
            for statement in drop_statements_for(connection.dialect.name, version):
                if statement.startswith("DROP TRIGGER"):
                    connection.execute(text(statement))


def _audit(app: Flask) -> list[str]:
    """`flask audit verify`: it must exit 1 with no traceback; returns its problem lines."""
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert isinstance(result.exception, SystemExit), result.output  # not a crash
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert lines and all(line.startswith("✗ ") for line in lines), lines
    return lines


def _named(lines: list[str], *fragments: str) -> None:
    for fragment in fragments:
        assert any(fragment in line for line in lines), (fragment, lines)


def _clean(app: Flask) -> None:
    with app.app_context():
        assert self_check(db.session) == []
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


# --- the state each attack starts from ------------------------------------------------------------


def _fined_case(app: Flask, offices: dict[str, int]) -> dict[str, Any]:
    """Two cases of a completed draw: one walked to fined, one just opened."""
    ids = reviewed_draw(app, offices)["review"]
    walk(app, ids[0], TO_FINED)
    with app.app_context():
        fined = db.session.get(ReviewCase, ids[0])
        opened = db.session.get(ReviewCase, ids[1])
        assert fined is not None and opened is not None
        return {"fined": fined.id, "opened": opened.id, "opened_number": opened.case_number}


def _completed(app: Flask, offices: dict[str, int]) -> int:
    """A completed draw whose stage display revealed 3 selections and one witness confirmed."""
    pk = completed_draw(app, offices["kinmen"])
    with app.app_context():
        advance_reveal(db.session, pk, 3)
        confirm(db.session, settings_of(app), pk, user("kinmen-witness1"), now=BEACON_AT)
        db.session.commit()
    return pk


def _announced(app: Flask, offices: dict[str, int]) -> int:
    """An announced draw whose dice were entered (the first steps of `run_to_completion`)."""
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    with app.app_context():
        announce(db.session, settings_of(app), pk, user("kinmen-operator"), now=ANNOUNCED)
        enter_dice(db.session, settings_of(app), pk, "9" * 20, now=DICE_AT)
        db.session.commit()
    return pk


def _abandoned(app: Flask, offices: dict[str, int]) -> int:
    pk = _announced(app, offices)
    with app.app_context():
        abandon(db.session, settings_of(app), pk, "the dice rolled off the table", now=DICE_AT)
        db.session.commit()
    return pk


def _stats(app: Flask) -> Any:
    return app.test_client().get("/api/v1/stats/114").get_json()


# --- reviews ----------------------------------------------------------------------------------------

CASE_EDITS = {
    "state and fine": (
        "UPDATE review_case SET state = 'fined', fine_amount = 4000000, fine_ground = 'concealment' WHERE id = :opened",
        "stored state ('fined') is not what its history says ('drawn')",
    ),
    "fine": ("UPDATE review_case SET fine_amount = 60000 WHERE id = :fined", "stored fine amount (60000)"),
    "cleared fine": (
        "UPDATE review_case SET state = 'not_fined', fine_amount = NULL, fine_ground = NULL WHERE id = :fined",
        "stored state ('not_fined') is not what its history says ('fined')",
    ),
    "assignee": ("UPDATE review_case SET assignee_id = NULL WHERE id = :opened", "stored assignee id (None)"),
    "forged sequence": (
        "UPDATE review_case SET state = 'closed', last_event_sequence = last_event_sequence + 1 WHERE id = :opened",
        "stored state ('closed')",
    ),
}


@pytest.mark.parametrize("what", sorted(CASE_EDITS))
def test_a_review_case_edited_in_sql_is_refused_then_named(app: Flask, offices: dict[str, int], what: str) -> None:
    cases = _fined_case(app, offices)
    statement, named = CASE_EDITS[what]
    before = _stats(app)
    assert before["fines"]["count"] == 1

    assert "changes only with a new event" in _refused(app, statement, **cases)
    _clean(app)

    _drop_triggers(app)
    _sql(app, statement, **cases)
    _named(_audit(app), named)
    assert _stats(app) == before  # the figures come from the history, not from the edited row


def test_a_review_case_inserted_in_sql_is_refused_then_named(app: Flask, offices: dict[str, int]) -> None:
    cases = _fined_case(app, offices)
    copy = (
        "INSERT INTO review_case (office_id, draw_pk, declarant_id, roc_year, case_number, stage, origin, log_draw_id,"
        " state, assignee_id, due_on, fine_amount, fine_ground, created_by_id, created_at, updated_at,"
        " last_event_sequence) SELECT office_id, NULL, declarant_id, roc_year, case_number, stage, 'case-based',"
        " log_draw_id, 'fined', assignee_id, due_on, 150000, 'false-declaration', created_by_id, created_at,"
        " updated_at, 7 FROM review_case WHERE id = :fined"
    )
    assert "opens as drawn" in _refused(app, copy, fined=cases["fined"])
    _drop_triggers(app)
    _sql(app, copy, fined=cases["fined"])
    _named(_audit(app), "it has no recorded history, yet it is stored as 'fined'")


def test_deleted_review_cases_and_events_are_refused_then_named(app: Flask, offices: dict[str, int]) -> None:
    cases = _fined_case(app, offices)
    with app.app_context():
        last = db.session.scalar(
            select(ReviewEvent.log_index)
            .where(ReviewEvent.case_id == cases["fined"])
            .order_by(ReviewEvent.sequence.desc())
        )
        opened_indices = list(
            db.session.scalars(select(ReviewEvent.log_index).where(ReviewEvent.case_id == cases["opened"]))
        )
    delete_event = "DELETE FROM review_event WHERE log_index = :index"
    delete_events = "DELETE FROM review_event WHERE case_id = :opened"
    delete_case = "DELETE FROM review_case WHERE id = :opened"
    assert "append-only" in _refused(app, delete_event, index=last)
    assert "never deleted" in _refused(app, delete_case, opened=cases["opened"])
    _clean(app)

    _drop_triggers(app)
    _sql(app, delete_event, index=last)  # the fine's event
    _sql(app, delete_events, opened=cases["opened"])
    _sql(app, delete_case, opened=cases["opened"])
    lines = _audit(app)
    _named(
        lines,
        f"log entry {last} records a review event (review.recorded) that is no longer stored",
        *(f"log entry {index} records a review event" for index in opened_indices),
        "stored last event sequence",
    )
    with app.app_context():  # the start-up self-check and the dashboard see the same, without a crash
        assert len(self_check(db.session)) == len(lines)


def test_a_case_deleted_under_its_events_is_named(
    app: Flask, offices: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = _fined_case(app, offices)
    _drop_triggers(app)
    with app.app_context():
        dialect = db.engine.dialect.name
    if dialect == "postgresql":
        _sql(app, "ALTER TABLE review_event DROP CONSTRAINT fk_review_event_case_id_review_case")
        _sql(app, "DELETE FROM review_case WHERE id = :opened", opened=cases["opened"])
    else:
        _sqlite_unchecked(app, "DELETE FROM review_case WHERE id = :opened", opened=cases["opened"])
    named = f"(case id {cases['opened']}, event 1): its review case is missing"
    _named(_audit(app), named)

    # the start-up self-check (gunicorn's when_ready) logs the same, without a crash
    import service
    from service.startup import run_self_check

    class Log:
        def __init__(self) -> None:
            self.errors: list[str] = []

        def error(self, message: str, *args: Any) -> None:
            self.errors.append(message % args)

        def warning(self, message: str, *args: Any) -> None:
            raise AssertionError(message % args)

        info = warning

    log = Log()
    monkeypatch.setattr(service, "create_app", lambda: app)
    assert run_self_check(log)
    _named(log.errors, "SELF-CHECK FAILED", named)


# --- draws ------------------------------------------------------------------------------------------

#: Edits of a completed draw: (SQL, what `flask audit verify` says once the triggers are dropped).
DRAW_EDITS = {
    "title": ("UPDATE draw SET title = 'a quieter title' WHERE id = :pk", "stored title is not the announced one"),
    "dice": (
        "UPDATE draw SET dice = '11111111111111111111' WHERE id = :pk",
        "stored dice is not the one in the signed result",
    ),
    "secret": (
        "UPDATE draw SET revealed_secret = '" + "0" * 64 + "' WHERE id = :pk",
        "stored secret is not the one in the signed result",
    ),
    "revealed count": (
        "UPDATE draw SET revealed_count = -1 WHERE id = :pk",
        "count of revealed selections is not a count",
    ),
    "witness confirmations": (
        'UPDATE draw SET witness_confirmations = \'[{"name": "a friend", "at": "2025-01-01T00:00:00Z"}]\''
        " WHERE id = :pk",
        "witness confirmation ('a friend') is not by an announced witness",
    ),
    "status": (
        "UPDATE draw SET status = 'announced' WHERE id = :pk",
        "the log says it is completed, but its row is 'announced'",
    ),
    "deleted": (
        # the witnesses' rows and the review cases opened on completion refer to the draw: an
        # insider deletes them first
        "DELETE FROM draw_witness_confirmation WHERE draw_pk = :pk;\nDELETE FROM draw_witness WHERE draw_pk = :pk;\n"
        "DELETE FROM review_event WHERE case_id IN (SELECT id FROM review_case WHERE draw_pk = :pk);\n"
        "DELETE FROM review_case WHERE draw_pk = :pk;\n"
        "DELETE FROM draw WHERE id = :pk",
        "but its row is missing",
    ),
}


@pytest.mark.parametrize("what", sorted(DRAW_EDITS))
def test_a_completed_draw_edited_in_sql_is_refused_then_named(app: Flask, offices: dict[str, int], what: str) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_completion(app, pk)
    with app.app_context():
        advance_reveal(db.session, pk, 3)
        confirm(db.session, settings_of(app), pk, user("kinmen-witness1"), now=BEACON_AT)
        db.session.commit()
    statement, named = DRAW_EDITS[what]
    refusal = _refused(app, statement, pk=pk)
    assert any(why in refusal for why in ("cannot change", "never changed", "can be deleted", "append-only"))
    _clean(app)
    _drop_triggers(app)
    _sql(app, statement, pk=pk)
    _named(_audit(app), f"draw {DRAW_ID}", named)


#: Changes the set-once triggers refuse that the signed documents cannot show: refused, full stop.
SET_ONCE_ONLY = {
    "revealed count down": "UPDATE draw SET revealed_count = 1 WHERE id = :pk",
    "confirmation withdrawn": "DELETE FROM draw_witness_confirmation WHERE draw_pk = :pk",
    "confirmation typed in": """UPDATE draw SET witness_confirmations = '[{"name": "x"}]' WHERE id = :pk""",
    "drand beacon": "UPDATE draw SET drand_beacon = NULL WHERE id = :pk",
    "abandoned after completion": "UPDATE draw SET status = 'abandoned', abandoned_reason = 'later' WHERE id = :pk",
    "drawn at": "UPDATE draw SET drawn_at = announced_at WHERE id = :pk",
}


@pytest.mark.parametrize("what", sorted(SET_ONCE_ONLY))
def test_a_completed_draw_is_set_once(app: Flask, offices: dict[str, int], what: str) -> None:
    pk = _completed(app, offices)
    _refused(app, SET_ONCE_ONLY[what], pk=pk)
    _clean(app)


def test_the_set_once_rules_let_the_service_move_on(app: Flask, offices: dict[str, int]) -> None:
    pk = _completed(app, offices)
    _sql(app, "UPDATE draw SET revealed_count = 5, updated_at = completed_at WHERE id = :pk", pk=pk)
    _clean(app)
    # upward is allowed, but not past what the signed result selected
    _sql(app, "UPDATE draw SET revealed_count = 999 WHERE id = :pk", pk=pk)
    _named(_audit(app), "count of revealed selections exceeds")
    _drop_triggers(app)
    _sql(app, "UPDATE draw SET revealed_count = 5 WHERE id = :pk", pk=pk)
    with app.app_context():
        confirm(db.session, settings_of(app), pk, user("kinmen-witness2"), now=BEACON_AT)
        db.session.commit()
        assert db.session.get(Draw, pk).revealed_count == 5  # type: ignore[union-attr]
        stored = db.session.scalars(select(DrawWitnessConfirmation).where(DrawWitnessConfirmation.draw_pk == pk))
        assert len(list(stored)) == 2
    _clean(app)


#: The witnesses named at the announcement refer to the draw: an insider deletes them first.
DELETE_DRAW = "DELETE FROM draw_witness WHERE draw_pk = :pk;\nDELETE FROM draw WHERE id = :pk"

ANNOUNCED_EDITS: dict[str, tuple[Callable[[Flask, dict[str, int]], int], str, str | None]] = {
    "announced title": (_announced, "UPDATE draw SET title = 'x' WHERE id = :pk", "stored title is not the announced"),
    "announced dice": (
        _announced,
        "UPDATE draw SET dice = '00000000000000000000' WHERE id = :pk",
        None,  # nothing signed holds the dice before the result (the lead's draw.input events will)
    ),
    "announced deleted": (_announced, DELETE_DRAW, "(draw.announced, draw.input), but its row is missing"),
    "abandoned deleted": (
        _abandoned,
        DELETE_DRAW,
        "(draw.abandoned, draw.announced, draw.input), but its row is missing",
    ),
    "abandoned revived": (
        _abandoned,
        "UPDATE draw SET status = 'announced' WHERE id = :pk",
        "the log says it is abandoned, but its row is 'announced'",
    ),
    "abandoned reason": (
        _abandoned,
        "UPDATE draw SET abandoned_reason = 'nothing happened' WHERE id = :pk",
        "reason for abandoning it is not the one logged",
    ),
    "draft again": (_announced, "UPDATE draw SET status = 'draft' WHERE id = :pk", "but its row is 'draft'"),
}


@pytest.mark.parametrize("what", sorted(ANNOUNCED_EDITS))
def test_an_announced_or_abandoned_draw_edited_in_sql_is_refused_then_named(
    app: Flask, offices: dict[str, int], what: str
) -> None:
    build, statement, named = ANNOUNCED_EDITS[what]
    pk = build(app, offices)
    _refused(app, statement, pk=pk)
    _clean(app)
    if named is None:
        return
    _drop_triggers(app)
    _sql(app, statement, pk=pk)
    _named(_audit(app), f"draw {DRAW_ID}", named)


def test_a_draft_cannot_skip_the_announcement(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    _refused(app, "UPDATE draw SET status = 'abandoned', abandoned_reason = 'never announced' WHERE id = :pk", pk=pk)
    _sql(app, "UPDATE draw SET title = 'a draft is still edited freely' WHERE id = :pk", pk=pk)


# --- hand edits of the wrong shape: named, never a crash ------------------------------------------

MALFORMED = {
    "event sequence as text": "UPDATE review_event SET sequence = 'two' WHERE sequence = 2",
    "due date as garbage": "UPDATE review_case SET due_on = 'soon' WHERE id = :fined",
    "event time as garbage": "UPDATE review_event SET recorded_at = 'yesterday' WHERE sequence = 1",
    "leaf hash as text": "UPDATE log_entry SET leaf_hash = 'not bytes' WHERE \"index\" = 0",
    "log entry not JSON": "UPDATE log_entry SET entry = 'not json' WHERE \"index\" = 1",
    "result as text": "UPDATE draw SET result = 'not json', dice = NULL",
    "result a huge number": "UPDATE draw SET result = 10000000000000",
    "log entry a number": 'UPDATE log_entry SET entry = 42 WHERE "index" = 2',
    "announcement a list": "UPDATE draw SET announcement = '[1, 2]'",
    "confirmations not a list": "UPDATE draw SET witness_confirmations = '{\"name\": 1}'",
    "drawn at garbage": "UPDATE draw SET drawn_at = 'noon'",
    "no actor": "UPDATE review_event SET actor_id = 9999 WHERE sequence = 1",
}


@pytest.mark.parametrize("what", sorted(MALFORMED))
def test_malformed_hand_edits_are_named_without_a_crash(app: Flask, offices: dict[str, int], what: str) -> None:
    cases = _fined_case(app, offices)
    _drop_triggers(app)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL refuses a value of the wrong type itself")
    _sqlite_unchecked(app, MALFORMED[what], **cases)
    lines = _audit(app)
    with app.app_context():
        assert self_check(db.session)  # the start-up self-check and the dashboard: named, no crash
    assert not any("self-check (" in line for line in lines), lines  # each check went through
