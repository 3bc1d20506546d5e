"""Review cases open themselves when a draw completes: one per selected entry, in the completion's
transaction, logged at the injected time, given out in turn to the office's reviewers."""

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lottery.timestamps import format_timestamp
from service.clock import fix_clock
from service.config import settings_of
from service.draw_lifecycle import DrawLifecycleError, complete, enter_dice, record_beacon, reveal_secret
from service.extensions import db
from service.models import Draw, LogEntry, Office, ReviewCase, ReviewEvent, User
from service.reviews import AUTO_ASSIGNMENT_NOTE, ReviewError, open_cases_for_draw, reviewers_of, selections_of
from service.transparency import log_size, verify_log
from tests.builders import (
    ANNOUNCED,
    BEACON,
    BEACON_AT,
    DICE,
    DICE_AT,
    SECRET_AT,
    AuthActions,
    make_user,
    prepare_draft,
    run_to_result,
    user,
)


def _inputs_recorded(app: Flask, office_id: int) -> int:
    """A draw announced with every input recorded, not yet completed; returns its primary key."""
    from service.draw_lifecycle import announce

    pk = prepare_draft(app, office_id, "kinmen-operator")
    settings = settings_of(app)
    with app.app_context():
        announce(db.session, settings, pk, user("kinmen-operator"), now=ANNOUNCED)
        enter_dice(db.session, settings, pk, DICE, now=DICE_AT)
        reveal_secret(db.session, settings, pk, now=SECRET_AT)
        record_beacon(db.session, settings, pk, BEACON, now=BEACON_AT)
        db.session.commit()
    return pk


def _cases(pk: int) -> list[ReviewCase]:
    return list(db.session.scalars(select(ReviewCase).where(ReviewCase.draw_pk == pk).order_by(ReviewCase.case_number)))


def test_completion_opens_a_case_per_selection_given_out_in_turn(app: Flask, offices: dict[str, int]) -> None:
    with app.app_context():
        office = db.session.get(Office, offices["kinmen"])
        for name in ("kinmen-reviewer2", "kinmen-reviewer3"):
            make_user(office, name, "reviewer")
        db.session.commit()
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_result(app, pk, "kinmen-operator")
    with app.app_context():
        draw = db.session.get(Draw, pk)
        assert draw is not None and draw.status == "completed"
        selected = selections_of(draw)
        cases = _cases(pk)
        assert {c.case_number: c.stage for c in cases} == selected and len(cases) == 25
        assert {c.state for c in cases} == {"drawn"} and {c.origin for c in cases} == {"lottery"}
        # round-robin by case number over the reviewers in their stable order
        reviewers = reviewers_of(db.session, offices["kinmen"])
        assert [c.assignee_id for c in cases] == [reviewers[n % 3].id for n in range(25)]
        assert sorted(Counter(c.assignee_id for c in cases).values()) == [8, 8, 9]
        # logged as the completion, by the operator whose step completed it, right after draw.completed
        events = list(db.session.scalars(select(ReviewEvent).where(ReviewEvent.case_id.in_([c.id for c in cases]))))
        assert Counter(e.kind for e in events) == {"opened": 25, "assignment": 25}
        assert {e.recorded_at for e in events} == {BEACON_AT} and {c.created_at for c in cases} == {BEACON_AT}
        assert {e.actor.username for e in events} == {"kinmen-operator"}
        assert {e.note for e in events if e.kind == "assignment"} == {AUTO_ASSIGNMENT_NOTE}
        assert min(e.log_index for e in events) == draw.completed_log_index + 1
        assert max(e.log_index for e in events) == log_size(db.session) - 1
        assert {c.last_event_sequence for c in cases} == {2}
        assert verify_log(db.session) == []


def test_the_console_completes_at_the_injected_clock_by_the_signed_in_operator(
    app: Flask, offices: dict[str, int]
) -> None:
    pk = _inputs_recorded(app, offices["kinmen"])
    moved = BEACON_AT + timedelta(hours=3, minutes=7)
    fix_clock(app, moved)
    client = app.test_client()
    AuthActions(client).login("kinmen-admin")  # an admin runs the console too: the events name them
    response = client.post("/operator/draws/kinmen-114-annual/live/complete")
    assert response.status_code in (302, 303)
    with app.app_context():
        cases = _cases(pk)
        assert len(cases) == 25
        events = list(db.session.scalars(select(ReviewEvent).where(ReviewEvent.case_id.in_([c.id for c in cases]))))
        assert {e.recorded_at for e in events} == {moved}
        assert {e.actor.username for e in events} == {"kinmen-admin"}
        assert {c.due_on for c in cases} == {(moved + timedelta(hours=8)).date() + timedelta(days=30)}
        stamp = f'"time":"{format_timestamp(moved)}"'
        assert all(stamp in db.session.get(LogEntry, e.log_index).entry for e in events)
    page = client.get("/operator/draws/kinmen-114-annual/console").get_data(as_text=True)
    assert "25 review cases were opened when the draw completed; 25 are assigned." in page


