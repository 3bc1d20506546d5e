"""Fetching the announced drand round from relays: a stub relay on loopback plays every failure."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lottery.drand import QUICKNET_CHAIN_HASH, round_time
from service.demo import DEMO_BEACON
from service.drand_client import fetch_round

GOOD = DEMO_BEACON.to_json()
AFTER = round_time(DEMO_BEACON.round) + 10


class Relay:
    """What the stub relay answers: a mode the test sets."""

    mode = "ok"


@pytest.fixture
def relay() -> Iterator[tuple[Relay, str]]:
    state = Relay()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            expected = f"/{QUICKNET_CHAIN_HASH}/public/{DEMO_BEACON.round}"
            if state.mode == "slow":
                time.sleep(2)
            if state.mode == "not-yet" or self.path != expected:
                self.send_response(404)
                self.end_headers()
                return
            body = dict(GOOD)
            if state.mode == "wrong-round":
                body["round"] = DEMO_BEACON.round + 1
            if state.mode == "bad-signature":
                body["signature"] = "a" + body["signature"][1:]
            payload = b"<html>not json</html>" if state.mode == "garbage" else json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # the slow case's client hangs up on purpose

    server = QuietServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


DOWN = "http://127.0.0.1:9"  # nothing listens on the discard port


def test_a_good_relay_gives_the_verified_round(relay: tuple[Relay, str]) -> None:
    _, url = relay
    outcome = fetch_round((url,), DEMO_BEACON.round, timeout=2.0, now=AFTER)
    assert outcome.beacon == DEMO_BEACON and not outcome.failures


def test_a_dead_relay_is_skipped_for_the_next(relay: tuple[Relay, str]) -> None:
    _, url = relay
    outcome = fetch_round((DOWN, url), DEMO_BEACON.round, timeout=2.0, now=AFTER)
    assert outcome.beacon == DEMO_BEACON
    assert len(outcome.failures) == 1 and "unreachable" in outcome.failures[0]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("wrong-round", "not the announced round"), ("bad-signature", "signature"), ("garbage", "Expecting value")],
)
def test_a_lying_relay_is_never_believed(relay: tuple[Relay, str], mode: str, reason: str) -> None:
    state, url = relay
    state.mode = mode
    outcome = fetch_round((url,), DEMO_BEACON.round, timeout=2.0, now=AFTER)
    assert outcome.beacon is None
    assert reason in outcome.failures[0]


def test_a_slow_relay_times_out(relay: tuple[Relay, str]) -> None:
    state, url = relay
    state.mode = "slow"
    began = time.monotonic()
    outcome = fetch_round((url,), DEMO_BEACON.round, timeout=0.5, now=AFTER)
    assert outcome.beacon is None and "unreachable" in outcome.failures[0]
    assert time.monotonic() - began < 1.9


def test_a_round_not_yet_out_says_so_without_asking(relay: tuple[Relay, str]) -> None:
    state, url = relay
    outcome = fetch_round((url,), DEMO_BEACON.round, timeout=2.0, now=round_time(DEMO_BEACON.round) - 30)
    assert outcome.beacon is None and outcome.not_yet and outcome.failures == []
    state.mode = "not-yet"
    outcome = fetch_round((url,), DEMO_BEACON.round, timeout=2.0, now=AFTER)
    assert outcome.not_yet and outcome.beacon is None
