"""Fetching the announced drand round from public relays, and checking it with `lottery`.

Each relay gets `timeout` seconds. A relay that answers with another round, a malformed body or
a signature that does not verify is skipped (and said so); a round that is not out yet is
reported as such so the console can wait and ask again. Another round is never substituted.

Government networks often reach the Internet only through a proxy: `proxy` (the setting
`SUNSHINE_DRAND_PROXY`, else `HTTPS_PROXY`) is used for every relay request, and nothing else
from the environment is. Each failure is classified (`Problem.kind`) so the console can say in
plain words what went wrong, never with an errno or an exception's text.
"""

import json
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from lottery.drand import QUICKNET_CHAIN_HASH, Beacon, check_randomness, check_signature, parse_beacon, round_time
from lottery.errors import ProtocolError

MAX_BODY = 4096
#: The kinds of `Problem`, from the network to the beacon's own checks.
PROBLEM_KINDS = (
    "timeout", "refused", "dns", "tls", "proxy", "unreachable", "not-yet", "http",
    "malformed", "wrong-round", "bad-randomness", "bad-signature",
)  # fmt: skip


class BeaconProblem(ProtocolError):
    """A beacon document that is refused; `kind` says which check failed."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True)
class Problem:
    """Why one relay gave no valid round."""

    relay: str
    kind: str
    #: The HTTP status, for kind `http` (and `proxy` when the proxy answered).
    status: int | None = None


@dataclass
class FetchOutcome:
    """The verified beacon if one relay gave it; otherwise why each relay did not."""

    beacon: Beacon | None = None
    not_yet: bool = False
    available_at: int = 0
    #: One technical line per relay that failed (for the server's log, not for the page).
    failures: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def round_url(relay: str, round_number: int) -> str:
    """The URL of a quicknet round's JSON on a relay."""
    return f"{relay.rstrip('/')}/{QUICKNET_CHAIN_HASH}/public/{round_number}"


def beacon_from_document(document: object, expected_round: int) -> Beacon:
    """The beacon in a relay's JSON object, as served (unknown keys ignored), fully verified.

    Raises `BeaconProblem` naming the failed check: malformed, wrong-round, bad-randomness or
    bad-signature.
    """
    if not isinstance(document, dict):
        raise BeaconProblem("malformed", "the answer is not a JSON object")
    try:
        beacon = parse_beacon({key: document.get(key) for key in ("round", "randomness", "signature")})
    except ProtocolError as exc:
        raise BeaconProblem("malformed", str(exc)) from None
    if beacon.round != expected_round:
        raise BeaconProblem("wrong-round", f"round {beacon.round} is not the announced round {expected_round}")
    try:
        check_randomness(beacon)
    except ProtocolError as exc:
        raise BeaconProblem("bad-randomness", str(exc)) from None
    try:
        check_signature(beacon)
    except ProtocolError as exc:
        raise BeaconProblem("bad-signature", str(exc)) from None
    return beacon


def verify_beacon(value: object, expected_round: int) -> Beacon:
    """Parse and fully verify a beacon for exactly `expected_round` (randomness and BLS)."""
    return beacon_from_document(value, expected_round)


def parse_pasted(text: str, expected_round: int) -> Beacon:
    """A round's JSON pasted whole by the operator (from a phone, another computer), verified."""
    try:
        document = json.loads(text)
    except ValueError:
        raise BeaconProblem("malformed", "the pasted text is not JSON") from None
    return beacon_from_document(document, expected_round)


def opener_for(proxy: str | None) -> urllib.request.OpenerDirector:
    """A URL opener that goes through `proxy` when given, and ignores the environment's proxies."""
    proxies = {"http": proxy, "https": proxy} if proxy else {}
    return urllib.request.build_opener(urllib.request.ProxyHandler(proxies))


def _network_kind(exc: BaseException, proxy: str | None) -> str:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(reason, socket.gaierror):
        return "proxy" if proxy else "dns"
    if isinstance(reason, ConnectionRefusedError):
        return "proxy" if proxy else "refused"
    if isinstance(reason, ssl.SSLError):
        return "tls"
    if isinstance(reason, str) and "Tunnel connection failed" in reason:
        return "proxy"
    return "unreachable"


def fetch_round(
    relays: tuple[str, ...], round_number: int, timeout: float, now: float, proxy: str | None = None
) -> FetchOutcome:
    """Ask each relay in turn for the round (through `proxy` if given); return the first verified beacon."""
    outcome = FetchOutcome(available_at=round_time(round_number))
    if now < outcome.available_at:
        outcome.not_yet = True
        return outcome
    opener = opener_for(proxy)
    for relay in relays:
        url = round_url(relay, round_number)
        try:
            with opener.open(url, timeout=timeout) as response:
                body = response.read(MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 425):
                outcome.not_yet = True
                kind = "not-yet"
            else:
                kind = "proxy" if exc.code == 407 else "http"
            outcome.problems.append(Problem(relay, kind, exc.code))
            outcome.failures.append(f"{relay}: HTTP {exc.code}")
            continue
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            outcome.problems.append(Problem(relay, _network_kind(exc, proxy)))
            outcome.failures.append(f"{relay}: unreachable ({getattr(exc, 'reason', exc)})")
            continue
        try:
            if len(body) > MAX_BODY:
                raise BeaconProblem("malformed", "answer too large")
            try:
                document = json.loads(body)
            except ValueError as exc:
                raise BeaconProblem("malformed", str(exc)) from None
            beacon = beacon_from_document(document, round_number)
        except BeaconProblem as exc:
            outcome.problems.append(Problem(relay, exc.kind))
            outcome.failures.append(f"{relay}: {exc}")
            continue
        outcome.beacon = beacon
        outcome.not_yet = False
        return outcome
    return outcome
