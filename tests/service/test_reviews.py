"""Review states and transitions (docs/architecture.md "Review states"), corrections, assignment, case-based
checks, and the append-only history the database enforces on both backends."""

import re
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from service.config import settings_of
from service.extensions import db
from service.labels import state_label
from service.models import REVIEW_STATES, Draw, LogEntry, Office, ReviewCase, ReviewEvent
from service.reviews import (
    FINE_GROUNDS,
    TRANSITIONS,
    InvalidTransition,
    NotAssignee,
    ReviewError,
    StaleState,
    allowed_next,
    assign,
    correct,
    even_split,
    open_case_based,
    open_cases_for_draw,
    transition,
)
from service.transparency import verify_log
from tests.builders import FINE, completed_draw, make_user, reviewed_draw, user, walk

_REVIEW_PATHS = (
    ("querying", "under_review", "no_discrepancy", "closed"),
    ("querying", "under_review", "discrepancy", "statement_invited", "correction_notice", "closed"),
    ("querying", "under_review", "discrepancy", "statement_invited", "trust_notice", "closed"),
    ("querying", "under_review", "discrepancy", "statement_invited", "referred", "fined", "closed"),
    ("querying", "under_review", "discrepancy", "statement_invited", "referred", "not_fined", "closed"),
)
_COMPARISON_PATHS = (
    ("querying", "under_review", "explanation_requested", "explained", "closed"),
    ("querying", "under_review", "explanation_requested", "referred", "not_fined", "closed"),
)


def _edges(paths: tuple[tuple[str, ...], ...]) -> set[tuple[str, str]]:
    edges = set()
    for path in paths:
        for before, after in zip(("drawn", *path), path, strict=False):
            edges.add((before, after))
    return edges


def test_the_paths_cover_every_transition_of_the_design() -> None:
    designed = {(state, after) for state, targets in TRANSITIONS.items() for after in targets}
    assert _edges(_REVIEW_PATHS) | _edges(_COMPARISON_PATHS) == designed
    assert set(TRANSITIONS) == set(REVIEW_STATES)
    assert "explanation_requested" not in allowed_next("under_review", "review")
    assert "explanation_requested" in allowed_next("under_review", "comparison")


def _walk_checking_refusals(app: Flask, case_id: int, stage: str, path: tuple[str, ...]) -> None:
    """Take every step of `path`; before each, every other state must be refused, naming the allowed ones."""
    settings = settings_of(app)
    with app.app_context():
        for state in path:
            current = db.session.get(ReviewCase, case_id).state
            allowed = allowed_next(current, stage)
            assert state in allowed
            for wrong in REVIEW_STATES:
                if wrong in allowed:
                    continue
                with pytest.raises(InvalidTransition) as refused:
                    transition(db.session, settings, case_id, user("kinmen-reviewer"), wrong, note="wrong step")
                for name in allowed:
                    assert name in str(refused.value)
                db.session.rollback()
            amount, ground = FINE if state == "fined" else (None, None)
            transition(db.session, settings, case_id, user("kinmen-reviewer"), state, note=f"to {state}",
                       fine_amount=amount, fine_ground=ground)  # fmt: skip
            db.session.commit()
            assert db.session.get(ReviewCase, case_id).state == state
        for wrong in REVIEW_STATES:
            with pytest.raises(InvalidTransition, match="no further steps"):
                transition(db.session, settings, case_id, user("kinmen-reviewer"), wrong, note="after closing")
            db.session.rollback()


def test_every_transition_is_taken_and_every_other_refused(app: Flask, offices: dict[str, int]) -> None:
    cases = reviewed_draw(app, offices)
    assert len(cases["review"]) == 24 and len(cases["comparison"]) == 1
    for case_id, path in zip(cases["review"], _REVIEW_PATHS, strict=False):
        _walk_checking_refusals(app, case_id, "review", path)
    _walk_checking_refusals(app, cases["comparison"][0], "comparison", _COMPARISON_PATHS[0])
    settings = settings_of(app)
    with app.app_context():
        office = db.session.get(Office, offices["kinmen"])
        admin = user("kinmen-admin")
        second = open_case_based(
            db.session, settings, office, admin, roc_year=114, case_number=_unused_case_number(), note="tip-off",
            stage="comparison",
        )  # fmt: skip
        assign(db.session, settings, {second.id: user("kinmen-reviewer")}, admin)
        db.session.commit()
        second_id = second.id
    _walk_checking_refusals(app, second_id, "comparison", _COMPARISON_PATHS[1])
    with app.app_context():
        assert verify_log(db.session) == []


