"""drand quicknet (protocol §4–§5): round numbers for times, and beacon verification on real rounds."""

import hashlib
from datetime import UTC, datetime

import pytest

from lottery.drand import (
    QUICKNET_GENESIS,
    Beacon,
    bls_available,
    check_randomness,
    check_signature,
    first_round_after,
    parse_beacon,
    round_at,
    round_time,
)
from lottery.errors import DrawRefused

ROUND = 657413
SIGNATURE = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b"
RANDOMNESS = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
GOOD = Beacon(ROUND, RANDOMNESS, SIGNATURE)


def negated(signature: str) -> str:
    """The same compressed G1 point with its sign bit flipped: a valid point that is not the signature."""
    raw = bytearray.fromhex(signature)
    raw[0] ^= 0x20
    return raw.hex()


def test_round_at_the_spec_example() -> None:
    assert round_at(datetime(2026, 1, 15, 2, 0, tzinfo=UTC)) == 25213012


def test_round_at_is_the_first_round_at_or_after_the_time() -> None:
    scheduled = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
    round_number = round_at(scheduled)
    assert round_time(round_number) >= scheduled.timestamp() > round_time(round_number - 1)
    assert round_at(datetime.fromtimestamp(round_time(round_number), UTC)) == round_number
    assert round_at(datetime.fromtimestamp(round_time(round_number) + 1, UTC)) == round_number + 1


def test_round_at_genesis_and_before() -> None:
    assert round_at(datetime.fromtimestamp(QUICKNET_GENESIS, UTC)) == 1
    assert round_at(datetime(2020, 1, 1, tzinfo=UTC)) == 1
    assert round_time(1) == QUICKNET_GENESIS


def test_parse_beacon_accepts_the_spec_round() -> None:
    beacon = parse_beacon({"round": ROUND, "randomness": RANDOMNESS, "signature": SIGNATURE})
    assert beacon == GOOD
    assert beacon.to_json() == {"randomness": RANDOMNESS, "round": ROUND, "signature": SIGNATURE}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "drand input must be {round, randomness, signature}"),
        ({"round": ROUND, "randomness": RANDOMNESS}, "drand input must be {round, randomness, signature}"),
        (
            {"round": ROUND, "randomness": RANDOMNESS, "signature": SIGNATURE, "previous_signature": ""},
            "drand input must be {round, randomness, signature}",
        ),
        ({"round": 0, "randomness": RANDOMNESS, "signature": SIGNATURE}, "drand round must be a positive integer"),
        ({"round": "1", "randomness": RANDOMNESS, "signature": SIGNATURE}, "drand round must be a positive integer"),
        ({"round": True, "randomness": RANDOMNESS, "signature": SIGNATURE}, "drand round must be a positive integer"),
        (
            {"round": ROUND, "randomness": RANDOMNESS.upper(), "signature": SIGNATURE},
            "drand randomness must be 64 lowercase hex characters",
        ),
        (
            {"round": ROUND, "randomness": RANDOMNESS, "signature": SIGNATURE[:-2]},
            "drand signature must be 96 lowercase hex characters",
        ),
    ],
)
def test_parse_beacon_refusals(value: object, message: str) -> None:
    with pytest.raises(DrawRefused, match=f"^{message}$"):
        parse_beacon(value)


def test_randomness_is_sha256_of_the_signature() -> None:
    check_randomness(GOOD)
    assert hashlib.sha256(bytes.fromhex(SIGNATURE)).hexdigest() == RANDOMNESS
    with pytest.raises(DrawRefused, match=r"^drand randomness is not sha256\(signature\)$"):
        check_randomness(Beacon(ROUND, "0" * 64, SIGNATURE))


def test_bls_is_available_in_the_test_environment() -> None:
    assert bls_available()


def test_the_spec_round_verifies() -> None:
    check_signature(GOOD)


def test_the_same_signature_does_not_verify_for_the_next_round() -> None:
    with pytest.raises(DrawRefused, match=r"^drand signature does not verify for round 657414 of quicknet$"):
        check_signature(Beacon(ROUND + 1, RANDOMNESS, SIGNATURE))


def test_a_changed_signature_does_not_verify() -> None:
    altered = negated(SIGNATURE)
    with pytest.raises(DrawRefused, match=r"^drand signature does not verify for round 657413 of quicknet$"):
        check_signature(Beacon(ROUND, hashlib.sha256(bytes.fromhex(altered)).hexdigest(), altered))


@pytest.mark.parametrize(
    ("position", "message"),
    [
        (0, "drand signature is not in the BLS12-381 G1 subgroup"),
        (1, "drand signature is not a valid BLS12-381 point"),
        (47, "drand signature is not in the BLS12-381 G1 subgroup"),
    ],
)
def test_a_changed_signature_byte_is_refused(position: int, message: str) -> None:
    raw = bytearray.fromhex(SIGNATURE)
    raw[position] ^= 0x01
    with pytest.raises(DrawRefused, match=f"^{message}$"):
        check_signature(Beacon(ROUND, RANDOMNESS, raw.hex()))


def test_a_signature_that_is_no_point_is_refused() -> None:
    with pytest.raises(DrawRefused, match=r"^drand signature is not a valid BLS12-381 point$"):
        check_signature(Beacon(ROUND, RANDOMNESS, "00" * 48))


def test_first_round_after_keeps_the_margin() -> None:
    close = datetime(2026, 1, 15, 2, 20, tzinfo=UTC)
    round_number = first_round_after(close)
    assert round_number == 25213422
    assert round_time(round_number) >= close.timestamp() + 30 > round_time(round_number - 1)
    exact = datetime.fromtimestamp(round_time(round_number) - 30, UTC)
    assert first_round_after(exact) == round_number
    assert first_round_after(exact, margin_seconds=31) == round_number + 1
    assert first_round_after(datetime(2023, 9, 15, 10, 59, tzinfo=UTC)) == 657402  # 10:59:30Z
    assert first_round_after(datetime(2020, 1, 1, tzinfo=UTC)) == 1
