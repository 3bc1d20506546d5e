"""A case walked from drawn to fined through the reviewer's pages shows in its timeline, in the log
(proved by `flask audit prove`, checked here with lottery.merkle) and in the annual report."""

import base64
import hashlib
import json

from flask import Flask
from sqlalchemy import text

from lottery.canonical import canonical_json
from lottery.checkpoint import open_checkpoint
from lottery.merkle import leaf_hash, verify_inclusion
from lottery.signing import parse_vkey
from service.extensions import db
from service.models import ReviewCase
from tests.builders import TO_FINED, AuthActions, reviewed_draw


def _walk_through_the_pages(app: Flask, case_id: int) -> None:
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")
    for state in TO_FINED:
        data = {"to_state": state, "note": f"{state}: 依規定辦理", "due_on": "2099-01-31"}
        if state == "fined":
            data.update(fine_amount="150000", fine_ground="false-declaration")
        response = client.post(f"/reviews/cases/{case_id}/steps", data=data)
        assert response.status_code == 303, state
        page = client.get(f"/reviews/cases/{case_id}").get_data(as_text=True)
        assert "flash-error" not in page, state


def test_a_case_walked_to_fined_shows_in_timeline_log_and_report(app: Flask, offices: dict[str, int]) -> None:
    case_id = reviewed_draw(app, offices)["review"][0]
    _walk_through_the_pages(app, case_id)
    with app.app_context():
        case_number = db.session.get(ReviewCase, case_id).case_number
    client = app.test_client()
    AuthActions(client).login("kinmen-reviewer")

    # the timeline
    page = client.get(f"/reviews/cases/{case_id}").get_data(as_text=True)
    for label in ("querying data", "under review", "discrepancy found", "statement invited", "referred", "fined"):
        assert label in page
    assert "NT$150,000" in page and "Act Art. 12 para. 3" in page
    assert page.count('class="timeline-item') == 2 + len(TO_FINED)

    # the log, proved
    runner = app.test_cli_runner()
    with app.app_context():
        result = runner.invoke(args=["audit", "prove", case_number, "--json"])
    assert result.exit_code == 0, result.output
    proof = json.loads(result.output)
    vkey = parse_vkey(client.get("/keys/office.vkey").get_data(as_text=True).strip())
    checkpoint = open_checkpoint(proof["checkpoint"], [vkey])
    assert proof["checkpoint"] == client.get("/log/checkpoint").get_data(as_text=True)
    records = proof["records"]
    assert [r["record"]["to_state"] for r in records] == ["drawn", "drawn", *TO_FINED]
    assert records[-1]["record"]["fine"] == {"amount": 150000, "ground": "false-declaration"}
    for item in records:
        record = item["record"]
        assert len(record["salt"]) == 64 and record["salt"] == item["salt"]
        assert hashlib.sha256(canonical_json(record)).hexdigest() == item["record_digest"]
        entry = json.loads(item["entry"])
        assert entry == {
            "type": "review.recorded",
            "time": record["time"],
            "draw_id": "kinmen-114-annual",
            "record_digest": item["record_digest"],
        }
        assert canonical_json(entry).decode() == item["entry"]
        path = [base64.b64decode(node) for node in item["path"]]
        verify_inclusion(item["index"], checkpoint.size, leaf_hash(item["entry"].encode()), path, checkpoint.root)
        public = client.get(f"/log/entries?start={item['index']}&end={item['index'] + 1}").get_json()
        assert public[0]["entry"] == item["entry"]

    # the human-readable form says the same and shows each salt
    with app.app_context():
        text = runner.invoke(args=["audit", "prove", str(case_id)]).output
    assert proof["checkpoint"].strip() in text
    assert all(item["salt"] in text and item["record_digest"] in text for item in records)
    assert "✗" not in text

    # the report
    report = client.get("/reviews/reports/114").get_data(as_text=True)
    assert "150,000" in report and "fined" in report
    stats = client.get("/api/v1/stats/114").get_json()
    assert stats["outcomes"]["fined"] == 1 and stats["referrals"] == 1
    assert stats["fines"] == {"count": 1, "total": 150000}


def test_prove_refuses_an_unknown_case_and_flags_a_rewritten_record(app: Flask, offices: dict[str, int]) -> None:
    case_id = reviewed_draw(app, offices)["review"][0]
    runner = app.test_cli_runner()
    with app.app_context():
        assert runner.invoke(args=["audit", "prove", "114-9999"]).exit_code != 0
    with app.app_context():
        assert runner.invoke(args=["audit", "prove", str(case_id)]).exit_code == 0
    with app.app_context(), db.engine.begin() as connection:
        # Someone with the database password switches the trigger off and rewrites a note:
        if db.engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE review_event DISABLE TRIGGER review_event_append_only"))
        else:
            connection.execute(text("DROP TRIGGER review_event_no_update"))
        connection.execute(text(f"UPDATE review_event SET note = 'rewritten' WHERE case_id = {case_id}"))
        if db.engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE review_event ENABLE TRIGGER review_event_append_only"))
    with app.app_context():
        result = runner.invoke(args=["audit", "prove", str(case_id)])
    assert result.exit_code == 1
    assert "✗ DOES NOT MATCH" in result.output
