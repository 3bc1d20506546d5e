"""Commitment, seed, tickets, selection and the result document (protocol §5–§8): the rule.

Each entry's ticket is `sha256(seed || " " || stage || " " || id)`; a group selects the `k`
members with the smallest `(ticket, id)`. Nothing depends on the order entries arrive in, and
there is no modulo reduction anywhere, so there is no bias.

`run_draw` computes a result from a parsed population. `lottery.engine.run_draw_from_file`
gives the same result (or the same refusal) straight from the bytes of `population.tsv`,
reading and hashing slices of a large file in several processes at once.
"""

import hashlib
import heapq
import importlib
import re
from collections.abc import Callable, Sequence
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
    """The values revealed during the live draw (protocol §5)."""

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
    """`hex(sha256("sunshine-draw/1 commitment\\n" || secret_hex))` (protocol §4)."""
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
    """The bytes hashed into the seed (protocol §6), sources in their fixed order."""
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
    fresh = sha256_midstate(ticket_prefix(seed, stage)).copy
    tickets: list[bytes] = []
    append = tickets.append
    for entry_id in ids:
        hasher = fresh()
        hasher.update(entry_id)
        append(hasher.digest())
    return tickets


def smallest(k: int, tickets: Sequence[bytes], ids: Sequence[bytes]) -> list[int]:
    """Indices of the `k` members with the smallest `(ticket, id)`, in that order."""
    if k <= 0:
        return []
    n = len(tickets)
    cut = ticket_cut(k, n)
    if cut is not None:
        candidates = [i for i, t in enumerate(tickets) if t < cut]
        if len(candidates) >= k:
            candidates.sort(key=lambda i: (tickets[i], ids[i]))
            return candidates[:k]
    return heapq.nsmallest(k, range(n), key=lambda i: (tickets[i], ids[i]))


def draw_group(seed: str, stage: str, ids: Sequence[bytes], k: int) -> list[tuple[bytes, int]]:
    """The `k` members of one quota group with the smallest `(ticket, id)`, in that order.

    Returns `(ticket, index into ids)` pairs. For a small quota only the tickets below a cut
    that about `2k` members pass are kept (see `ticket_cut`); whenever fewer than `k` pass it, every
    ticket is computed and ranked, so the answer is always exact.
    """
    if k <= 0:
        return []
    cut = ticket_cut(k, len(ids))
    if cut is not None:
        found = _tickets_below(ticket_prefix(seed, stage), ids, cut)
        if len(found) >= k:
            ranked = sorted((t, ids[i], i) for t, i in found)
            return [(t, i) for t, _, i in ranked[:k]]
    tickets = ticket_digests(seed, stage, ids)
    return [(tickets[i], i) for i in smallest(k, tickets, ids)]


#: A drawn stage: its `groups` as the result lists them, and its picks as sorted
#: `(ticket, id, stratum)` tuples.
StageResult = tuple[list[dict[str, Any]], list[tuple[bytes, bytes, bytes]]]


def select_stage(seed: str, stage: Stage, members: Sequence[tuple[bytes, bytes]]) -> StageResult:
    """Draw one stage from its from-set `members` (`(id, stratum)` pairs).

    Returns the `groups` list of the result and the picks as `(ticket, id, stratum)` tuples.
    """
    return select_columns(seed, stage, [m[0] for m in members], [m[1] for m in members])