def _unused_case_number() -> str:
    drawn = set(db.session.scalars(select(ReviewCase.case_number)))
    return next(n for n in (f"114-{i:04d}" for i in range(1, 245)) if n not in drawn)


def test_each_step_records_who_when_why_and_the_next_due_date(app: Flask, offices: dict[str, int]) -> None:
    cases = reviewed_draw(app, offices)
    case_id = cases["review"][0]
    walk(app, case_id, ("querying",))
    with app.app_context():
        events = db.session.scalars(
            select(ReviewEvent).where(ReviewEvent.case_id == case_id).order_by(ReviewEvent.sequence)
        ).all()
        assert [(e.kind, e.from_state, e.to_state) for e in events] == [
            ("opened", None, "drawn"),
            ("assignment", "drawn", "drawn"),
            ("transition", "drawn", "querying"),
        ]
        step = events[-1]
        assert step.actor.username == "kinmen-reviewer"
        assert step.note == "step to querying"
        assert step.due_on == date(2099, 1, 31)
        assert step.recorded_at.tzinfo is not None and step.recorded_at.utcoffset().total_seconds() == 0
        assert events[1].assignee.username == "kinmen-reviewer"
        case = db.session.get(ReviewCase, case_id)
        assert case.due_on == date(2099, 1, 31) and case.state == "querying"
        entries = [db.session.get(LogEntry, e.log_index) for e in events]
        assert all(
            f'"record_digest":"{e.record_digest}"' in entry.entry for e, entry in zip(events, entries, strict=True)
        )
        assert all(
            '"type":"review.recorded"' in entry.entry and "kinmen-114-annual" in entry.entry for entry in entries
        )
        assert "kinmen-reviewer" not in entries[-1].entry and "step to" not in entries[-1].entry


def test_refusals_name_the_problem(app: Flask, offices: dict[str, int]) -> None:
    cases = reviewed_draw(app, offices)
    case_id = cases["review"][0]
    settings = settings_of(app)
    walk(app, case_id, ("querying", "under_review", "discrepancy", "statement_invited", "referred"))
    with app.app_context():
        reviewer = user("kinmen-reviewer")
        with pytest.raises(ReviewError, match="note"):
            transition(db.session, settings, case_id, reviewer, "fined", note=" ", fine_amount=100_000,
                       fine_ground="false-declaration")  # fmt: skip
        with pytest.raises(ReviewError, match="ground"):
            transition(db.session, settings, case_id, reviewer, "fined", note="fine", fine_amount=100_000)
        for ground, rule in FINE_GROUNDS.items():
            for amount in (rule.minimum - 1, rule.maximum + 1):
                with pytest.raises(ReviewError, match=re.escape(str(rule.source))):
                    transition(db.session, settings, case_id, reviewer, "fined", note="fine", fine_amount=amount,
                               fine_ground=ground)  # fmt: skip
        with pytest.raises(ReviewError, match="200,000"):
            transition(db.session, settings, case_id, reviewer, "fined", note="x fine", fine_amount=60_000,
                       fine_ground="concealment")  # fmt: skip
        with pytest.raises(ReviewError, match="only with the step"):
            transition(db.session, settings, case_id, reviewer, "not_fined", note="no", fine_amount=60_000,
                       fine_ground="false-declaration")  # fmt: skip
        with pytest.raises(ReviewError, match="past"):
            transition(db.session, settings, case_id, reviewer, "not_fined", note="no", due_on=date(2000, 1, 1))
        with pytest.raises(StaleState):
            transition(db.session, settings, case_id, reviewer, "not_fined", note="no", expected_state="discrepancy")
        with pytest.raises(NotAssignee):
            transition(db.session, settings, case_id, user("kinmen-reviewer2"), "not_fined", note="not mine")
        with pytest.raises(NotAssignee):
            transition(db.session, settings, case_id, user("kinmen-admin"), "not_fined", note="admins assign")
        with pytest.raises(NotAssignee):
            transition(db.session, settings, case_id, user("penghu-reviewer"), "not_fined", note="other office")
        db.session.rollback()
        for amount, ground in (
            (200_000, "concealment"),
            (4_000_000, "concealment"),
            (59_999, "false-declaration-reduced"),
        ):
            assert FINE_GROUNDS[ground].minimum <= amount <= FINE_GROUNDS[ground].maximum
        transition(db.session, settings, case_id, reviewer, "fined", note="Ministry fined", fine_amount=4_000_000,
                   fine_ground="concealment")  # fmt: skip
        db.session.commit()
        case = db.session.get(ReviewCase, case_id)
        assert (case.state, case.fine_amount, case.fine_ground) == ("fined", 4_000_000, "concealment")
        assert state_label("fined") == "fined"


