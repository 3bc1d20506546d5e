"""Witnesses sign for themselves (issue 12, item 5): names matched to witness accounts as people type
them, fixed at the announcement; a witness confirms a completed draw from their own sign-in, which
logs `draw.witness_confirmed`; nobody — operator or admin — can confirm for them."""

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from service.accounts import create_user
from service.config import settings_of
from service.draw_lifecycle import DrawLifecycleError, announce
from service.extensions import db
from service.models import Draw, DrawWitness, DrawWitnessConfirmation, LogEntry, Office, User
from service.witnesses import WitnessError, confirm, confirmations, match_witnesses
from tests.builders import ANNOUNCED, PASSWORD, AuthActions, add_witnesses, prepare_draft
from tests.public_site.world import COMPLETED, complete_draw

BASE = f"/witness/draws/{COMPLETED}"


def _user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def _witness(office: Office, username: str, display_name: str) -> User:
    return create_user(
        db.session, office=office, username=username, display_name=display_name, password=PASSWORD, role="witness"
    )


# --- names matched as people type them ---------------------------------------------------------


def test_each_line_is_matched_to_one_witness_account(app: Flask, offices: dict[str, int]) -> None:
    with app.app_context():
        office = db.session.get(Office, offices["penghu"])
        assert office is not None
        wang = _witness(office, "wang-dm", "王大明")
        li = _witness(office, "li-dt", "李 大同")
        _witness(office, "chen-out", "陳美惠").active = False
        other = db.session.get(Office, offices["kinmen"])
        assert other is not None
        _witness(other, "kinmen-hsu", "許文雅")
        db.session.flush()
        lines = ["澎湖縣政府主計處 王大明", "監察員　李大同", "ＷＡＮＧ－ＤＭ"]  # ideographic space; full-width
        matched = match_witnesses(db.session, office.id, lines[:2])
        assert [(line, user.id) for line, user in matched] == [(lines[0], wang.id), (lines[1], li.id)]
        with pytest.raises(WitnessError, match="name the same person"):
            match_witnesses(db.session, office.id, [lines[0], lines[2]])  # the same person twice
        for line in ("人事室 陳美惠", "主計室 許文雅", "Mallory"):  # inactive, another office's, nobody
            with pytest.raises(WitnessError, match=f"“{line}” matches no witness account"):
                match_witnesses(db.session, office.id, [line])
        _witness(office, "wang2", "大明")
        db.session.flush()
        with pytest.raises(WitnessError, match="“澎湖縣政府主計處 王大明” matches more than one"):
            match_witnesses(db.session, office.id, ["澎湖縣政府主計處 王大明"])
        # A line that is exactly one person's name is that person, even if it contains another's.
        assert match_witnesses(db.session, office.id, ["王大明"])[0][1].id == wang.id
        # Operators, reviewers and admins are never witnesses, whatever their names.
        db.session.scalars(select(User).where(User.username == "penghu-operator")).one().display_name = "林志明"
        with pytest.raises(WitnessError, match="matches no witness account"):
            match_witnesses(db.session, office.id, ["政風處 林志明"])


def test_a_line_may_name_only_the_person_of_an_account_with_its_organisation(
    app: Flask, offices: dict[str, int]
) -> None:
    """Issue 13: the account says "澎湖縣政府主計處 王大明", the operator writes "王大明"."""
    with app.app_context():
        office = db.session.get(Office, offices["penghu"])
        assert office is not None
        wang = _witness(office, "wang-dm", "澎湖縣政府主計處 王大明")
        li = _witness(office, "li-dt", "澎湖縣政府人事處　李大同")  # ideographic space
        db.session.flush()
        for line, user in (
            ("王大明", wang),
            ("王 大明", wang),
            ("主計處 王大明", wang),
            ("主計處王大明", wang),
            ("澎湖縣政府主計處　王大明", wang),
            ("李大同", li),
            ("人事處 李大同", li),
        ):
            assert match_witnesses(db.session, office.id, [line])[0][1].id == user.id, line
        for line in ("大明", "王大", "主計處", "財政處 王大明", "王大明先生"):  # a part, another tail, more after
            with pytest.raises(WitnessError, match="matches no witness account"):
                match_witnesses(db.session, office.id, [line])
        _witness(office, "wang-hr", "澎湖縣政府人事處 王大明")
        db.session.flush()
        with pytest.raises(WitnessError, match="“王大明” matches more than one"):
            match_witnesses(db.session, office.id, ["王大明"])
        assert match_witnesses(db.session, office.id, ["人事處 王大明"])[0][1].username == "wang-hr"


