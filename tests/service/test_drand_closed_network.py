"""A closed network (issue 12, item 6): the relays through an HTTP proxy; when they cannot be reached,
the console says why in words (zh-TW first, no errno), gives the round's exact URLs and a QR code for a
phone, takes the relay's JSON pasted whole, and counts down while the round does not exist yet."""

import hashlib
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from lottery.drand import QUICKNET_CHAIN_HASH, round_time
from service.config import load_settings, settings_of
from service.demo import DEMO_BEACON
from service.drand_client import BeaconProblem, fetch_round, parse_pasted
from service.draw_lifecycle import announce, enter_dice, reveal_secret
from service.extensions import db
from service.models import Draw, User
from service.operator.drand_panel import drand_panel
from tests.builders import ANNOUNCED, DICE_AT, SECRET_AT, AuthActions, prepare_draft
from tests.service import test_drand_client as stub
from tests.service.test_drand_client import AFTER, DOWN, GOOD, Relay

ROUND = DEMO_BEACON.round
relay = stub.relay  # the stub relay on loopback (its fixture)
PATH = f"/{QUICKNET_CHAIN_HASH}/public/{ROUND}"
BASE = "/operator/draws/kinmen-114-annual"


class Proxy:
    """What the stub proxy saw."""

    def __init__(self) -> None:
        self.seen: list[str] = []


@pytest.fixture
def proxy() -> Iterator[tuple[Proxy, str]]:
    """A plain HTTP proxy on loopback (absolute-URI GET, no CONNECT) that forwards to the target."""
    state = Proxy()
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen.append(self.path)
            if not self.path.startswith("http://127.0.0.1:"):
                self.send_response(403)  # a loopback stub: it forwards to loopback only
                self.end_headers()
                return
            try:
                with direct.open(self.path, timeout=2) as answer:
                    status, body = answer.status, answer.read()
            except urllib.error.HTTPError as exc:
                status, body = exc.code, b""
            except OSError:
                status, body = 502, b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- the client ------------------------------------------------------------------------------------


def test_the_relays_are_reached_through_the_proxy(relay: tuple[Relay, str], proxy: tuple[Proxy, str]) -> None:
    _, relay_url = relay
    seen, proxy_url = proxy
    outcome = fetch_round((relay_url,), ROUND, timeout=2.0, now=AFTER, proxy=proxy_url)
    assert outcome.beacon == DEMO_BEACON
    assert seen.seen == [relay_url + PATH]  # the request went through the proxy, as an absolute URI
    # Without the setting nothing goes through it (and the environment's proxies are not used either).
    assert fetch_round((relay_url,), ROUND, timeout=2.0, now=AFTER).beacon == DEMO_BEACON
    assert len(seen.seen) == 1


def test_a_dead_proxy_is_named_as_such(relay: tuple[Relay, str]) -> None:
    _, relay_url = relay
    outcome = fetch_round((relay_url,), ROUND, timeout=2.0, now=AFTER, proxy=DOWN)
    assert outcome.beacon is None and [p.kind for p in outcome.problems] == ["proxy"]


def test_the_proxy_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"SUNSHINE_ENV": "test", "SECRET_KEY": "k" * 40}
    assert load_settings(base).drand_proxy is None
    assert load_settings({**base, "HTTPS_PROXY": "http://proxy.gov.tw:3128"}).drand_proxy == "http://proxy.gov.tw:3128"
    both = {**base, "HTTPS_PROXY": "http://a:1", "SUNSHINE_DRAND_PROXY": "http://b:2"}
    assert load_settings(both).drand_proxy == "http://b:2"


@pytest.mark.parametrize(
    ("mode", "kind"),
    # The stub's forged signature no longer hashes to the randomness: that check fails first.
    [("wrong-round", "wrong-round"), ("bad-signature", "bad-randomness"), ("garbage", "malformed")],
)
def test_each_failure_is_classified(relay: tuple[Relay, str], mode: str, kind: str) -> None:
    state, url = relay
    state.mode = mode
    outcome = fetch_round((url,), ROUND, timeout=2.0, now=AFTER)
    assert [p.kind for p in outcome.problems] == [kind]


def test_network_failures_are_classified(relay: tuple[Relay, str], monkeypatch: pytest.MonkeyPatch) -> None:
    state, url = relay
    assert [p.kind for p in fetch_round((DOWN,), ROUND, 2.0, AFTER).problems] == ["refused"]
    state.mode = "slow"
    assert [p.kind for p in fetch_round((url,), ROUND, 0.5, AFTER).problems] == ["timeout"]

    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert [p.kind for p in fetch_round(("https://api.drand.sh",), ROUND, 2.0, AFTER).problems] == ["dns"]


