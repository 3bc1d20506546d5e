"""Three independent witnesses — `lottery.witness_server`, what `python -m lottery witness serve`
runs — cosign a draw on loopback as it runs; one is then shown a forked log and refuses it; and
`python -m lottery verify --witness … --quorum 2` finds the inputs witnessed before the beacon.
The demo's own witnesses do the same for the demo draw (docs/witness.md)."""

import base64
import io
import os
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from lottery.checkpoint import Checkpoint, sign_checkpoint
from lottery.cli import main
from lottery.cosignature import WitnessSigner, generate_witness
from lottery.signing import parse_vkey
from lottery.witness_server import Witness, WitnessStore, make_server
from service.config import WitnessEndpoint, settings_of
from service.database import begin_mode
from service.draw_lifecycle import announce, complete, enter_dice, record_beacon, reveal_secret
from service.extensions import db
from service.keystore import active_key, current_signer
from service.models import User
from service.transparency import latest_checkpoint
from service.witnessing import submitter_of, wait_for_submissions
from tests.builders import ANNOUNCED, BEACON, BEACON_AT, DICE, DICE_AT, SECRET_AT, get_draw, prepare_draft

NAMES = ("council.kinmen.example/witness", "news.example.tw/witness", "ngo.example.org/witness")


@contextmanager
def serving(signers: list[WitnessSigner], office_vkey: str, folder: Path, clock: list[int]) -> Iterator[list[str]]:
    """Each witness on its own loopback port, its record in `folder`, stamping `clock[0]`."""
    office = parse_vkey(office_vkey)
    servers = []
    try:
        for number, signer in enumerate(signers):
            store = WitnessStore(folder / f"witness-{number}.db")
            logic = Witness(signer, {office.name: [office]}, store, now=lambda: clock[0])
            server = make_server(logic, "127.0.0.1", 0)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        yield [f"http://127.0.0.1:{server.server_address[1]}" for server in servers]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def post(url: str, body: bytes) -> tuple[int, str]:
    """POST an add-checkpoint body; the status and the answer's text."""
    request = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def verify_cli(bundle: Path, signers: list[WitnessSigner], quorum: int) -> tuple[int, str]:
    """`python -m lottery verify BUNDLE --witness … --quorum K`: exit code and output."""
    arguments = ["verify", str(bundle)]
    for signer in signers:
        arguments += ["--witness", signer.verifier.vkey]
    output = io.StringIO()
    with redirect_stdout(output):
        code = main([*arguments, "--quorum", str(quorum)])
    return code, output.getvalue()


def test_three_witnesses_cosign_one_refuses_a_fork_and_two_suffice(
    app: Flask, offices: dict[str, int], tmp_path: Path
) -> None:
    signers = [generate_witness(name) for name in NAMES]
    draw_pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    settings = settings_of(app)
    with app.app_context():
        key = active_key(db.session)
        assert key is not None
        office_vkey = key.vkey
    clock = [0]
    with serving(signers, office_vkey, tmp_path, clock) as urls:
        endpoints = tuple(WitnessEndpoint(url, s.verifier) for url, s in zip(urls, signers, strict=True))
        app.extensions["sunshine_settings"] = settings.with_overrides(witnesses=endpoints)
        submitter_of(app).sleep = lambda seconds: None
        settings = settings_of(app)
        begin_mode.set("IMMEDIATE")  # as the console's POSTs run (service.database)
        with app.app_context():
            operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
            # Given a draw whose dice and secret are logged, cosigned by the witnesses at once
            clock[0] = int((SECRET_AT + timedelta(seconds=20)).timestamp())
            announce(db.session, settings, draw_pk, operator, now=ANNOUNCED)
            db.session.commit()
            enter_dice(db.session, settings, draw_pk, DICE, now=DICE_AT)
            reveal_secret(db.session, settings, draw_pk, now=SECRET_AT)
            db.session.commit()
            assert wait_for_submissions(app, 30)
            # and completed once the beacon is out, the bundle's checkpoint cosigned too
            clock[0] = int((BEACON_AT + timedelta(seconds=30)).timestamp())
            record_beacon(db.session, settings, draw_pk, BEACON, now=BEACON_AT)
            complete(db.session, settings, draw_pk, now=BEACON_AT)
            db.session.commit()
            assert wait_for_submissions(app, 30)
            # When the third witness is shown a fork: the office key signs another tree of the
            # next size, with a proof that cannot lead from what the witness cosigned to it
            latest = latest_checkpoint(db.session)
            assert latest is not None
            signer = current_signer(db.session, settings)
            forked = sign_checkpoint(signer, Checkpoint(signer.name, latest.size + 1, bytes(32)))
            same_size = sign_checkpoint(signer, Checkpoint(signer.name, latest.size, b"\x01" * 32))
        fake_proof = base64.b64encode(bytes(32)).decode()
        status, answer = post(urls[2], f"old {latest.size}\n{fake_proof}\n\n{forked}".encode())
        # Then it refuses, and keeps what it had cosigned
        assert status == 422, answer
        status, answer = post(urls[2], f"old {latest.size}\n\n{same_size}".encode())
        assert status == 409, answer
        recorded = WitnessStore(tmp_path / "witness-2.db").get(signer.name)
        assert recorded is not None and recorded.size == latest.size
    # And the published bundle verifies with any two of the three witnesses: inputs witnessed before the beacon
    draw = get_draw(app, draw_pk)
    response = app.test_client().get(f"/draws/{draw.draw_id}/bundle.zip")
    assert response.status_code == 200
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(response.data)
    with zipfile.ZipFile(bundle) as archive:
        assert any(name.endswith("witnessed.json") for name in archive.namelist())
    code, output = verify_cli(bundle, signers, 2)
    assert code == 0, output
    assert "✓ inputs witnessed before the beacon: yes: " in output
    assert "✓ the checkpoint is cosigned by at least 2 of the 3 given witnesses" in output
    # while a witness that was never asked is "not witnessed", and fails the policy
    stranger = generate_witness("stranger.example/witness")
    code, output = verify_cli(bundle, [signers[0], stranger], 2)
    assert code != 0
    assert "✗ inputs witnessed before the beacon: not witnessed: " in output


def test_the_demo_draw_is_witnessed_before_its_beacon(app: Flask, tmp_path: Path) -> None:
    from service.demo import DEMO_DRAW_ID, DEMO_SECRET_AT, load_demo
    from service.demo_witnesses import demo_witnesses, witness_demo_draw

    settings = settings_of(app).with_overrides(instance_dir=tmp_path)
    with app.app_context():
        app.config["SUNSHINE_INLINE_JOBS"] = True
        load_demo(db.session, settings)
        db.session.commit()
        outcomes = witness_demo_draw(db.session, settings, DEMO_DRAW_ID, DEMO_SECRET_AT)
        assert [outcome.result for outcome in outcomes] == ["cosigned"] * 4
        # idempotent: nothing is sent twice
        again = witness_demo_draw(db.session, settings, DEMO_DRAW_ID, DEMO_SECRET_AT)
        assert {outcome.result for outcome in again} == {"already"}
    witnesses = demo_witnesses(tmp_path)
    assert all(os.stat(witness.key_file).st_mode & 0o777 == 0o600 for witness in witnesses)
    response = app.test_client().get(f"/draws/{DEMO_DRAW_ID}/bundle.zip")
    bundle = tmp_path / "demo.zip"
    bundle.write_bytes(response.data)
    code, output = verify_cli(bundle, [witness.signer for witness in witnesses], 2)
    assert code == 0, output
    assert "✓ inputs witnessed before the beacon: yes: " in output
