"""Commitment, seed, tickets, selection and the result document (SPEC §5–§8).

Each entry's ticket is `sha256(seed || " " || stage || " " || id)`; a group selects the `k`
members with the smallest `(ticket, id)`. Nothing depends on the order entries arrive in, and
there is no modulo reduction anywhere, so there is no bias.
"""

import hashlib
import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lottery import PROTOCOL
from lottery.announcement import POOLED, Announcement, Stage, check_against_population
from lottery.canonical import digest
from lottery.drand import Beacon, bls_available, check_randomness, check_signature, parse_beacon
from lottery.errors import DrawRefused, ProtocolError
from lottery.population import Population
from lottery.timestamps import parse_timestamp

COMMITMENT_PREFIX = b"sunshine-draw/1 commitment\n"
_SECRET = re.compile(r"[0-9a-f]{64}")
_DICE = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class DrawInputs:
    """The values revealed during the live draw (SPEC §5)."""

    secret: str
    dice: str | None = None
    drand: Beacon | None = None

    def to_json(self) -> dict[str, Any]:
        """The `inputs` object of the result: exactly the announced sources."""
        inputs: dict[str, Any] = {"secret": self.secret}
        if self.dice is not None:
            inputs["dice"] = self.dice
        if self.drand is not None:
            inputs["drand"] = self.drand.to_json()
        return inputs


def commitment(secret_hex: str) -> str:
    """`hex(sha256("sunshine-draw/1 commitment\\n" || secret_hex))` (SPEC §4)."""
    return hashlib.sha256(COMMITMENT_PREFIX + secret_hex.encode("ascii")).hexdigest()


def parse_inputs(value: object) -> DrawInputs:
    """Check the shape of an `inputs.json` object (not yet against an announcement)."""
    if not isinstance(value, dict) or not set(value) <= {"secret", "dice", "drand"}:
        raise DrawRefused("inputs must be an object with secret and the announced dice and drand")
    secret = value.get("secret")
    if not isinstance(secret, str) or not _SECRET.fullmatch(secret):
        raise DrawRefused("secret must be 64 lowercase hex characters")
    dice = value.get("dice")
    if dice is not None and not isinstance(dice, str):
        raise DrawRefused("dice value must be a string of digits 0–9")
    drand = parse_beacon(value["drand"]) if "drand" in value else None
    return DrawInputs(secret=secret, dice=dice, drand=drand)


def check_inputs(announcement: Announcement, inputs: DrawInputs, *, verify_bls: bool = True) -> None:
    """Refuse inputs that do not match what the announcement fixed in advance.

    With `verify_bls` (and `py_ecc` installed) the drand signature is checked too.
    """
    if announcement.dice_count is None and inputs.dice is not None:
        raise DrawRefused("dice were given but the announcement has no dice")
    if announcement.dice_count is not None:
        check_dice(inputs.dice, announcement.dice_count)
    if commitment(inputs.secret) != announcement.commitment:
        raise DrawRefused("secret does not match the commitment")
    if announcement.drand_round is None and inputs.drand is not None:
        raise DrawRefused("a drand round was given but the announcement has none")
    if announcement.drand_round is not None:
        if inputs.drand is None:
            raise DrawRefused(f"drand round {announcement.drand_round} is required by the announcement")
        if inputs.drand.round != announcement.drand_round:
            raise DrawRefused(f"drand round {inputs.drand.round} is not the announced round {announcement.drand_round}")
        check_randomness(inputs.drand)
        if verify_bls and bls_available():
            check_signature(inputs.drand)


def check_dice(dice: str | None, count: int) -> str:
    """Return `dice` if it is exactly `count` ASCII digits 0–9, else refuse saying why."""
    if dice is None or len(dice) != count or not dice.isascii() or not _DICE.fullmatch(dice):
        raise DrawRefused(f"dice value must be exactly the announced number of digits ({count} digits 0–9)")
    return dice


def seed_material(announcement_digest: str, inputs: DrawInputs) -> bytes:
    """The bytes hashed into the seed (SPEC §6), sources in their fixed order."""
    parts = [
        "sunshine-draw/1 seed\n",
        f"announcement {announcement_digest}\n",
        f"secret {inputs.secret}\n",
    ]
    if inputs.dice is not None:
        parts.append(f"dice {inputs.dice}\n")
    if inputs.drand is not None:
        parts.append(f"drand {inputs.drand.round} {inputs.drand.randomness}\n")
    return "".join(parts).encode("ascii")


def compute_seed(announcement_digest: str, inputs: DrawInputs) -> str:
    """`hex(sha256(seed_material))`."""
    return hashlib.sha256(seed_material(announcement_digest, inputs)).hexdigest()


