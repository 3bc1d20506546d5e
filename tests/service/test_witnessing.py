"""Witnessing (issue 16): configuration, submission to a C2SP tlog-witness, the stored
cosignatures, and where they are served — against a loopback stub witness (`witness_stub`)."""

import base64
import io
import json
import socket
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from lottery.bundle import verify_bundle
from lottery.checkpoint import open_checkpoint
from lottery.cosignature import cosign, cosignatures, generate_witness, note_parts
from lottery.merkle import verify_consistency
from lottery.signing import parse_vkey
from service.config import ConfigError, Settings, WitnessEndpoint, load_settings, parse_witnesses, settings_of
from service.database import begin_mode
from service.extensions import db
from service.keystore import active_key, current_signer, forget_unlocked_keys, generate_key
from service.models import Draw, WitnessCosignature
from service.transparency import checkpoint_at, latest_checkpoint, record
from service.witnessing import (
    Answer,
    Outcome,
    Submitter,
    cosigned_size,
    submit,
    submitter_of,
    urllib_poster,
    wait_for_submissions,
    witnessed_note,
)
from tests.builders import get_draw, prepare_draft, run_to_result
from tests.service.witness_stub import TIMESTAMP, StubWitness, running

ENV = {"SUNSHINE_ENV": "test", "SECRET_KEY": "x" * 40}


@pytest.fixture
def witness() -> Iterator[StubWitness]:
    """A running stub witness."""
    with running(StubWitness()) as stub:
        yield stub


def endpoint(stub: StubWitness) -> WitnessEndpoint:
    """The stub as the office configures it."""
    return WitnessEndpoint(stub.url, stub.signer.verifier)


