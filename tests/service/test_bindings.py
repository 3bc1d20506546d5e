"""Bindings (protocol §2a): which case number is whose is committed at the announcement, the salts are
sealed, each declarant can be given theirs, and swapping two declarants' case numbers is caught."""

import hashlib
import json
import re

import pytest
from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from lottery.bindings import binding, bindings_file, parse_bindings
from lottery.population import parse_population
from service.bindings import salt_rows
from service.config import settings_of
from service.extensions import db
from service.integrity import self_check
from service.models import AuthEvent, Declarant, DeclarationUpload, Draw
from service.sealing import national_id_of
from tests.builders import AuthActions, get_draw, prepare_draft
from tests.service.test_draw_lifecycle import run_to_completion
from tests.service.test_integrity import _drop_triggers

DRAW_ID = "kinmen-114-annual"


def _completed(app: Flask, offices: dict[str, int]) -> int:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_completion(app, pk)
    return pk


def _bindings_tsv(app: Flask, pk: int) -> bytes:
    with app.app_context():
        return bytes(db.session.scalar(select(Draw.bindings_tsv).where(Draw.id == pk)) or b"")


def _salts(app: Flask, pk: int) -> dict[str, str]:
    with app.app_context():
        draw = db.session.get(Draw, pk)
        assert draw is not None
        return {row.case_number: row.salt for row in salt_rows(db.session, settings_of(app), draw)}


def test_bindings_tsv_is_the_recomputation_and_the_announcement_carries_its_digest(
    app: Flask, offices: dict[str, int]
) -> None:
    pk = _completed(app, offices)
    draw = get_draw(app, pk)
    salts = _salts(app, pk)
    with app.app_context():
        ids = {d.case_number: national_id_of(d) for d in db.session.scalars(select(Declarant))}
    population = parse_population(draw.population_tsv or b"")
    cases = [i.decode() for i in population.ids]
    assert list(salts) == cases  # population order
    assert all(re.fullmatch("[0-9a-f]{32}", salt) for salt in salts.values())
    assert len(set(salts.values())) == len(salts)  # never reused
    expected = bindings_file((case, binding(case, salts[case], ids[case])) for case in cases)
    assert _bindings_tsv(app, pk) == expected
    digest = hashlib.sha256(expected).hexdigest()
    assert draw.bindings_digest == digest
    announcement = json.loads(draw.announcement or b"")
    assert announcement["population"]["bindings_digest"] == digest
    assert len(parse_bindings(expected, population)) == population.size
    client = app.test_client()
    published = json.loads(client.get(f"/draws/{DRAW_ID}/announcement.json").data)
    assert published["population"]["bindings_digest"] == digest
    with app.app_context():
        assert self_check(db.session) == []


def test_the_salts_are_stored_only_sealed(app: Flask, offices: dict[str, int]) -> None:
    pk = _completed(app, offices)
    salts = _salts(app, pk)
    with app.app_context():
        row = db.session.execute(
            text("SELECT sealed_salts, bindings_tsv, announcement, population_tsv FROM draw WHERE id = :pk"), {"pk": pk}
        ).one()
    stored = b"".join(bytes(value) for value in row)
    assert len(row[0]) > 12
    for salt in salts.values():
        assert salt.encode() not in stored
        assert bytes.fromhex(salt) not in bytes(row[0])


def _drawn_and_undrawn(app: Flask, pk: int) -> tuple[str, str]:
    draw = get_draw(app, pk)
    result = json.loads(draw.result or b"")
    drawn = {entry["id"] for stage in result["stages"] for entry in stage["selected"]}
    population = [i.decode() for i in parse_population(draw.population_tsv or b"").ids]
    return sorted(drawn)[0], next(case for case in population if case not in drawn)


def _swap(connection: object, first: str, second: str) -> None:
    for old, new in ((first, "swap-tmp"), (second, first), ("swap-tmp", second)):
        connection.execute(  # type: ignore[attr-defined]
            text("UPDATE declarant SET case_number = :new WHERE case_number = :old"), {"new": new, "old": old}
        )