def test_if_the_cases_cannot_be_opened_the_draw_is_not_completed(
    app: Flask, offices: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    pk = _inputs_recorded(app, offices["kinmen"])
    settings = settings_of(app)
    import service.reviews.opening

    real_store = service.reviews.opening.store_events

    def failing_store(*args: Any, **kwargs: Any) -> Any:
        raise ReviewError("the case history could not be written")

    with app.app_context():
        size = log_size(db.session)
        monkeypatch.setattr(service.reviews.opening, "store_events", failing_store)
        with pytest.raises(DrawLifecycleError, match="could not be opened, so the draw was not completed"):
            complete(db.session, settings, pk, now=BEACON_AT)
        db.session.rollback()
        draw = db.session.get(Draw, pk)
        assert draw is not None and draw.status == "announced" and draw.result is None
        assert log_size(db.session) == size
        assert db.session.scalar(select(func.count(ReviewCase.id))) == 0
        monkeypatch.setattr(service.reviews.opening, "store_events", real_store)
        complete(db.session, settings, pk, now=BEACON_AT)
        db.session.commit()
        assert len(_cases(pk)) == 25 and verify_log(db.session) == []


def test_the_admin_opens_nothing_twice_and_still_opens_draws_completed_before(
    app: Flask, offices: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.draw_lifecycle

    # A draw completed before cases opened themselves: completion opened nothing.
    monkeypatch.setattr(service.draw_lifecycle, "open_on_completion", lambda *args, **kwargs: [])
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_result(app, pk, "kinmen-operator")
    monkeypatch.undo()
    settings = settings_of(app)
    reviewer = AuthActions(client := app.test_client())
    reviewer.login("kinmen-reviewer")
    page = client.get("/reviews/").get_data(as_text=True)
    assert "1 completed draws have no review cases yet" in page
    with app.app_context():
        draw = db.session.get(Draw, pk)
        assert draw is not None and _cases(pk) == []
        opened = open_cases_for_draw(db.session, settings, draw, user("kinmen-admin"))
        assert len(opened) == 25 and {c.assignee_id for c in opened} == {None}
        assert open_cases_for_draw(db.session, settings, draw, user("kinmen-admin")) == []
        # and opening through completion's own path again opens nothing either
        from service.reviews import open_on_completion

        assert open_on_completion(db.session, settings, draw, {"stages": []}, user("kinmen-admin"), BEACON_AT) == []
        db.session.commit()
        assert db.session.scalar(select(func.count(ReviewCase.id))) == 25
        assert db.session.scalar(select(func.count(ReviewEvent.id))) == 25
    page = client.get("/reviews/").get_data(as_text=True)
    assert "25 open cases are assigned to no one" in page


def test_completed_draw_cases_are_not_opened_again_by_the_admin(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_result(app, pk, "kinmen-operator")
    admin = app.test_client()
    AuthActions(admin).login("kinmen-admin")
    assert admin.post("/reviews/draws/kinmen-114-annual/open", data={"due_on": "2099-01-01"}).status_code == 303
    with app.app_context():
        assert len(_cases(pk)) == 25
        assert db.session.scalar(select(func.count(ReviewEvent.id))) == 50


def test_an_office_without_a_reviewer_is_told_what_to_do(app: Flask, offices: dict[str, int]) -> None:
    with app.app_context():
        reviewer = db.session.scalars(select(User).where(User.username == "kinmen-reviewer")).one()
        reviewer.active = False
        db.session.commit()
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_result(app, pk, "kinmen-operator")
    with app.app_context():
        cases = _cases(pk)
        assert len(cases) == 25 and {c.assignee_id for c in cases} == {None}
        assert db.session.scalar(select(func.count(ReviewEvent.id))) == 25
    operator = app.test_client()
    AuthActions(operator).login("kinmen-operator")
    console = operator.get("/operator/draws/kinmen-114-annual/console?lang=zh").get_data(as_text=True)
    assert "本機關尚無審核人員：請管理者新增審核人員帳號並指派案件" in console
    console_en = operator.get("/operator/draws/kinmen-114-annual/console?lang=en").get_data(as_text=True)
    assert "This office has no reviewer yet: an admin must add reviewer accounts and assign the cases." in console_en
    admin = app.test_client()
    AuthActions(admin).login("kinmen-admin")
    mine = admin.get("/reviews/?scope=mine&lang=zh").get_data(as_text=True)
    assert "本機關尚無審核人員：請管理者新增審核人員帳號並指派案件" in mine