def test_a_correction_is_a_new_entry_naming_the_one_it_corrects(app: Flask, offices: dict[str, int]) -> None:
    cases = reviewed_draw(app, offices)
    case_id = cases["review"][0]
    settings = settings_of(app)
    walk(app, case_id, ("querying", "under_review", "discrepancy", "statement_invited", "referred", "fined"))
    with app.app_context():
        reviewer = user("kinmen-reviewer")
        events = {e.to_state: e for e in db.session.get(ReviewCase, case_id).events if e.kind == "transition"}
        fined, querying = events["fined"], events["querying"]
        before = [(e.id, e.note, e.fine_amount) for e in db.session.get(ReviewCase, case_id).events]
        correct(db.session, settings, case_id, reviewer, fined.id, note="amount typed wrong", to_state="fined",
                fine_amount=180_000, fine_ground="false-declaration")  # fmt: skip
        correct(db.session, settings, case_id, reviewer, querying.id, note="requested on the platform, batch 7")
        db.session.commit()
        with pytest.raises(ReviewError, match="latest step"):
            correct(db.session, settings, case_id, reviewer, querying.id, note="no", to_state="under_review")
        with pytest.raises(InvalidTransition):
            correct(db.session, settings, case_id, reviewer, fined.id, note="no", to_state="closed")
        db.session.rollback()
        correct(db.session, settings, case_id, reviewer, fined.id, note="the Ministry decided not to fine",
                to_state="not_fined")  # fmt: skip
        db.session.commit()
        case = db.session.get(ReviewCase, case_id)
        assert (case.state, case.fine_amount, case.fine_ground) == ("not_fined", None, None)
        history = case.events
        assert [(e.id, e.note, e.fine_amount) for e in history[: len(before)]] == before  # nothing rewritten
        corrections = [e for e in history if e.kind == "correction"]
        assert [(c.corrects_id, c.to_state) for c in corrections] == [
            (fined.id, "fined"), (querying.id, "querying"), (fined.id, "not_fined"),
        ]  # fmt: skip
        assert corrections[0].fine_amount == 180_000
        from service.reviews import timeline

        replaced = {item.event.id: item.corrected_by for item in timeline(case)}
        assert replaced[fined.id].id == corrections[2].id and replaced[querying.id].id == corrections[1].id
        transition(db.session, settings, case_id, reviewer, "closed", note="done")
        db.session.commit()
        assert verify_log(db.session) == []