def test_swapped_case_numbers_are_named_by_audit_verify(app: Flask, offices: dict[str, int]) -> None:
    pk = _completed(app, offices)
    drawn, undrawn = _drawn_and_undrawn(app, pk)
    with app.app_context():
        db.session.rollback()
        _drop_triggers(app)
        with db.engine.begin() as connection:
            _swap(connection, drawn, undrawn)
        problems = self_check(db.session)
    swapped = [p for p in problems if "no longer belongs to the declarant it was bound to" in p]
    assert sorted(swapped) == sorted(
        [
            f"draw {DRAW_ID}: case {drawn} no longer belongs to the declarant it was bound to "
            f"(that declarant now has case {undrawn})",
            f"draw {DRAW_ID}: case {undrawn} no longer belongs to the declarant it was bound to "
            f"(that declarant now has case {drawn})",
        ]
    ), problems
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"case {drawn} " in result.output and f"case {undrawn} " in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, AttributeError | TypeError)


def test_with_the_triggers_in_place_the_swap_is_refused(app: Flask, offices: dict[str, int]) -> None:
    pk = _completed(app, offices)
    drawn, undrawn = _drawn_and_undrawn(app, pk)
    with app.app_context():
        db.session.rollback()
        with pytest.raises(DBAPIError, match="frozen"), db.engine.begin() as connection:
            _swap(connection, drawn, undrawn)
        assert self_check(db.session) == []


def _bytea(expression: str, dialect: str) -> str:
    """A text expression as the bytes column type of the dialect."""
    return f"convert_to({expression}, 'UTF8')" if dialect == "postgresql" else f"CAST({expression} AS BLOB)"


EDITS = {
    "national ID": (
        lambda d, case: (
            "UPDATE declarant SET national_id_sealed = (SELECT national_id_sealed FROM declarant AS other "
            f"WHERE other.case_number != '{case}' ORDER BY other.case_number LIMIT 1) WHERE case_number = '{case}'"
        ),
        "(its declarant or national ID was changed)",
    ),
    "deleted declarant": (
        # its review case (opened on completion) refers to the row: an insider deletes it first
        lambda d, case: (
            f"DELETE FROM review_event WHERE case_id IN (SELECT id FROM review_case WHERE case_number = '{case}');\n"
            f"DELETE FROM review_case WHERE case_number = '{case}';\n"
            f"DELETE FROM declarant WHERE case_number = '{case}'"
        ),
        "no longer has a declarant",
    ),
    "renumbered": (
        lambda d, case: f"UPDATE declarant SET case_number = '999-{case}' WHERE case_number = '{case}'",
        "no longer has a declarant",
    ),
    "bindings.tsv": (
        lambda d, case: f"UPDATE draw SET bindings_tsv = {_bytea(repr(case + chr(9) + '0' * 64 + chr(10)), d)}",
        "the stored bindings.tsv does not match the announced bindings digest",
    ),
    "bindings.tsv gone": (lambda d, case: "UPDATE draw SET bindings_tsv = NULL", "are missing"),
    "sealed salts": (
        lambda d, case: f"UPDATE draw SET sealed_salts = {_bytea(repr('x' * 40), d)}",
        "sealed salts cannot be opened",
    ),
    "sealed salts gone": (lambda d, case: "UPDATE draw SET sealed_salts = NULL", "are missing"),
    "bindings digest": (
        lambda d, case: f"UPDATE draw SET bindings_digest = '{'0' * 64}'",
        "the stored bindings digest is not the announced one",
    ),
}


@pytest.mark.parametrize("what", sorted(EDITS))
def test_hand_edits_are_named_never_crash(app: Flask, offices: dict[str, int], what: str) -> None:
    pk = _completed(app, offices)
    drawn, _ = _drawn_and_undrawn(app, pk)
    statement, expected = EDITS[what]
    with app.app_context():
        db.session.rollback()
        _drop_triggers(app)
        with db.engine.begin() as connection:
            for part in statement(connection.dialect.name, drawn).split(";\n"):
                connection.execute(text(part))
        problems = self_check(db.session)
    assert any(expected in problem for problem in problems), problems
    assert not any("could not be checked" in problem for problem in problems), problems
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and expected in result.output