def ticket(seed: str, stage: str, entry_id: str) -> str:
    """`hex(sha256(seed || " " || stage || " " || id))` — one shell line reproduces it."""
    return hashlib.sha256(f"{seed} {stage} {entry_id}".encode()).hexdigest()


def ticket_digests(seed: str, stage: str, ids: Sequence[bytes]) -> list[bytes]:
    """Raw 32-byte tickets for many ids at once (same order as `ids`)."""
    prefix = f"{seed} {stage} ".encode("ascii")
    sha256 = hashlib.sha256
    return [sha256(prefix + entry_id).digest() for entry_id in ids]


def smallest(k: int, tickets: Sequence[bytes], ids: Sequence[bytes]) -> list[int]:
    """Indices of the `k` members with the smallest `(ticket, id)`, in that order."""
    if k <= 0:
        return []
    n = len(tickets)
    if k * 8 < n:
        # Tickets are uniform, so a bound that admits ~2k of them (plus a margin) almost always
        # holds the k smallest; checking that it admitted at least k keeps the answer exact.
        cut = min(2**256 - 1, ((2 * k + 64) * 2**256) // n).to_bytes(32, "big")
        candidates = [i for i, t in enumerate(tickets) if t < cut]
        if len(candidates) >= k:
            candidates.sort(key=lambda i: (tickets[i], ids[i]))
            return candidates[:k]
    return heapq.nsmallest(k, range(n), key=lambda i: (tickets[i], ids[i]))


def select_stage(
    seed: str, stage: Stage, members: Sequence[tuple[bytes, bytes]]
) -> tuple[list[dict[str, Any]], list[tuple[bytes, bytes, bytes]]]:
    """Draw one stage from its from-set `members` (`(id, stratum)` pairs).

    Returns the `groups` list of the result and the picks as `(ticket, id, stratum)` tuples.
    """
    if stage.pooled:
        groups = {POOLED: list(members)}
    else:
        groups = {key: [] for key in stage.quota}
        for member in members:
            bucket = groups.get(member[1].decode("ascii"))
            if bucket is not None:
                bucket.append(member)
    group_docs: list[dict[str, Any]] = []
    picks: list[tuple[bytes, bytes, bytes]] = []
    for key in sorted(groups):
        group = groups[key]
        k = stage.quota[key]
        if k > len(group):
            raise DrawRefused(
                f"a quota exceeds the size of its group: stage {stage.name} asks {k} of group {key}, "
                f"which has {len(group)}"
            )
        ids = [entry_id for entry_id, _ in group]
        tickets = ticket_digests(seed, stage.name, ids)
        chosen = smallest(k, tickets, ids)
        group_docs.append(
            {
                "key": key,
                "quota": k,
                "size": len(group),
                "threshold": tickets[chosen[-1]].hex() if chosen else None,
            }
        )
        picks.extend((tickets[i], ids[i], group[i][1]) for i in chosen)
    picks.sort()
    return group_docs, picks


def run_draw(
    population: Population,
    announcement: Announcement,
    inputs: DrawInputs,
    drawn_at: str,
    *,
    verify_bls: bool = True,
) -> dict[str, Any]:
    """Compute the result document (SPEC §8) from everything published and revealed.

    Raises `DrawRefused` (or another `ProtocolError`) with a one-line reason when the population
    does not match the announcement, the inputs do not match what was announced, or a quota
    cannot be met.
    """
    try:
        check_against_population(announcement, population)
        parse_timestamp(drawn_at, "drawn_at")
    except ProtocolError as exc:
        raise DrawRefused(str(exc)) from None
    check_inputs(announcement, inputs, verify_bls=verify_bls)
    announcement_digest = digest(announcement.document)
    seed = compute_seed(announcement_digest, inputs)
    selected_by_stage: dict[str, list[tuple[bytes, bytes]]] = {
        "population": list(zip(population.ids, population.strata, strict=True))
    }
    stage_docs = []
    for stage in announcement.stages:
        groups, picks = select_stage(seed, stage, selected_by_stage[stage.source])
        selected_by_stage[stage.name] = [(entry_id, stratum) for _, entry_id, stratum in picks]
        stage_docs.append(
            {
                "groups": groups,
                "name": stage.name,
                "selected": [
                    {"id": entry_id.decode(), "rank": rank, "stratum": stratum.decode(), "ticket": t.hex()}
                    for rank, (t, entry_id, stratum) in enumerate(picks, start=1)
                ],
            }
        )
    return {
        "announcement_digest": announcement_digest,
        "draw_id": announcement.draw_id,
        "drawn_at": drawn_at,
        "inputs": inputs.to_json(),
        "protocol": PROTOCOL,
        "seed": seed,
        "stages": stage_docs,
    }