def test_a_pasted_round_is_taken_as_served() -> None:
    served = {**GOOD, "previous_signature": "", "chain_hash": QUICKNET_CHAIN_HASH}  # unknown keys: ignored
    assert parse_pasted(json.dumps(served), ROUND) == DEMO_BEACON
    forged = "a" + GOOD["signature"][1:]
    bad = {**GOOD, "signature": forged}
    consistent = {**GOOD, "signature": forged, "randomness": hashlib.sha256(bytes.fromhex(forged)).hexdigest()}
    for text, kind in (
        ("{", "malformed"),
        ("[]", "malformed"),
        (json.dumps({**GOOD, "round": ROUND + 1}), "wrong-round"),
        (json.dumps({**GOOD, "randomness": "0" * 64}), "bad-randomness"),
        (json.dumps(bad), "bad-randomness"),  # the randomness is sha256(signature): caught first
        (json.dumps(consistent), "bad-signature"),  # consistent, but not signed by the League of Entropy
    ):
        with pytest.raises(BeaconProblem) as refused:
            parse_pasted(text, ROUND)
        assert refused.value.kind == kind, text


# --- the console -----------------------------------------------------------------------------------


def _ready_for_drand(app: Flask, offices: dict[str, int]) -> int:
    pk = prepare_draft(app, offices["kinmen"], "kinmen-operator")
    settings = settings_of(app)
    with app.app_context():
        operator = db.session.scalars(select(User).where(User.username == "kinmen-operator")).one()
        announce(db.session, settings, pk, operator, now=ANNOUNCED)
        enter_dice(db.session, settings, pk, "50104646865477507016", now=DICE_AT)
        reveal_secret(db.session, settings, pk, now=SECRET_AT)
        db.session.commit()
    return pk


def test_the_console_explains_a_failure_and_offers_the_phone_route(
    app: Flask, offices: dict[str, int], client: FlaskClient
) -> None:
    pk = _ready_for_drand(app, offices)
    AuthActions(client).login("kinmen-operator")
    page = client.post(f"{BASE}/live/drand?lang=zh").get_data(as_text=True)  # the relay (port 9) refuses
    assert "http://127.0.0.1:9 拒絕連線" in page  # in words, zh-TW first
    for internal in ("Errno", "Connection refused", "URLError", "Traceback", "unreachable ("):
        assert internal not in page
    url = f"http://127.0.0.1:9/{QUICKNET_CHAIN_HASH}/public/{ROUND}"
    assert url in page and "<svg" in page and "<details open" in page  # the exact URL and its QR code
    client.set_cookie("lang", "en")
    english = client.post(f"{BASE}/live/drand").get_data(as_text=True)
    assert "http://127.0.0.1:9 refused the connection" in english
    # A pasted round that fails verification says why, in words, and keeps what was pasted.
    forged = json.dumps({**GOOD, "round": ROUND + 1})
    refused = client.post(f"{BASE}/live/drand?lang=zh", data={"beacon": forged}).get_data(as_text=True)
    assert f"貼上的 JSON 是別的輪次：本次抽籤公告的是第 {ROUND} 輪。" in refused
    assert "not the announced round" not in refused
    # The relay's whole JSON object, as a phone shows it, is accepted.
    served = json.dumps({**GOOD, "previous_signature": ""})
    done = client.post(f"{BASE}/live/drand", data={"beacon": served})
    assert done.status_code == 303
    with app.app_context():
        draw = db.session.get(Draw, pk)
        assert draw is not None and draw.drand_beacon == GOOD and draw.status == "completed"


def test_the_console_fetches_through_the_proxy(
    app: Flask, offices: dict[str, int], client: FlaskClient, relay: tuple[Relay, str], proxy: tuple[Proxy, str]
) -> None:
    pk = _ready_for_drand(app, offices)
    _, relay_url = relay
    seen, proxy_url = proxy
    settings = settings_of(app)
    app.extensions["sunshine_settings"] = settings.with_overrides(drand_relays=(relay_url,), drand_proxy=proxy_url)
    AuthActions(client).login("kinmen-operator")
    assert client.post(f"{BASE}/live/drand").status_code == 303
    assert seen.seen == [relay_url + PATH]
    with app.app_context():
        draw = db.session.get(Draw, pk)
        assert draw is not None and draw.drand_beacon == GOOD


def test_a_countdown_while_the_round_does_not_exist(app: Flask, offices: dict[str, int]) -> None:
    pk = _ready_for_drand(app, offices)
    with app.test_request_context("/"), app.app_context():
        draw = db.session.get(Draw, pk)
        assert draw is not None
        panel = drand_panel(draw, settings_of(app), now=round_time(ROUND) - 95)
        assert panel is not None and panel.seconds_left == 95 and panel.available_at == round_time(ROUND)
        assert drand_panel(draw, settings_of(app), now=round_time(ROUND) + 1).seconds_left == 0  # type: ignore[union-attr]
    # The page carries the round's time; operator.js counts down to it (no inline script: strict CSP).
    assert app.static_folder is not None
    for path in (f"{app.template_folder}/operator/console.html", f"{app.static_folder}/js/operator.js"):
        with open(f"{app.root_path}/{path}" if not path.startswith("/") else path, encoding="utf-8") as source:
            assert "data-countdown-to" in source.read()