@pytest.fixture
def down() -> Iterator[WitnessEndpoint]:
    """A witness that is down: its loopback port is held bound without listening, so every
    connection is refused at once (and no other process can take the port meanwhile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        yield WitnessEndpoint(f"http://127.0.0.1:{port}", generate_witness("down.example/w").verifier)


def start_log(app: Flask, entries: int, *stubs: StubWitness) -> None:
    """An office key and `entries` log events, each with its own checkpoint; the stubs trust the key."""
    forget_unlocked_keys()
    with app.app_context():
        generate_key(db.session, settings_of(app))
        db.session.commit()
        key = active_key(db.session)
        assert key is not None
        for stub in stubs:
            stub.office = parse_vkey(key.vkey)
    add_entries(app, entries)


def add_entries(app: Flask, count: int) -> None:
    """Log `count` more events, one checkpoint each."""
    with app.app_context():
        signer = current_signer(db.session, settings_of(app))
        for number in range(count):
            record(db.session, [signer], [{"type": "test.event", "n": number}])
        db.session.commit()


def submit_now(app: Flask, target: WitnessEndpoint, submitter: Submitter | None = None) -> Outcome:
    """Submit the latest checkpoint to one witness, in the foreground."""
    with app.app_context():
        latest = latest_checkpoint(db.session)
        assert latest is not None
        outcome = submit(db.session, settings_of(app), target, latest, submitter or Submitter(sleep=_no_sleep))
        db.session.commit()
        return outcome


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"slept {seconds} s")


def configure(app: Flask, *targets: WitnessEndpoint) -> list[float]:
    """Configure the app's witnesses; returns the list its submitter's back-off sleeps go to."""
    settings: Settings = settings_of(app)
    app.extensions["sunshine_settings"] = settings.with_overrides(witnesses=targets, witness_timeout_seconds=5.0)
    slept: list[float] = []
    submitter_of(app).sleep = slept.append
    return slept


# --- configuration -----------------------------------------------------------------------------


def test_witnesses_are_url_and_vkey_pairs_by_line_or_semicolon() -> None:
    first, second = generate_witness("w1.example/w"), generate_witness("w2.example/w")
    text_value = (
        f"https://w1.example/ {first.verifier.vkey}\n# a comment\n\n;http://w2.example:8080/sub {second.verifier.vkey}"
    )
    parsed = parse_witnesses(text_value)
    assert [(w.url, w.name) for w in parsed] == [
        ("https://w1.example", "w1.example/w"),
        ("http://w2.example:8080/sub", "w2.example/w"),
    ]
    assert parsed[0].verifier.key_id == first.verifier.key_id
    semicolons = parse_witnesses(f"https://a.example {first.verifier.vkey}; https://b.example {second.verifier.vkey}")
    assert [w.url for w in semicolons] == ["https://a.example", "https://b.example"]
    assert load_settings(ENV).witnesses == ()
    assert load_settings({**ENV, "SUNSHINE_WITNESSES": text_value}).witnesses == parsed


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("https://w.example", "entry 1 must be `URL VKEY`"),
        ("ftp://w.example {vkey}", "is not an http(s) URL prefix"),
        ("https://w.example?x=1 {vkey}", "is not an http(s) URL prefix"),
        ("https://w.example w+00000000+AAAA", "entry 1: not a witness vkey"),
        ("https://w.example {office}", "entry 1: not a witness vkey"),
        ("https://w.example {vkey}\nhttps://v.example {vkey}", "entry 2: a second witness named"),
    ],
)
def test_a_bad_witness_entry_stops_the_start(value: str, message: str) -> None:
    vkey = generate_witness("w.example/w").verifier.vkey
    from lottery.signing import generate_signer, make_vkey

    office = generate_signer("office.example/log")
    office_vkey = make_vkey(office.name, office.private_key.public_key())
    with pytest.raises(ConfigError, match="SUNSHINE_WITNESSES") as caught:
        load_settings({**ENV, "SUNSHINE_WITNESSES": value.format(vkey=vkey, office=office_vkey)})
    assert message in str(caught.value)


# --- submission ----------------------------------------------------------------------------------


def test_first_submission_from_zero_then_with_a_consistency_proof(app: Flask, witness: StubWitness) -> None:
    start_log(app, 3, witness)
    target = endpoint(witness)
    assert submit_now(app, target).result == "cosigned"
    assert witness.requests[0].startswith("old 0\n\n")
    first = witness.size  # the key's own log event and the three events
    assert first == 4
    add_entries(app, 4)
    assert submit_now(app, target).result == "cosigned"
    header = witness.requests[1].split("\n\n", 1)[0].split("\n")
    assert header[0] == f"old {first}" and len(header) > 1  # a proof from 4 to 8, which the stub verified
    assert witness.size == first + 4
    assert submit_now(app, target).result == "already"
    assert len(witness.requests) == 2
    with app.app_context():
        assert cosigned_size(db.session, target) == first + 4
        rows = db.session.scalars(select(WitnessCosignature).order_by(WitnessCosignature.id)).all()
        assert [(r.checkpoint_size, r.witness_name, r.timestamp) for r in rows] == [
            (first, target.name, TIMESTAMP),
            (first + 4, target.name, TIMESTAMP),
        ]
        latest = latest_checkpoint(db.session)
        assert latest is not None
        assert cosignatures(witnessed_note(db.session, latest), [target.verifier]) == {target.name: TIMESTAMP}


def test_a_409_is_proved_again_from_the_size_the_witness_holds(app: Flask, witness: StubWitness) -> None:
    start_log(app, 5, witness)
    with app.app_context():
        held = checkpoint_at(db.session, 2)
        assert held is not None
        witness.size, witness.root = 2, bytes(held.root)  # cosigned once, but we never stored it
    assert submit_now(app, endpoint(witness)).result == "cosigned"
    assert [body.split("\n", 1)[0] for body in witness.requests] == ["old 0", "old 2"]
    assert witness.size == 6  # the key's own log event and five


def test_a_409_for_a_size_we_cannot_prove_from_is_reported(app: Flask, witness: StubWitness) -> None:
    start_log(app, 2, witness)
    witness.size = 99
    outcome = submit_now(app, endpoint(witness))
    assert (outcome.result, outcome.ok) == ("refused", False)
    assert "99" in outcome.detail and len(witness.requests) == 1
    with app.app_context():
        assert db.session.scalar(select(WitnessCosignature.id)) is None


def test_a_witness_past_this_checkpoint_is_not_asked_to_go_back(app: Flask, witness: StubWitness) -> None:
    start_log(app, 5, witness)
    with app.app_context():
        later, earlier = checkpoint_at(db.session, 6), checkpoint_at(db.session, 3)
        assert later is not None and earlier is not None
        witness.size, witness.root = 6, bytes(later.root)  # it cosigned 6, which we did not store
        outcome = submit(db.session, settings_of(app), endpoint(witness), earlier, Submitter(sleep=_no_sleep))
    assert (outcome.result, outcome.ok) == ("superseded", True)
    assert [body.split("\n", 1)[0] for body in witness.requests] == ["old 0"]
    assert submit_now(app, endpoint(witness)).result == "cosigned"  # 6 itself: 409, then from 6 to 6
    assert [body.split("\n", 1)[0] for body in witness.requests] == ["old 0", "old 0", "old 6"]


def test_a_witness_error_is_reported_and_not_retried(app: Flask, witness: StubWitness) -> None:
    start_log(app, 1, witness)
    witness.answer_status = 500
    outcome = submit_now(app, endpoint(witness))
    assert outcome.result == "refused" and outcome.detail.startswith("HTTP 500")
    assert len(witness.requests) == 1


def test_a_cosignature_by_another_key_or_forged_is_not_stored(app: Flask, witness: StubWitness) -> None:
    start_log(app, 2, witness)
    witness.sign_with = generate_witness(witness.signer.name)  # same name, another key
    outcome = submit_now(app, endpoint(witness))
    assert outcome.result == "invalid" and "no cosignature by this witness's key" in outcome.detail

    def forged(url: str, body: bytes, timeout: float) -> Answer:
        note = body.decode().split("\n\n", 1)[1]
        line = cosign(witness.signer, note_parts(note)[0], TIMESTAMP)
        blob = bytearray(base64.b64decode(line.split(" ")[2]))
        blob[-1] ^= 1
        return Answer(200, "text/plain", f"— {witness.signer.name} {base64.b64encode(bytes(blob)).decode()}\n".encode())

    outcome = submit_now(app, endpoint(witness), Submitter(post=forged, sleep=_no_sleep))
    assert outcome.result == "invalid" and "does not verify" in outcome.detail
    with app.app_context():
        assert db.session.scalar(select(WitnessCosignature.id)) is None


def test_network_errors_are_retried_with_exponential_back_off(
    app: Flask, witness: StubWitness, down: WitnessEndpoint
) -> None:
    start_log(app, 2, witness)
    real = urllib_poster(None)
    failures = iter([ConnectionResetError("reset"), TimeoutError("timed out")])
    slept: list[float] = []

    def flaky(url: str, body: bytes, timeout: float) -> Answer:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(url, body, timeout)

    outcome = submit_now(app, endpoint(witness), Submitter(post=flaky, sleep=slept.append))
    assert outcome.result == "cosigned" and slept == [1.0, 2.0]

    add_entries(app, 1)
    slept.clear()
    outcome = submit_now(app, down, Submitter(sleep=slept.append))
    assert outcome.result == "unreachable" and "Connection refused" in outcome.detail
    assert slept == [1.0, 2.0, 4.0]


def test_cosignatures_are_append_only(app: Flask, witness: StubWitness) -> None:
    start_log(app, 1, witness)
    submit_now(app, endpoint(witness))
    with app.app_context():
        for statement in ("UPDATE witness_cosignature SET timestamp = 1", "DELETE FROM witness_cosignature"):
            with pytest.raises(DatabaseError, match="witness cosignatures are append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.scalar(select(WitnessCosignature.timestamp)) == TIMESTAMP


# --- in the background, during a draw ------------------------------------------------------------


def test_a_witness_that_hangs_or_is_down_does_not_hold_up_the_draw(
    app: Flask, offices: dict[str, int], down: WitnessEndpoint
) -> None:
    import threading

    with running(StubWitness()) as witness:
        witness.release = threading.Event()
        draw_pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
        with app.app_context():
            key = active_key(db.session)
            assert key is not None
            witness.office = parse_vkey(key.vkey)
        slept = configure(app, down, endpoint(witness))
        started = time.monotonic()
        _as_the_console(app, draw_pk)
        elapsed = time.monotonic() - started
        # The draw completed while the witness still held its first request unanswered.
        assert get_draw(app, draw_pk).status == "completed"
        assert not witness.release.is_set()
        assert witness.received.wait(10)
        assert elapsed < 60
        witness.release.set()
        assert wait_for_submissions(app, 20)
        assert slept and set(slept) <= {1.0, 2.0, 4.0}  # the down witness was retried, without waiting
        with app.app_context():
            draw = db.session.get(Draw, draw_pk)
            assert draw is not None and draw.completed_log_index is not None
            bundle_size = draw.completed_log_index + 1
            sizes = set(db.session.scalars(select(WitnessCosignature.checkpoint_size)))
            names = set(db.session.scalars(select(WitnessCosignature.witness_name)))
            latest = latest_checkpoint(db.session)
            assert latest is not None
            assert {bundle_size, latest.size} <= sizes  # the bundle's own checkpoint too
            assert names == {witness.signer.name}


def test_the_consoles_dice_request_answers_while_a_witness_hangs(
    app: Flask, offices: dict[str, int], down: WitnessEndpoint
) -> None:
    import threading

    from service import clock
    from service.draw_lifecycle import announce
    from service.models import User
    from tests.builders import ANNOUNCED, DICE, DICE_AT, AuthActions

    draw_pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    with app.app_context():
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        announce(db.session, settings_of(app), draw_pk, operator, now=ANNOUNCED)
        db.session.commit()
        key = active_key(db.session)
        assert key is not None
        office = parse_vkey(key.vkey)
    client = app.test_client()
    AuthActions(client).login("kinmen-operator")
    with running(StubWitness()) as witness:
        witness.office, witness.release = office, threading.Event()
        configure(app, down, endpoint(witness))
        clock.fix_clock(app, DICE_AT)
        try:
            response = client.post("/operator/draws/kinmen-114-annual/live/dice", data={"dice": DICE})
        finally:
            clock.fix_clock(app, None)
        # The operator has the answer, and the dice are logged, while the witness holds the submission.
        assert response.status_code == 303
        assert get_draw(app, draw_pk).dice == DICE
        assert not witness.release.is_set()
        assert witness.received.wait(10)
        witness.release.set()
        assert wait_for_submissions(app, 20)
    with app.app_context():
        latest = latest_checkpoint(db.session)
        assert latest is not None
        assert cosigned_size(db.session, endpoint(witness)) == latest.size
        assert cosigned_size(db.session, down) == 0


# --- serving -------------------------------------------------------------------------------------


def _as_the_console(app: Flask, draw_pk: int) -> None:
    """`run_to_result` as the console's POST requests run it: their SQLite transactions begin
    IMMEDIATE (`service.database`); a test client's GET earlier in this thread left DEFERRED."""
    begin_mode.set("IMMEDIATE")
    run_to_result(app, draw_pk, "kinmen-operator")


