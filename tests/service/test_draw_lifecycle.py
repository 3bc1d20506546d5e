"""Announce → dice → secret → drand → result: protocol-exact documents, refusals, exactly once."""

import json
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from lottery.bundle import read_bundle, verify_bundle
from lottery.checkpoint import open_checkpoint
from lottery.merkle import leaf_hash, verify_consistency, verify_inclusion
from lottery.signing import parse_vkey
from service.config import settings_of
from service.draw_lifecycle import (
    AlreadyDone,
    DrawLifecycleError,
    abandon,
    announce,
    complete,
    enter_dice,
    record_beacon,
    reveal_secret,
)
from service.extensions import db
from service.models import Declarant, Draw, LogEntry, User
from service.transparency import verify_log
from service.witnesses import AlreadyConfirmed, confirm
from tests.builders import (
    ANNOUNCED,
    BEACON,
    BEACON_AT,
    DICE,
    DICE_AT,
    SCHEDULED,
    SECRET_AT,
    AuthActions,
    get_draw,
    prepare_draft,
    run_to_result,
)


def _operator(app: Flask) -> User:
    return db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()


def run_to_completion(app: Flask, draw_pk: int) -> None:
    run_to_result(app, draw_pk, "kinmen-operator")


def test_a_draw_from_import_to_a_verified_bundle(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_completion(app, pk)
    client = app.test_client()
    vkey = client.get("/keys/office.vkey").get_data(as_text=True)
    bundle = client.get("/draws/kinmen-114-annual/bundle.zip")
    assert bundle.status_code == 200 and bundle.mimetype == "application/zip"
    path = app.instance_path + "/bundle.zip"
    with open(path, "wb") as handle:
        handle.write(bundle.data)
    report = verify_bundle(read_bundle(path), key=vkey.strip())
    assert report.ok, [c.line() for c in report.checks]
    # Without --witness the witness lines are skipped (docs/witness.md); nothing else may be.
    skipped = [c.key for c in report.checks if c.outcome == "skip"]
    assert skipped == ["witnessed", "witness-quorum", "witness-before-beacon"]
    announcement = json.loads(client.get("/draws/kinmen-114-annual/announcement.json").data)
    assert announcement["stages"] == [
        {"from": "population", "name": "review", "quota": {"*": 25}},
        {"from": "review", "name": "comparison", "quota": {"*": 1}},
    ]
    assert announcement["entropy"]["drand"]["round"] == 657413
    result = json.loads(client.get("/draws/kinmen-114-annual/result.json").data)
    assert [len(s["selected"]) for s in result["stages"]] == [25, 1]
    with app.app_context():
        assert verify_log(db.session) == []


def test_published_paths_cache_and_answer_304(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_completion(app, pk)
    client = app.test_client()
    first = client.get("/draws/kinmen-114-annual/result.json")
    assert "immutable" in first.headers["Cache-Control"] and first.headers["ETag"]
    again = client.get("/draws/kinmen-114-annual/result.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/draws/kinmen-114-annual/population.tsv").mimetype == "text/tab-separated-values"
    assert "max-age=5" in client.get("/log/checkpoint").headers["Cache-Control"]
    listing = client.get("/api/v1/draws").get_json()
    assert listing["draws"][0]["status"] == "completed" and "bundle" in listing["draws"][0]["links"]


def test_checkpoint_and_proofs_from_the_public_paths_verify(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    client = app.test_client()
    vkey = parse_vkey(client.get("/keys/office.vkey").get_data(as_text=True))
    first = open_checkpoint(client.get("/log/checkpoint").get_data(as_text=True), [vkey])
    run_to_completion(app, pk)
    second = open_checkpoint(client.get("/log/checkpoint").get_data(as_text=True), [vkey])
    # the draw's 5 entries, then its 25 cases opened and assigned (one `review.recorded` each)
    assert second.size == first.size + 5 + 2 * 25
    proof = client.get(f"/log/proof/consistency?first={first.size}&second={second.size}").get_json()
    import base64

    verify_consistency(first.size, second.size, [base64.b64decode(p) for p in proof["path"]], first.root, second.root)
    entries = client.get(f"/log/entries?start=0&end={second.size}").get_json()
    assert [json.loads(e["entry"])["type"] for e in entries] == [
        "key.added",
        "draw.announced",
        "draw.input",
        "draw.input",
        "draw.input",
        "draw.completed",
    ] + ["review.recorded"] * 50
    for item in entries:
        inclusion = client.get(f"/log/proof/inclusion?index={item['index']}&size={second.size}").get_json()
        path = [base64.b64decode(p) for p in inclusion["path"]]
        verify_inclusion(item["index"], second.size, leaf_hash(item["entry"].encode()), path, second.root)
    assert client.get("/log/proof/inclusion?index=9&size=3").status_code == 400
    assert client.get("/log/proof/inclusion?index=x&size=3").get_json()["error"]["code"] == "bad_request"


def test_refusals_name_the_problem(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    settings = settings_of(app)
    with app.app_context():
        with pytest.raises(DrawLifecycleError, match="24 hours"):
            announce(db.session, settings, pk, _operator(app), now=SCHEDULED - timedelta(hours=2))
        db.session.rollback()
        announce(db.session, settings, pk, _operator(app), now=ANNOUNCED)
        db.session.commit()
        with pytest.raises(AlreadyDone):
            announce(db.session, settings, pk, _operator(app), now=ANNOUNCED)
        db.session.rollback()
        with pytest.raises(DrawLifecycleError, match="dice first"):
            reveal_secret(db.session, settings, pk, now=SECRET_AT)
        for bad in (
            "1234",
            "５０１０４６４６８６５４７７５０７０１６",
            "5010 4646 8654 7750 7016",
            "5010464686547750701x",
        ):
            with pytest.raises(DrawLifecycleError, match="exactly 20 digits"):
                enter_dice(db.session, settings, pk, bad, now=DICE_AT)
        db.session.rollback()
        enter_dice(db.session, settings, pk, DICE, now=DICE_AT)
        db.session.commit()
        with pytest.raises(AlreadyDone):
            enter_dice(db.session, settings, pk, DICE, now=DICE_AT)
        db.session.rollback()
        with pytest.raises(DrawLifecycleError, match="reveal the secret"):
            record_beacon(db.session, settings, pk, BEACON, now=BEACON_AT)
        reveal_secret(db.session, settings, pk, now=SECRET_AT)
        db.session.commit()
        from lottery.drand import Beacon

        with pytest.raises(DrawLifecycleError, match="round 5"):
            record_beacon(db.session, settings, pk, Beacon(5, BEACON.randomness, BEACON.signature), now=BEACON_AT)
        db.session.rollback()
        with pytest.raises(DrawLifecycleError, match="not out yet"):
            record_beacon(db.session, settings, pk, BEACON, now=BEACON_AT - timedelta(seconds=5))
        db.session.rollback()
        record_beacon(db.session, settings, pk, BEACON, now=BEACON_AT)
        db.session.commit()
        complete(db.session, settings, pk, now=BEACON_AT)
        db.session.commit()
        with pytest.raises(AlreadyDone):
            complete(db.session, settings, pk, now=BEACON_AT)
        db.session.rollback()
        # Witnesses confirm from their own accounts (tests/service/test_witnesses.py has the rest).
        witness = db.session.scalars(select(User).where(User.username == "kinmen-witness1")).one()
        confirm(db.session, settings, pk, witness)
        db.session.commit()
        with pytest.raises(AlreadyConfirmed):
            confirm(db.session, settings, pk, witness)


def test_completing_again_after_a_crash_gives_identical_bytes(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    settings = settings_of(app)
    with app.app_context():
        announce(db.session, settings, pk, _operator(app), now=ANNOUNCED)
        enter_dice(db.session, settings, pk, DICE, now=DICE_AT)
        reveal_secret(db.session, settings, pk, now=SECRET_AT)
        record_beacon(db.session, settings, pk, BEACON, now=BEACON_AT)
        db.session.commit()
        complete(db.session, settings, pk, now=BEACON_AT)
        first = db.session.get(Draw, pk).result  # type: ignore[union-attr]
        db.session.rollback()  # the process "dies" before the commit
        assert db.session.get(Draw, pk).result is None  # type: ignore[union-attr]
        complete(db.session, settings, pk, now=BEACON_AT + timedelta(minutes=5))
        db.session.commit()
        assert db.session.get(Draw, pk).result == first  # type: ignore[union-attr]


def test_abandon_is_logged_and_final(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    settings = settings_of(app)
    with app.app_context():
        announce(db.session, settings, pk, _operator(app), now=ANNOUNCED)
        with pytest.raises(DrawLifecycleError, match="reason"):
            abandon(db.session, settings, pk, " ")
        abandon(db.session, settings, pk, "颱風停班，改期重新公告")
        db.session.commit()
        last = db.session.scalars(select(LogEntry).order_by(LogEntry.index.desc())).first()
        assert last is not None and json.loads(last.entry)["type"] == "draw.abandoned"
        assert json.loads(last.entry)["reason"] == "颱風停班，改期重新公告"
        with pytest.raises(AlreadyDone):
            enter_dice(db.session, settings, pk, DICE, now=DICE_AT)


def test_the_database_refuses_tampering(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_completion(app, pk)
    attacks = [
        "UPDATE log_entry SET entry = '{}' WHERE \"index\" = 0",
        "DELETE FROM log_entry",
        "UPDATE log_checkpoint SET note = 'x'",
        "DELETE FROM log_checkpoint",
        f"UPDATE draw SET population_tsv = population_tsv WHERE id = {pk} AND 1 = 0",  # harmless control
        f"UPDATE draw SET result = NULL WHERE id = {pk}",
        f"UPDATE draw SET dice = '00000000000000000000' WHERE id = {pk}",
        f"UPDATE draw SET status = 'draft' WHERE id = {pk}",
        f"DELETE FROM draw WHERE id = {pk}",
        "UPDATE declarant SET stratum = 'regular'",
        "DELETE FROM declarant",
        "DELETE FROM signing_key",
    ]
    refused = 0
    with app.app_context():
        for statement in attacks:
            try:
                with db.engine.begin() as connection:
                    changed = connection.execute(text(statement)).rowcount
            except DBAPIError:
                refused += 1
            else:
                assert changed == 0, statement
        assert refused == len(attacks) - 1
        assert db.session.scalar(select(Declarant).limit(1)) is not None
        assert verify_log(db.session) == []


def test_another_office_cannot_drive_the_console(app: Flask, offices: dict[str, int]) -> None:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    client = app.test_client()
    AuthActions(client).login("penghu-operator")
    for path in ("announce", "console", "live/dice", "live/secret", "abandon"):
        method = client.get if path == "console" else client.post
        assert method(f"/operator/draws/kinmen-114-annual/{path}").status_code == 404
    assert get_draw(app, pk).status == "draft"
