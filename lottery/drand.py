"""drand quicknet beacons (protocol §4–§5): the round for a time, and beacon verification.

The BLS check needs `py_ecc`; `bls_available()` says whether it is installed, so a verifier
without it can say plainly that the check was skipped instead of pretending it passed.
"""

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lottery.errors import DrawRefused

QUICKNET_CHAIN_HASH = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
QUICKNET_GENESIS = 1692803367
QUICKNET_PERIOD = 3
QUICKNET_PUBLIC_KEY = bytes.fromhex(
    "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c"
    "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb"
    "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
)
#: RFC 9380 domain separation tag of quicknet's `bls-unchained-g1-rfc9380` scheme.
QUICKNET_DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX96 = re.compile(r"[0-9a-f]{96}")


@dataclass(frozen=True)
class Beacon:
    """One drand round as published: round number, randomness and signature in hex."""

    round: int
    randomness: str
    signature: str

    def to_json(self) -> dict[str, Any]:
        """The `inputs.drand` object of protocol §5."""
        return {"randomness": self.randomness, "round": self.round, "signature": self.signature}


def round_at(moment: datetime) -> int:
    """The first quicknet round published at or after `moment` (protocol §4)."""
    seconds = int(moment.timestamp())
    if seconds <= QUICKNET_GENESIS:
        return 1
    return math.ceil((seconds - QUICKNET_GENESIS) / QUICKNET_PERIOD) + 1


def first_round_after(moment: datetime, margin_seconds: int = 30) -> int:
    """The first quicknet round whose `round_time` is at or after `moment + margin_seconds`.

    With an announcement's `inputs_close_at` this is the round it announces (protocol §4): the
    beacon cannot exist until every typed input has been closed for at least the margin.
    """
    seconds = math.ceil(moment.timestamp()) + margin_seconds
    if seconds <= QUICKNET_GENESIS:
        return 1
    return (seconds - QUICKNET_GENESIS + QUICKNET_PERIOD - 1) // QUICKNET_PERIOD + 1


def round_time(round_number: int) -> int:
    """Unix time at which quicknet publishes `round_number`."""
    return QUICKNET_GENESIS + (round_number - 1) * QUICKNET_PERIOD


def parse_beacon(value: object) -> Beacon:
    """Check the shape of an `inputs.drand` object and return it; refuse anything else."""
    if not isinstance(value, dict) or set(value) != {"round", "randomness", "signature"}:
        raise DrawRefused("drand input must be {round, randomness, signature}")
    round_number, randomness, signature = value["round"], value["randomness"], value["signature"]
    if not isinstance(round_number, int) or isinstance(round_number, bool) or round_number < 1:
        raise DrawRefused("drand round must be a positive integer")
    if not isinstance(randomness, str) or not _HEX64.fullmatch(randomness):
        raise DrawRefused("drand randomness must be 64 lowercase hex characters")
    if not isinstance(signature, str) or not _HEX96.fullmatch(signature):
        raise DrawRefused("drand signature must be 96 lowercase hex characters")
    return Beacon(round_number, randomness, signature)


def check_randomness(beacon: Beacon) -> None:
    """Refuse a beacon whose randomness is not `sha256(signature)`."""
    if hashlib.sha256(bytes.fromhex(beacon.signature)).hexdigest() != beacon.randomness:
        raise DrawRefused("drand randomness is not sha256(signature)")


def bls_available() -> bool:
    """True when `py_ecc` is installed, so the BLS signature can be checked."""
    try:
        import py_ecc  # noqa: F401
    except ImportError:
        return False
    return True


def check_signature(beacon: Beacon, public_key: bytes = QUICKNET_PUBLIC_KEY) -> None:
    """Verify the beacon's BLS signature against the quicknet key; refuse if it fails.

    The signature is a G1 point over `sha256(uint64_be(round))`, the key a G2 point; the check
    is the pairing equation e(sig, g2) == e(H(m), pk). Requires `py_ecc`.
    """
    from py_ecc.bls.g2_primitives import subgroup_check
    from py_ecc.bls.hash_to_curve import hash_to_G1
    from py_ecc.bls.point_compression import decompress_G1, decompress_G2
    from py_ecc.bls.typing import G1Compressed, G2Compressed
    from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
    from py_ecc.optimized_bls12_381.optimized_curve import G2, neg
    from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, miller_loop

    message = hashlib.sha256(beacon.round.to_bytes(8, "big")).digest()
    try:
        signature_point = decompress_G1(G1Compressed(int.from_bytes(bytes.fromhex(beacon.signature), "big")))
        key_point = decompress_G2(
            G2Compressed((int.from_bytes(public_key[:48], "big"), int.from_bytes(public_key[48:], "big")))
        )
    except (ValueError, AssertionError):
        raise DrawRefused("drand signature is not a valid BLS12-381 point") from None
    if not subgroup_check(signature_point):
        raise DrawRefused("drand signature is not in the BLS12-381 G1 subgroup")
    hashed = hash_to_G1(message, QUICKNET_DST, hashlib.sha256)  # type: ignore[arg-type]  # py_ecc calls it: a constructor
    product = miller_loop(G2, signature_point, False) * miller_loop(neg(key_point), hashed, False)
    if final_exponentiate(product) != FQ12.one():
        raise DrawRefused(f"drand signature does not verify for round {beacon.round} of quicknet")