def _witnessed_draw(app: Flask, offices: dict[str, int], witness: StubWitness, *others: WitnessEndpoint) -> Draw:
    from tests.builders import SECRET_AT

    # The draw runs on the tests' 2023 clock: the stub's cosignatures say they were made just
    # after the secret was revealed, before the drand round (as a witness's own clock would).
    witness.timestamp = int(SECRET_AT.timestamp()) + 5
    draw_pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    with app.app_context():
        key = active_key(db.session)
        assert key is not None
        witness.office = parse_vkey(key.vkey)
    configure(app, endpoint(witness), *others)
    _as_the_console(app, draw_pk)
    assert wait_for_submissions(app, 20)
    return get_draw(app, draw_pk)


def _bundle(client: Any, draw: Draw) -> tuple[dict[str, bytes], str]:
    response = client.get(f"/draws/{draw.draw_id}/bundle.zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        files = {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}
    return files, response.headers["Cache-Control"]


def test_checkpoint_and_bundle_carry_the_cosignatures(
    app: Flask, offices: dict[str, int], witness: StubWitness
) -> None:
    draw = _witnessed_draw(app, offices, witness)
    verifier = witness.signer.verifier
    client = app.test_client()
    served = client.get("/log/checkpoint").get_data(as_text=True)
    assert cosignatures(served, [verifier]) == {verifier.name: witness.timestamp}
    files, cache = _bundle(client, draw)
    assert cache == "public, max-age=31536000, immutable"  # every configured witness cosigned it
    office = parse_vkey(files["office.vkey"].decode())
    bundle_checkpoint = open_checkpoint(files["checkpoint"].decode(), [office])
    assert cosignatures(files["checkpoint"].decode(), [verifier]) == {verifier.name: witness.timestamp}
    witnessed = json.loads(files["witnessed.json"])
    assert witnessed and set(witnessed[0]) == {"note", "consistency"}
    sizes = []
    assert draw.announced_log_index is not None
    for item in witnessed:
        body = open_checkpoint(item["note"], [office])
        assert cosignatures(item["note"], [verifier]) == {verifier.name: witness.timestamp}
        assert draw.announced_log_index < body.size <= bundle_checkpoint.size
        proof = [base64.b64decode(node) for node in item["consistency"]]
        verify_consistency(body.size, bundle_checkpoint.size, proof, body.root, bundle_checkpoint.root)
        sizes.append(body.size)
    assert sizes == sorted(set(sizes)) and sizes[-1] == bundle_checkpoint.size
    assert witnessed[-1]["consistency"] == []
    # Today's verifier reads the cosigned bundle as before (the witness lines are other keys' lines).
    report = verify_bundle(files, key=files["office.vkey"].decode().strip(), check_bls=False)
    assert report.ok, [check.line() for check in report.checks]
    # The bundle verifier's witness checks (lottery.witnessed) read what the office wrote.
    report = verify_bundle(
        files, key=files["office.vkey"].decode().strip(), check_bls=False, witnesses=[verifier], quorum=1
    )
    assert report.ok, [check.line() for check in report.checks]
    outcomes = {check.key: check.outcome for check in report.checks if check.key.startswith("witness")}
    assert outcomes == {"witnessed": "pass", "witness-quorum": "pass", "witness-before-beacon": "pass"}, outcomes


def test_a_bundle_waiting_for_a_witness_is_not_cached_for_ever(
    app: Flask, offices: dict[str, int], witness: StubWitness, down: WitnessEndpoint
) -> None:
    draw = _witnessed_draw(app, offices, witness, down)
    files, cache = _bundle(app.test_client(), draw)
    assert cache == "public, max-age=60"
    assert "witnessed.json" in files


def test_without_witnesses_everything_is_as_before(app: Flask, offices: dict[str, int]) -> None:
    draw_pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    run_to_result(app, draw_pk, "kinmen-operator")
    draw = get_draw(app, draw_pk)
    client = app.test_client()
    files, cache = _bundle(client, draw)
    assert "witnessed.json" not in files and cache == "public, max-age=31536000, immutable"
    with app.app_context():
        latest = latest_checkpoint(db.session)
        assert latest is not None
        assert client.get("/log/checkpoint").get_data(as_text=True) == latest.note
    assert client.get(f"/draws/{draw.draw_id}/live.json").get_json()["log_witnesses"] is None
    assert 'id="st-witnessed" hidden' in client.get(f"/draws/{draw.draw_id}/live").get_data(as_text=True)
    assert submitter_of(app).threads == []


def test_the_stage_names_the_witnesses_that_cosigned_the_inputs(
    app: Flask, offices: dict[str, int], witness: StubWitness, down: WitnessEndpoint
) -> None:
    draw = _witnessed_draw(app, offices, witness, down)
    client = app.test_client()
    state = client.get(f"/draws/{draw.draw_id}/live.json").get_json()
    assert state["log_witnesses"] == {"configured": 2, "names": [witness.signer.name]}
    page = client.get(f"/draws/{draw.draw_id}/live?lang=zh").get_data(as_text=True)
    assert 'id="st-witnessed" hidden' not in page
    assert "由 {count} 個獨立見證方連署：{names}" in page


# --- commands ------------------------------------------------------------------------------------


def test_witnesses_submit_and_status_commands(app: Flask, witness: StubWitness, down: WitnessEndpoint) -> None:
    start_log(app, 3, witness)
    configure(app, endpoint(witness), down)
    runner = app.test_cli_runner()
    status = runner.invoke(args=["witnesses", "status"])
    assert f"{witness.signer.name} ({witness.url}): has cosigned nothing yet" in status.output
    result = runner.invoke(args=["witnesses", "submit"])
    assert f"✓ {witness.signer.name}: checkpoint 4 cosigned" in result.output
    assert "✗ down.example/w: checkpoint 4 unreachable" in result.output
    assert result.exit_code == 1
    status = runner.invoke(args=["witnesses", "status"])
    assert f"{witness.signer.name} ({witness.url}): cosigned up to size 4, up to date" in status.output
    assert "down.example/w" in status.output and "4 entries behind" in status.output


# --- with the real witness server (`python -m lottery witness serve`) -----------------------------


def test_the_office_and_the_lottery_witness_server_agree(app: Flask, tmp_path: Any) -> None:
    import threading

    from lottery.witness_server import Witness, WitnessStore, make_server
    from service.witnessing import request_body

    signer = generate_witness("council.example/witness")
    start_log(app, 3)
    with app.app_context():
        key = active_key(db.session)
        assert key is not None
        office = parse_vkey(key.vkey)
        early = checkpoint_at(db.session, 2)
        assert early is not None
        # The witness cosigned checkpoint 2 once, but the office never stored that cosignature.
        real = Witness(signer, {office.name: [office]}, WitnessStore(tmp_path / "w.db"), now=lambda: TIMESTAMP)
        assert real.add_checkpoint(request_body(db.session, 0, early)).status == 200
    server = make_server(real, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        target = WitnessEndpoint(f"http://127.0.0.1:{server.server_address[1]}", signer.verifier)
        assert submit_now(app, target).result == "cosigned"  # a 409 naming size 2, then proved from 2
        add_entries(app, 2)
        assert submit_now(app, target).result == "cosigned"  # proved from what it cosigned
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    with app.app_context():
        latest = latest_checkpoint(db.session)
        assert latest is not None
        assert cosigned_size(db.session, target) == latest.size == 6
        assert cosignatures(witnessed_note(db.session, latest), [signer.verifier]) == {signer.name: TIMESTAMP}