def test_an_abandoned_draw_is_checked_until_its_year_is_imported_again(app: Flask, offices: dict[str, int]) -> None:
    from service.draw_lifecycle import abandon, announce
    from service.models import User
    from tests.builders import ANNOUNCED

    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    settings = settings_of(app)
    with app.app_context():
        # The year was imported before the announcement (this test runs within a second).
        db.session.execute(update(DeclarationUpload).values(uploaded_at=ANNOUNCED, updated_at=ANNOUNCED))
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        announce(db.session, settings, pk, operator, now=ANNOUNCED)
        abandon(db.session, settings, pk, "the venue lost power")
        db.session.commit()
        first, second = sorted(db.session.scalars(select(Declarant.case_number)).all())[:2]
        db.session.rollback()
        with db.engine.begin() as connection:  # an abandoned year is not frozen: no trigger to drop
            _swap(connection, first, second)
        problems = self_check(db.session)
    assert any(f"case {first} no longer belongs" in problem for problem in problems), problems
    assert any(f"case {second} no longer belongs" in problem for problem in problems), problems
    with app.app_context():  # the abandoned year may be imported again: new declarants, new numbers
        from service.declarations import import_upload, start_upload
        from service.demo import demo_csv
        from service.models import Office

        office = db.session.get(Office, offices["kinmen"])
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        upload = start_upload(db.session, office=office, user=operator, roc_year=114, filename="y.csv", data=demo_csv())
        import_upload(db.session, upload)
        db.session.commit()
        assert self_check(db.session) == []


# --- the page and the export ---------------------------------------------------------------------

PAGE = f"/reviews/draws/{DRAW_ID}/salts"
EXPORT = f"/reviews/draws/{DRAW_ID}/salts.csv"


def test_the_page_lists_case_numbers_masked_names_and_salts(app: Flask, offices: dict[str, int]) -> None:
    pk = _completed(app, offices)
    salts = _salts(app, pk)
    with app.app_context():
        person = db.session.scalars(select(Declarant).order_by(Declarant.case_number)).first()
        assert person is not None
        case, name, national_id = person.case_number, person.name, person.national_id
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    assert f'href="{PAGE}"'.encode() in client.get("/reviews/salts").data
    page = client.get(PAGE).get_data(as_text=True)
    assert case in page and salts[case] in page
    assert national_id not in page and national_id[:3] + "*****" + national_id[8:] in page
    assert name not in page and name[0] + "○" in page
    assert f"printf &#39;sunshine-draw/1 binding\\n%s\\n%s\\n%s\\n&#39; {case} {salts[case]}" in page
    assert "their own national ID" in page
    only = client.get(PAGE, query_string={"case": case}).get_data(as_text=True)
    assert only.count("sha256sum") == 2  # the general line and this entry's


def test_the_export_is_a_csv_for_the_notices_and_is_recorded(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    with app.app_context():  # a hostile cell, entered before the population is frozen
        person = db.session.scalars(select(Declarant).order_by(Declarant.case_number)).first()
        assert person is not None
        person.agency = '=HYPERLINK("http://example.invalid")'
        case = person.case_number
        db.session.commit()
    run_to_completion(app, pk)
    salts = _salts(app, pk)
    client = app.test_client()
    AuthActions(client).login("kinmen-operator")
    assert client.get(EXPORT).status_code == 405
    response = client.post(EXPORT)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "Case number,Name,Agency,Salt,Binding"
    assert len(lines) == 1 + len(salts)
    bound = dict(line.split("\t") for line in _bindings_tsv(app, pk).decode().splitlines())
    row = next(line for line in lines if line.startswith(case + ","))
    assert "'=HYPERLINK" in row and row.endswith(f",{salts[case]},{bound[case]}")
    with app.app_context():
        events = db.session.scalars(select(AuthEvent).where(AuthEvent.event == "salts.exported")).all()
        assert [e.username for e in events] == ["kinmen-operator"]


def test_the_export_needs_the_csrf_token(app: Flask, offices: dict[str, int]) -> None:
    _completed(app, offices)
    client = app.test_client()
    AuthActions(client).login("kinmen-admin")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(EXPORT)
        assert refused.status_code == 400
        page = client.get(PAGE).get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
            r'name="csrf_token" value="([^"]+)"', page
        )
        assert token is not None
        assert client.post(EXPORT, data={"csrf_token": token.group(1)}).status_code == 200
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        assert db.session.scalars(select(AuthEvent.username).where(AuthEvent.event == "salts.exported")).all() == [
            "kinmen-admin"
        ]


def test_a_draft_has_no_salts_page(app: Flask, offices: dict[str, int]) -> None:
    prepare_draft(app, offices["kinmen"], "kinmen-operator")
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    assert client.get(PAGE).status_code == 404
    assert client.post(EXPORT).status_code == 404
