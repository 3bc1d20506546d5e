"""Building blocks for review tests: a completed draw, its cases opened and assigned — through real services."""

from datetime import date

from flask import Flask
from sqlalchemy import select

from service.config import settings_of
from service.extensions import db
from service.models import Draw, ReviewCase, User
from service.reviews import assign, open_cases_for_draw, transition
from tests.builders import make_user
from tests.service.lifecycle import prepare_draft, run_to_result

#: The fine the walked-through case ends with: an intentionally false declaration, Act Art. 12 para. 3.
FINE = (150_000, "false-declaration")
TO_FINED = ("querying", "under_review", "discrepancy", "statement_invited", "referred", "fined")


def user(username: str) -> User:
    """The user with this username (inside an app context)."""
    return db.session.scalars(select(User).where(User.username == username)).one()


def completed_draw(app: Flask, office_id: int, operator: str = "kinmen-operator") -> int:
    """Import the demo year, announce and complete its draw; returns the draw's primary key."""
    pk = prepare_draft(app, office_id, operator)
    run_to_result(app, pk, operator)
    return pk


def open_and_assign(
    app: Flask, draw_pk: int, admin: str = "kinmen-admin", reviewer: str = "kinmen-reviewer"
) -> dict[str, list[int]]:
    """Assign the draw's cases (opened when it completed) all to one reviewer; case ids by stage,
    in case-number order."""
    settings = settings_of(app)
    with app.app_context():
        draw = db.session.get(Draw, draw_pk)
        assert draw is not None
        assert open_cases_for_draw(db.session, settings, draw, user(admin)) == []  # opened on completion
        cases = list(
            db.session.scalars(select(ReviewCase).where(ReviewCase.draw_pk == draw_pk).order_by(ReviewCase.case_number))
        )
        to = user(reviewer)
        assign(db.session, settings, {case.id: to for case in cases if case.assignee_id != to.id}, user(admin))
        db.session.commit()
        return {stage: [case.id for case in cases if case.stage == stage] for stage in ("review", "comparison")}


def reviewed_draw(app: Flask, offices: dict[str, int]) -> dict[str, list[int]]:
    """A completed kinmen draw whose 25 cases are assigned to kinmen-reviewer (plus a second reviewer)."""
    pk = completed_draw(app, offices["kinmen"])
    with app.app_context():
        make_user(user("kinmen-reviewer").office, "kinmen-reviewer2", "reviewer")
        db.session.commit()
    return open_and_assign(app, pk)


def walk(app: Flask, case_id: int, states: tuple[str, ...], reviewer: str = "kinmen-reviewer") -> None:
    """Take the case through `states` (a fine where the state is `fined`)."""
    settings = settings_of(app)
    with app.app_context():
        for state in states:
            amount, ground = FINE if state == "fined" else (None, None)
            transition(
                db.session,
                settings,
                case_id,
                user(reviewer),
                state,
                note=f"step to {state}",
                due_on=None if state == "closed" else date(2099, 1, 31),
                fine_amount=amount,
                fine_ground=ground,
            )
        db.session.commit()


def case_state(app: Flask, case_id: int) -> str:
    """The case's current state."""
    with app.app_context():
        case = db.session.get(ReviewCase, case_id)
        assert case is not None
        return case.state