def test_saving_a_draft_refuses_a_line_naming_nobody(
    app: Flask, offices: dict[str, int], client: FlaskClient, auth: AuthActions
) -> None:
    from tests.service.test_draw_setup import _form, _with_year

    _with_year(client, auth)
    answer = client.post("/operator/draws/new", data=_form(witnesses="監察員 李大同\n主計室 趙小明"))
    assert answer.status_code == 400
    assert "The witness “主計室 趙小明” matches no witness account" in answer.get_data(as_text=True)
    zh = client.post("/operator/draws/new?lang=zh", data=_form(witnesses="主計室 趙小明")).get_data(as_text=True)
    assert "見證人「主計室 趙小明」" in zh
    client.set_cookie("lang", "en")
    with app.app_context():
        assert db.session.query(Draw).count() == 0
    assert client.post("/operator/draws/new", data=_form(witnesses="監察員　李大同\n主計室王小華")).status_code == 303


def test_the_announcement_fixes_who_is_which_witness(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    settings = settings_of(app)
    with app.app_context():
        office = db.session.get(Office, offices["kinmen"])
        assert office is not None
        # Between saving and announcing a second 李大同 appears: the announcement refuses, naming the line.
        extra = _witness(office, "another-li", "李大同")
        db.session.commit()
        with pytest.raises(DrawLifecycleError, match="“監察員 李大同” matches more than one"):
            announce(db.session, settings, pk, _user("kinmen-operator"), now=ANNOUNCED)
        db.session.rollback()
        extra = db.session.get(User, extra.id)
        assert extra is not None
        extra.active = False
        db.session.commit()
        announce(db.session, settings, pk, _user("kinmen-operator"), now=ANNOUNCED)
        db.session.commit()
        rows = db.session.scalars(select(DrawWitness).where(DrawWitness.draw_pk == pk).order_by(DrawWitness.position))
        assert [(r.name, r.user.username) for r in rows] == [
            ("監察員 李大同", "kinmen-witness1"),
            ("主計室 王小華", "kinmen-witness2"),
            ("人事室 陳美惠", "kinmen-witness3"),
        ]
        # The mapping is append-only: neither changed nor removed, by any code or person.
        for statement in (
            "UPDATE draw_witness SET user_id = (SELECT id FROM user_account WHERE username = 'kinmen-operator')",
            "DELETE FROM draw_witness",
        ):
            with pytest.raises(DBAPIError, match="fixed at its announcement"):
                db.session.execute(text(statement))
            db.session.rollback()


# --- confirming from one's own sign-in ------------------------------------------------------------


def test_a_witness_confirms_from_their_own_sign_in(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    pk = complete_draw(app, offices["kinmen"], reveal=False)
    with app.app_context():
        size = db.session.query(LogEntry).count()
    auth = AuthActions(client)
    auth.login("kinmen-witness2")  # password and second factor, like operators
    home = client.get("/witness/")
    assert home.status_code == 200
    assert COMPLETED in home.get_data(as_text=True) and "主計室 王小華" in home.get_data(as_text=True)
    page = client.get(f"{BASE}?lang=zh").get_data(as_text=True)
    assert "我確認這個結果" in page and f"/draws/{COMPLETED}/verify" in page  # zh-TW first; the verify link
    client.set_cookie("lang", "en")
    with app.app_context():
        seed = db.session.get(Draw, pk).seed  # type: ignore[union-attr]
    assert seed in page
    answer = client.post(BASE)
    assert answer.status_code == 303
    with app.app_context():
        entries = db.session.scalars(select(LogEntry).where(LogEntry.index >= size).order_by(LogEntry.index)).all()
        assert len(entries) == 1
        event = json.loads(entries[0].entry)
        assert set(event) == {"type", "time", "draw_id", "witness"}
        assert event["type"] == "draw.witness_confirmed" and event["draw_id"] == COMPLETED
        assert event["witness"] == "主計室 王小華"  # the name as announced
        row = db.session.scalars(select(DrawWitnessConfirmation)).one()
        assert (row.witness, row.log_index, row.user_id) == (
            "主計室 王小華",
            entries[0].index,
            _user("kinmen-witness2").id,
        )
        assert event["time"] == row.confirmed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "You confirmed this result" in client.get(BASE).get_data(as_text=True)
    # Once only: a second press records nothing more.
    again = client.post(BASE, follow_redirects=True)
    assert "already confirmed" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(LogEntry).count() == size + 1
    # The public pages read the confirmations from the table.
    client.post("/logout")
    live = json.loads(client.get(f"/draws/{COMPLETED}/live.json").data)
    assert live["confirmations"] == [{"name": "主計室 王小華", "at": event["time"], "log_index": row.log_index}]
    public = client.get(f"/draws/{COMPLETED}").get_data(as_text=True)
    assert '主計室 王小華 <span class="ok-mark">✓' in public
    assert "監察員 李大同 <span" not in public


def test_confirmations_are_append_only(app: Flask, offices: dict[str, int]) -> None:
    pk = complete_draw(app, offices["kinmen"], reveal=True)  # witness 1 confirms
    with app.app_context():
        assert [c.name for c in confirmations(db.session, db.session.get(Draw, pk))] == ["監察員 李大同"]  # type: ignore[arg-type]
        for statement in (
            "UPDATE draw_witness_confirmation SET witness = '主計室 王小華'",
            "DELETE FROM draw_witness_confirmation",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()


def test_a_witness_cannot_confirm_before_the_result(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator", COMPLETED)
    settings = settings_of(app)
    with app.app_context():
        announce(db.session, settings, pk, _user("kinmen-operator"), now=ANNOUNCED)
        db.session.commit()
        with pytest.raises(WitnessError, match="not published yet"):
            confirm(db.session, settings, pk, _user("kinmen-witness1"))
        db.session.rollback()
    AuthActions(client).login("kinmen-witness1")
    assert "not published yet" in client.get(BASE).get_data(as_text=True)
    assert "not published yet" in client.post(BASE, follow_redirects=True).get_data(as_text=True)
    with app.app_context():
        assert db.session.query(DrawWitnessConfirmation).count() == 0


def test_only_the_named_witness_reaches_the_page(app: Flask, offices: dict[str, int], client: FlaskClient) -> None:
    pk = complete_draw(app, offices["kinmen"], reveal=False)
    with app.app_context():
        kinmen = db.session.get(Office, offices["kinmen"])
        penghu = db.session.get(Office, offices["penghu"])
        assert kinmen is not None and penghu is not None
        _witness(kinmen, "kinmen-stranger", "路人甲")  # a witness of this office, not named on this draw
        add_witnesses(penghu)  # 李大同 of another office: the same name, another person
        db.session.commit()
    for username in ("kinmen-stranger", "penghu-witness1"):
        client = app.test_client()
        AuthActions(client).login(username)
        assert client.get(BASE).status_code == 404
        assert client.post(BASE).status_code == 404
        assert COMPLETED not in client.get("/witness/").get_data(as_text=True)
    # The service refuses too, whatever calls it.
    with app.app_context():
        with pytest.raises(WitnessError, match="Only a witness named on this draw"):
            confirm(db.session, settings_of(app), pk, _user("kinmen-stranger"))
        db.session.rollback()
        with pytest.raises(WitnessError, match="Only a witness named on this draw"):
            confirm(db.session, settings_of(app), pk, _user("kinmen-operator"))
        db.session.rollback()
        assert db.session.query(DrawWitnessConfirmation).count() == 0


@pytest.mark.parametrize("username", ["kinmen-operator", "kinmen-admin"])
def test_the_operator_and_the_admin_cannot_confirm_for_anyone(
    app: Flask, offices: dict[str, int], client: FlaskClient, username: str
) -> None:
    complete_draw(app, offices["kinmen"], reveal=False)
    AuthActions(client).login(username)
    # The old console route is gone; the witness page is not theirs.
    old = client.post(f"/operator/draws/{COMPLETED}/live/witness", data={"name": "監察員 李大同"})
    assert old.status_code == 404
    assert client.get(BASE).status_code == 403
    assert client.post(BASE).status_code == 403
    assert client.get("/witness/").status_code == 403
    console = client.get(f"/operator/draws/{COMPLETED}/console").get_data(as_text=True)
    assert "/live/witness" not in console and 'name="name"' not in console
    assert f"/witness/draws/{COMPLETED}" in console and "<svg" in console  # the QR code of the page
    with app.app_context():
        assert db.session.query(DrawWitnessConfirmation).count() == 0
        entries = [json.loads(e.entry)["type"] for e in db.session.scalars(select(LogEntry))]
        assert "draw.witness_confirmed" not in entries


def test_confirmations_typed_before_v2_are_shown_as_the_operators(app: Flask) -> None:
    """The migration leaves `draw.witness_confirmations` as it was: shown, and said to be the operator's."""
    with app.app_context():
        draw = Draw(witness_confirmations=[{"name": "監察員 李大同", "at": "2025-01-15T02:10:00Z"}])
        [old] = confirmations(db.session, draw)
        assert old.by_operator and old.log_index is None
        assert old.to_json() == {"name": "監察員 李大同", "at": "2025-01-15T02:10:00Z", "recorded_by": "operator"}


def test_the_demo_witness_confirmed_the_demo_draw(app: Flask) -> None:
    from service.demo import DEMO_WITNESS_USERS, load_demo

    with app.app_context():
        app.config["SUNSHINE_INLINE_JOBS"] = True
        load_demo(db.session, settings_of(app))
        db.session.commit()
        witness = _user(DEMO_WITNESS_USERS[0][0])
        assert witness.role == "witness"
        row = db.session.scalars(select(DrawWitnessConfirmation)).one()
        assert row.user_id == witness.id and row.witness == "監察員 李大同"
        entry = json.loads(db.session.get(LogEntry, row.log_index).entry)  # type: ignore[union-attr]
        assert entry["type"] == "draw.witness_confirmed" and entry["witness"] == "監察員 李大同"


def test_the_migration_admits_the_witness_role(app: Flask) -> None:
    """c2d3e4f5a6b7 widens the role check in place (SQLite: in the stored schema) and back."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy.exc import IntegrityError

    from tests.service.test_migrations import _reset

    insert = text(
        "INSERT INTO user_account (id, office_id, username, display_name, password_hash, role, active, created_at, "
        "totp_last_step, failed_logins) VALUES (:id, 1, :name, '王大明', 'x', 'witness', :yes, :when, 0, 0)"
    )
    when = "2026-11-30 12:00:00+00:00"
    with app.app_context():
        _reset(app)
        upgrade(revision="4b7e2a91c0d3")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO office (id, slug, name, name_en, strata_map, name_disclosure, created_at) "
                    "VALUES (1, 'penghu', '澎湖', 'Penghu', '{}', 'none', :when)"
                ),
                {"when": when},
            )
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(insert, {"id": 1, "name": "early", "yes": True, "when": when})
        upgrade()
        with db.engine.begin() as connection:
            connection.execute(insert, {"id": 2, "name": "wang", "yes": True, "when": when})
        downgrade(revision="4b7e2a91c0d3")
        with db.engine.connect() as connection:
            role, active = connection.execute(text("SELECT role, active FROM user_account WHERE id = 2")).one()
        assert role == "reviewer" and not active  # kept (its history refers to it), disabled
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.execute(insert, {"id": 3, "name": "late", "yes": True, "when": when})
        _reset(app)
        upgrade()