def test_assignment_by_the_admin_with_an_even_split(app: Flask, offices: dict[str, int]) -> None:
    pk = completed_draw(app, offices["kinmen"])
    settings = settings_of(app)
    with app.app_context():
        office = db.session.get(Office, offices["kinmen"])
        for name in ("kinmen-reviewer2", "kinmen-reviewer3"):
            make_user(office, name, "reviewer")
        draw = db.session.get(Draw, pk)
        admin = user("kinmen-admin")
        with pytest.raises(ReviewError):
            open_cases_for_draw(db.session, settings, draw, user("penghu-admin"))
        assert open_cases_for_draw(db.session, settings, draw, admin) == []  # opened on completion
        cases = list(db.session.scalars(select(ReviewCase).where(ReviewCase.draw_pk == pk)))
        reviewers = [user(n) for n in ("kinmen-reviewer", "kinmen-reviewer2", "kinmen-reviewer3")]
        assert len(cases) == 25 and {c.assignee_id for c in cases} == {reviewers[0].id}  # the only reviewer then
        assign(db.session, settings, {c.id: None for c in cases[2:]}, admin)
        suggestion = even_split(cases, reviewers)
        assert len(suggestion) == 23
        loads = {r.id: sum(1 for c in cases if c.assignee_id == r.id) for r in reviewers}
        for reviewer_id in suggestion.values():
            loads[reviewer_id] += 1
        assert sorted(loads.values()) == [8, 8, 9]
        assign(db.session, settings, {cid: db.session.get(type(admin), rid) for cid, rid in suggestion.items()}, admin)
        db.session.commit()
        with pytest.raises(ReviewError, match="Only an admin"):
            assign(db.session, settings, {cases[0].id: reviewers[1]}, user("kinmen-operator"))
        with pytest.raises(ReviewError, match="active reviewers"):
            assign(db.session, settings, {cases[0].id: user("kinmen-operator")}, admin)
        with pytest.raises(ReviewError, match="another office"):
            assign(db.session, settings, {cases[0].id: reviewers[1]}, user("penghu-admin"))
        db.session.rollback()
        assign(db.session, settings, {cases[0].id: reviewers[2]}, admin, note="workload")  # reassignment
        db.session.commit()
        case = db.session.get(ReviewCase, cases[0].id)
        assert case.assignee_id == reviewers[2].id
        assert [e.assignee.username for e in case.events if e.kind == "assignment"] == [
            "kinmen-reviewer", "kinmen-reviewer3",
        ]  # fmt: skip


def test_case_based_checks_are_outside_any_draw(app: Flask, offices: dict[str, int]) -> None:
    completed_draw(app, offices["kinmen"])
    settings = settings_of(app)
    with app.app_context():
        office = db.session.get(Office, offices["kinmen"])
        admin = user("kinmen-admin")
        case = open_case_based(db.session, settings, office, admin, roc_year=114, case_number="114-0001",
                               note="news report on undeclared land")  # fmt: skip
        db.session.commit()
        assert (case.origin, case.draw_pk, case.stage, case.log_draw_id) == (
            "case-based", None, "review", "case-based.kinmen.114",
        )  # fmt: skip
        with pytest.raises(ReviewError, match="already has an open"):
            open_case_based(db.session, settings, office, admin, roc_year=114, case_number="114-0001", note="again")
        with pytest.raises(ReviewError, match="No declarant"):
            open_case_based(db.session, settings, office, admin, roc_year=114, case_number="114-9999", note="who")
        with pytest.raises(ReviewError, match="another office"):
            open_case_based(db.session, settings, office, user("penghu-admin"), roc_year=114,
                            case_number="114-0002", note="not ours")  # fmt: skip
        db.session.rollback()
        last = db.session.scalars(select(LogEntry).order_by(LogEntry.index.desc())).first()
        assert '"draw_id":"case-based.kinmen.114"' in last.entry


def test_the_database_keeps_the_review_history_append_only(app: Flask, offices: dict[str, int]) -> None:
    cases = reviewed_draw(app, offices)
    case_id = cases["review"][0]
    walk(app, case_id, ("querying", "under_review"))
    attacks = [
        "UPDATE review_event SET note = 'rewritten'",
        "UPDATE review_event SET to_state = 'closed' WHERE sequence = 3",
        "DELETE FROM review_event",
        f"DELETE FROM review_event WHERE case_id = {case_id}",
        "DELETE FROM review_case",
        f"UPDATE review_case SET case_number = '114-9999' WHERE id = {case_id}",
        f"UPDATE review_case SET stage = 'comparison' WHERE id = {case_id}",
        f"UPDATE review_case SET declarant_id = declarant_id + 1 WHERE id = {case_id}",
    ]
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            attacks += ["TRUNCATE review_event CASCADE", "TRUNCATE review_case CASCADE"]
        for statement in attacks:
            with pytest.raises(DBAPIError), db.engine.begin() as connection:
                connection.execute(text(statement))
        with db.engine.begin() as connection:  # the current state may change (it is a projection)
            changed = connection.execute(text(f"UPDATE review_case SET state = state WHERE id = {case_id}")).rowcount
        assert changed == 1
        assert db.session.scalar(select(ReviewEvent).where(ReviewEvent.note == "rewritten")) is None
        assert len(db.session.get(ReviewCase, case_id).events) == 4
        assert verify_log(db.session) == []
