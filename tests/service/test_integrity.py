"""An insider who drops the triggers and edits the database is caught by the self-check."""

import pytest
from flask import Flask
from sqlalchemy import text

from service.extensions import db
from service.integrity import self_check
from tests.builders import prepare_draft
from tests.service.test_draw_lifecycle import run_to_completion

TAMPERING = {
    "result": ("UPDATE draw SET result = replace(result, 'review', 'reviev')", "result is not the one logged"),
    "announcement": (
        "UPDATE draw SET announcement = replace(announcement, '\"year\"\\:114', '\"year\"\\:113')",
        "announcement is not the one logged",
    ),
    "population": (
        "UPDATE draw SET population_tsv = replace(population_tsv, 'non-regular', 'regular')",
        "population.tsv does not match",
    ),
    "log": ("UPDATE log_entry SET entry = replace(entry, 'draw.announced', 'draw.abandoned')", "was changed"),
    "checkpoint": ("DELETE FROM log_checkpoint WHERE size = (SELECT max(size) FROM log_checkpoint)", None),
    "signature": ("UPDATE draw SET result_sig = 'AAAA'", "result.json.sig does not verify"),
}


def _drop_triggers(app: Flask) -> None:
    from service.triggers import VERSIONS, drop_statements_for

    with db.engine.begin() as connection:
        for version in VERSIONS:
            for statement in drop_statements_for(connection.dialect.name, version):
                if statement.startswith("DROP TRIGGER"):
                    connection.execute(text(statement))


@pytest.mark.parametrize("what", sorted(TAMPERING))
def test_direct_edits_are_named_by_the_self_check_and_audit_verify(
    app: Flask, offices: dict[str, int], what: str
) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_completion(app, pk)
    statement, expected = TAMPERING[what]
    with app.app_context():
        assert self_check(db.session) == []
        db.session.rollback()  # release SQLite's write lock before editing behind the app's back
        _drop_triggers(app)
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                statement = statement.replace("replace(result,", "convert_to(replace(convert_from(result, 'UTF8'),")
                statement = statement.replace(
                    "replace(announcement,", "convert_to(replace(convert_from(announcement, 'UTF8'),"
                )
                statement = statement.replace(
                    "replace(population_tsv,", "convert_to(replace(convert_from(population_tsv, 'UTF8'),"
                )
                if "convert_to(" in statement:
                    statement = statement.rstrip(")") + "), 'UTF8')"
            connection.execute(text(statement))
        problems = self_check(db.session)
    if expected is None:  # a removed checkpoint is a gap, not a lie: history still verifies
        return
    assert any(expected in problem for problem in problems), problems
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert expected in result.output


def test_an_edited_review_record_is_named(app: Flask, offices: dict[str, int]) -> None:
    from tests.builders import reviewed_draw

    reviewed_draw(app, offices)
    with app.app_context():
        assert self_check(db.session) == []
        db.session.rollback()
        _drop_triggers(app)
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE review_event SET note = 'nothing to see here' WHERE sequence = 1"))
        problems = self_check(db.session)
    assert any("no longer hashes to its logged digest" in problem for problem in problems), problems
