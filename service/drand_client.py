"""Fetching the announced drand round from public relays, and checking it with `lottery`.

Each relay gets `timeout` seconds. A relay that answers with another round, a malformed body or
a signature that does not verify is skipped (and said so); a round that is not out yet is
reported as such so the console can wait and ask again. Another round is never substituted.
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from lottery.drand import QUICKNET_CHAIN_HASH, Beacon, check_randomness, check_signature, parse_beacon, round_time
from lottery.errors import ProtocolError

MAX_BODY = 4096


@dataclass
class FetchOutcome:
    """The verified beacon if one relay gave it; otherwise why each relay did not."""

    beacon: Beacon | None = None
    not_yet: bool = False
    available_at: int = 0
    failures: list[str] = field(default_factory=list)


def verify_beacon(value: object, expected_round: int) -> Beacon:
    """Parse and fully verify a beacon for exactly `expected_round` (randomness and BLS)."""
    beacon = parse_beacon(value)
    if beacon.round != expected_round:
        raise ProtocolError(f"round {beacon.round} is not the announced round {expected_round}")
    check_randomness(beacon)
    check_signature(beacon)
    return beacon


def fetch_round(relays: tuple[str, ...], round_number: int, timeout: float, now: float) -> FetchOutcome:
    """Ask each relay in turn for the round; return the first verified beacon."""
    outcome = FetchOutcome(available_at=round_time(round_number))
    if now < outcome.available_at:
        outcome.not_yet = True
        return outcome
    for relay in relays:
        url = f"{relay.rstrip('/')}/{QUICKNET_CHAIN_HASH}/public/{round_number}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  (configured https relays)
                body = response.read(MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 425):
                outcome.not_yet = True
            outcome.failures.append(f"{relay}: HTTP {exc.code}")
            continue
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            outcome.failures.append(f"{relay}: unreachable ({getattr(exc, 'reason', exc)})")
            continue
        try:
            if len(body) > MAX_BODY:
                raise ProtocolError("answer too large")
            document = json.loads(body)
            if not isinstance(document, dict):
                raise ProtocolError("answer is not a JSON object")
            beacon = verify_beacon(
                {key: document.get(key) for key in ("round", "randomness", "signature")}, round_number
            )
        except (ValueError, ProtocolError) as exc:
            outcome.failures.append(f"{relay}: {exc}")
            continue
        outcome.beacon = beacon
        outcome.not_yet = False
        return outcome
    return outcome