def select_columns(seed: str, stage: Stage, ids: Sequence[bytes], strata: Sequence[bytes]) -> StageResult:
    """`select_stage` for a from-set given as parallel `ids` and `strata` lists.

    This is the form `run_draw` keeps its from-sets in: a population's columns are used as
    they are, without building a million `(id, stratum)` pairs first.
    """
    groups: dict[str, tuple[Sequence[bytes], Sequence[bytes]]]
    if stage.pooled:
        groups = {POOLED: (ids, strata)}
    else:
        buckets: dict[bytes, list[bytes]] = {key.encode("ascii"): [] for key in stage.quota}
        for entry_id, stratum in zip(ids, strata, strict=True):
            bucket = buckets.get(stratum)
            if bucket is not None:
                bucket.append(entry_id)
        # Every member of a stratum's group has that stratum, so one shared value stands in
        # for the group's stratum column.
        groups = {key.decode("ascii"): (members, [key] * len(members)) for key, members in buckets.items()}
    group_docs: list[dict[str, Any]] = []
    picks: list[tuple[bytes, bytes, bytes]] = []
    for key in sorted(groups):
        group_ids, group_strata = groups[key]
        _check_quota(stage, key, len(group_ids))
        chosen = [
            (t, group_ids[i], group_strata[i]) for t, i in draw_group(seed, stage.name, group_ids, stage.quota[key])
        ]
        group_docs.append(group_document(stage, key, len(group_ids), chosen))
        picks.extend(chosen)
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
    """Compute the result document (protocol §8) from everything published and revealed.

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
    return result_document(
        announcement,
        inputs,
        drawn_at,
        announcement_digest,
        seed,
        lambda stage: select_columns(seed, stage, population.ids, population.strata),
    )


#: Compares above every 32-byte ticket (it is longer and all 0xff), so everything passes it.
NO_CUT = b"\xff" * 33


def result_document(
    announcement: Announcement,
    inputs: DrawInputs,
    drawn_at: str,
    announcement_digest: str,
    seed: str,
    from_population: Callable[[Stage], StageResult],
) -> dict[str, Any]:
    """Draw every stage in order and assemble the result document.

    `from_population` draws a stage whose from-set is the whole population; later stages
    draw from an earlier stage's picks.
    """
    # Each earlier stage's picks as parallel (ids, strata) lists, the form select_columns takes.
    selected_by_stage: dict[str, tuple[list[bytes], list[bytes]]] = {}
    stage_docs = []
    for stage in announcement.stages:
        if stage.source == "population":
            groups, picks = from_population(stage)
        else:
            groups, picks = select_columns(seed, stage, *selected_by_stage[stage.source])
        selected_by_stage[stage.name] = ([entry_id for _, entry_id, _ in picks], [stratum for _, _, stratum in picks])
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


def _check_quota(stage: Stage, key: str, size: int) -> None:
    """Refuse a quota larger than its group."""
    if stage.quota[key] > size:
        raise DrawRefused(
            f"a quota exceeds the size of its group: stage {stage.name} asks {stage.quota[key]} of group {key}, "
            f"which has {size}"
        )


def group_document(stage: Stage, key: str, size: int, chosen: list[tuple[bytes, bytes, bytes]]) -> dict[str, Any]:
    """One entry of a stage's `groups`; `chosen` are the group's picks in rank order."""
    return {
        "key": key,
        "quota": stage.quota[key],
        "size": size,
        "threshold": chosen[-1][0].hex() if chosen else None,
    }


def ticket_prefix(seed: str, stage: str) -> bytes:
    """`seed || " " || stage || " "`, the part every ticket of a stage starts with."""
    return f"{seed} {stage} ".encode("ascii")


def sha256_midstate(prefix: bytes) -> "hashlib._Hash":
    """A SHA-256 object that has absorbed `prefix`, to be `.copy()`-ed once per id.

    The prefix (64-hex seed, stage name) is at least 67 bytes, so its first 64-byte block is
    compressed once here instead of once per ticket, and each ticket costs one `copy`, one
    `update` with the short id and one `digest`. CPython's own SHA-256 (`_sha256`; `_sha2`
    from 3.12) is preferred to OpenSSL's for this: its `copy` is a plain struct copy, which
    makes it ~20% faster on short inputs than OpenSSL's context duplication. The digests are
    the same either way; only the speed differs.
    """
    return _SHA256(prefix)


def _builtin_sha256() -> "Callable[[bytes], hashlib._Hash]":
    """CPython's built-in SHA-256 constructor, or hashlib's where a build leaves it out."""
    for name in ("_sha256", "_sha2"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        constructor: Callable[[bytes], hashlib._Hash] = module.sha256
        return constructor
    return hashlib.sha256


_SHA256 = _builtin_sha256()


def ticket_cut(k: int, n: int) -> bytes | None:
    """A ticket bound that about `2k + 64` of `n` uniform tickets fall below, or None.

    Tickets are uniform, so the `k` smallest are almost always below it; keeping only those
    avoids holding and sorting every ticket. None when `k` is too large a share for a cut
    to help (`8k >= n`).
    """
    if k * 8 >= n:
        return None
    return min(2**256 - 1, ((2 * k + 64) * 2**256) // n).to_bytes(32, "big")


def _tickets_below(prefix: bytes, ids: Sequence[bytes], cut: bytes) -> list[tuple[bytes, int]]:
    """`(ticket, index)` of each member of `ids` whose ticket is below `cut`."""
    fresh = sha256_midstate(prefix).copy
    found: list[tuple[bytes, int]] = []
    append = found.append
    for index, entry_id in enumerate(ids):
        hasher = fresh()
        hasher.update(entry_id)
        t = hasher.digest()
        if t < cut:
            append((t, index))
    return found
