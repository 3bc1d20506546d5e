"""Commitment, seed, tickets, selection and the result document (protocol §5–§8).

Each entry's ticket is `sha256(seed || " " || stage || " " || id)`; a group selects the `k`
members with the smallest `(ticket, id)`. Nothing depends on the order entries arrive in, and
there is no modulo reduction anywhere, so there is no bias.

`run_draw` computes a result from a parsed population. `run_draw_from_file` gives the same
result (or the same refusal) straight from the bytes of `population.tsv`, reading and hashing
slices of a large file in several processes at once; `python -m lottery draw` uses it.
"""

import contextlib
import hashlib
import heapq
import importlib
import itertools
import marshal
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from lottery import PROTOCOL
from lottery.announcement import POOLED, Announcement, Stage, check_against_population
from lottery.canonical import digest
from lottery.drand import Beacon, bls_available, check_randomness, check_signature, parse_beacon
from lottery.errors import DrawRefused, ProtocolError
from lottery.population import Population, ascending, parse_population, read_fields
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
    fresh = _sha256_midstate(_ticket_prefix(seed, stage)).copy
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
    cut = _cut(k, n)
    if cut is not None:
        candidates = [i for i, t in enumerate(tickets) if t < cut]
        if len(candidates) >= k:
            candidates.sort(key=lambda i: (tickets[i], ids[i]))
            return candidates[:k]
    return heapq.nsmallest(k, range(n), key=lambda i: (tickets[i], ids[i]))


def draw_group(seed: str, stage: str, ids: Sequence[bytes], k: int) -> list[tuple[bytes, int]]:
    """The `k` members of one quota group with the smallest `(ticket, id)`, in that order.

    Returns `(ticket, index into ids)` pairs. For a small quota only the tickets below a cut
    that about `2k` members pass are kept (see `_cut`); whenever fewer than `k` pass it, every
    ticket is computed and ranked, so the answer is always exact.
    """
    if k <= 0:
        return []
    cut = _cut(k, len(ids))
    if cut is not None:
        found = _tickets_below(_ticket_prefix(seed, stage), ids, cut)
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
        group_docs.append(_group_doc(stage, key, len(group_ids), chosen))
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
    return _result(
        announcement,
        inputs,
        drawn_at,
        announcement_digest,
        seed,
        lambda stage: select_columns(seed, stage, population.ids, population.strata),
    )


def run_draw_from_file(
    population_data: bytes,
    announcement: Announcement,
    inputs: DrawInputs,
    drawn_at: str,
    *,
    verify_bls: bool = True,
) -> dict[str, Any]:
    """`run_draw(parse_population(population_data), …)`: the same result, the same refusals.

    A large file is cut into slices at line feeds, one per usable core, and each process
    checks its slice's lines, counts its strata and keeps the tickets below each group's cut
    for every stage drawn from the population (`_scan_slice`). Forking before any per-line
    object exists is what makes this pay: each process builds and hashes only its own
    slice's ids, so nothing is copied between processes but the few tickets below the cuts.
    This path never refuses anything itself: whenever something is not exactly as announced
    (format, order, digest, size, strata, inputs, quotas), or a cut admitted too few, it
    falls back to `run_draw(parse_population(…))`, which gives the refusal, or the answer.
    """
    result = draw_in_slices(population_data, announcement, inputs, drawn_at, verify_bls=verify_bls)
    if result is None:
        result = run_draw(parse_population(population_data), announcement, inputs, drawn_at, verify_bls=verify_bls)
    return result


def draw_in_slices(
    population_data: bytes,
    announcement: Announcement,
    inputs: DrawInputs,
    drawn_at: str,
    *,
    verify_bls: bool = True,
) -> dict[str, Any] | None:
    """The fast half of `run_draw_from_file`: the result, or None to parse and draw in one process.

    A result comes back only when the file is large enough to share among the usable cores
    and everything checks out: then the file is canonical, its digest, size and strata are the
    announced ones, and the inputs match the announcement. None says nothing either way
    (`lottery.bundle` uses this to verify a large bundle without parsing it twice).
    """
    slices = min(_usable_cores(), population_data.count(b"\n") // PARALLEL_MIN_LINES)
    if slices < 2:
        return None
    return _run_draw_in_slices(population_data, announcement, inputs, drawn_at, slices, verify_bls)


#: Fewest population lines per process for which `run_draw_from_file` splits the work: below
#: this, starting a process and collecting its answer cost more than a second core saves
#: (measured on two cores: even at about 5 000 lines per process, 10 000 leaves a margin).
PARALLEL_MIN_LINES = 10_000

#: Compares above every 32-byte ticket (it is longer and all 0xff), so everything passes it.
_NO_CUT = b"\xff" * 33


def _result(
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


def _group_doc(stage: Stage, key: str, size: int, chosen: list[tuple[bytes, bytes, bytes]]) -> dict[str, Any]:
    """One entry of a stage's `groups`; `chosen` are the group's picks in rank order."""
    return {
        "key": key,
        "quota": stage.quota[key],
        "size": size,
        "threshold": chosen[-1][0].hex() if chosen else None,
    }


def _ticket_prefix(seed: str, stage: str) -> bytes:
    """`seed || " " || stage || " "`, the part every ticket of a stage starts with."""
    return f"{seed} {stage} ".encode("ascii")


def _sha256_midstate(prefix: bytes) -> "hashlib._Hash":
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


def _cut(k: int, n: int) -> bytes | None:
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
    fresh = _sha256_midstate(prefix).copy
    found: list[tuple[bytes, int]] = []
    append = found.append
    for index, entry_id in enumerate(ids):
        hasher = fresh()
        hasher.update(entry_id)
        t = hasher.digest()
        if t < cut:
            append((t, index))
    return found


#: The cuts of one stage drawn from the population: one cut for everybody (a pooled stage), or
#: a cut per stratum (a stratified stage; strata with a zero quota are left out).
Cuts = bytes | dict[bytes, bytes]

# What one process reports about its slice of the population file (`_scan_slice`), in types
# `marshal` carries: whether its lines are well-formed and ascending, how many lines, its
# first and last id, how many lines each announced stratum has, and per planned stage the
# `(ticket, id, stratum)` of every entry below its group's cut.
SliceScan = tuple[bool, int, bytes, bytes, dict[bytes, int], list[list[tuple[bytes, bytes, bytes]]]]


def _run_draw_in_slices(
    data: bytes, announcement: Announcement, inputs: DrawInputs, drawn_at: str, slices: int, verify_bls: bool
) -> dict[str, Any] | None:
    """`run_draw_from_file` with the population read in `slices` processes, or None to fall back."""
    try:
        parse_timestamp(drawn_at, "drawn_at")
        check_inputs(announcement, inputs, verify_bls=verify_bls)
    except ProtocolError:
        return None  # refused: run_draw says so, after the population's own checks
    announcement_digest = digest(announcement.document)
    seed = compute_seed(announcement_digest, inputs)
    # Group sizes come from the announcement: the draw only goes on if the file matches it.
    sizes = {key.encode("ascii"): count for key, count in announcement.population_strata.items()}
    plan = _population_plan(announcement, sizes, seed)
    bounds = _slice_bounds(data, slices)
    scanned = _scan_in_processes(data, bounds, list(sizes), plan) if plan is not None and bounds else None
    if scanned is None:
        return None
    scans, population_digest = scanned
    counts: Counter[bytes] = Counter()
    for scan in scans:
        counts.update(scan[4])
    if (
        not all(scan[0] for scan in scans)
        or any(before[3] >= after[2] for before, after in itertools.pairwise(scans))  # ids ascend across slices
        or population_digest != announcement.population_digest
        or sum(scan[1] for scan in scans) != announcement.population_size
        or dict(counts) != sizes
    ):
        return None
    drawn: dict[str, StageResult] = {}
    for number, stage in enumerate(stage for stage in announcement.stages if stage.source == "population"):
        stage_result = _select_from_hits(stage, [hit for scan in scans for hit in scan[5][number]], announcement)
        if stage_result is None:
            return None
        drawn[stage.name] = stage_result
    return _result(announcement, inputs, drawn_at, announcement_digest, seed, lambda stage: drawn[stage.name])


def _population_plan(announcement: Announcement, sizes: dict[bytes, int], seed: str) -> list[tuple[bytes, Cuts]] | None:
    """Ticket prefix and cuts of each stage drawn from the population; None if a quota is too big."""
    plan: list[tuple[bytes, Cuts]] = []
    for stage in announcement.stages:
        if stage.source != "population":
            continue
        cuts: Cuts
        if stage.pooled:
            k = stage.quota[POOLED]
            if k > announcement.population_size:
                return None
            cuts = (_cut(k, announcement.population_size) or _NO_CUT) if k else {}
        else:
            quota = {key.encode("ascii"): k for key, k in stage.quota.items()}
            if any(k > sizes.get(key, 0) for key, k in quota.items()):
                return None
            cuts = {key: _cut(k, sizes[key]) or _NO_CUT for key, k in quota.items() if k}
        plan.append((_ticket_prefix(seed, stage.name), cuts))
    return plan


def _slice_bounds(data: bytes, slices: int) -> list[int] | None:
    """Offsets that cut `data` into `slices` non-empty runs of whole lines; None if it cannot."""
    bounds = [0]
    for part in range(1, slices):
        bounds.append(data.find(b"\n", max(bounds[-1], len(data) * part // slices)) + 1)
    bounds.append(len(data))
    return bounds if all(start < stop for start, stop in itertools.pairwise(bounds)) else None


def _select_from_hits(
    stage: Stage, hits: list[tuple[bytes, bytes, bytes]], announcement: Announcement
) -> StageResult | None:
    """A population stage's groups and picks from the `(ticket, id, stratum)` below its cuts.

    None when a group has fewer hits than its quota (its cut admitted too few).
    """
    group_docs: list[dict[str, Any]] = []
    picks: list[tuple[bytes, bytes, bytes]] = []
    for key in sorted(stage.quota):
        if key == POOLED:
            size, members = announcement.population_size, hits
        else:
            stratum = key.encode("ascii")
            size, members = announcement.population_strata.get(key, 0), [hit for hit in hits if hit[2] == stratum]
        k = stage.quota[key]
        if len(members) < k:
            return None
        chosen = sorted(members)[:k]  # by (ticket, id): ids are unique
        group_docs.append(_group_doc(stage, key, size, chosen))
        picks.extend(chosen)
    picks.sort()
    return group_docs, picks


def _scan_slice(chunk: bytes, strata: list[bytes], plan: list[tuple[bytes, Cuts]]) -> SliceScan:
    """Check, count and hash one slice of whole lines of the population file.

    `strata` are the announced strata; `plan` holds, per stage drawn from the population, its
    ticket prefix and its cuts.
    """
    fields = read_fields(chunk)
    ids = fields[0::2] if fields is not None else []
    if fields is None or not ascending(ids):
        return (False, 0, b"", b"", {}, [])
    # Counting `\t<stratum>\n` in the bytes is exact for well-formed lines and needs no
    # per-line stratum objects; a stratum nobody announced shows up as counts that fall short.
    counts = {stratum: chunk.count(b"\t" + stratum + b"\n") for stratum in strata}
    hits: list[list[tuple[bytes, bytes, bytes]]] = []
    for prefix, cuts in plan:
        fresh = _sha256_midstate(prefix).copy
        found: list[tuple[bytes, bytes, bytes]] = []
        append = found.append
        if isinstance(cuts, bytes):  # pooled: one cut, and a stratum is looked up only for a hit
            for index, entry_id in enumerate(ids):
                hasher = fresh()
                hasher.update(entry_id)
                t = hasher.digest()
                if t < cuts:
                    append((t, entry_id, fields[2 * index + 1]))
        else:
            for entry_id, stratum in zip(ids, itertools.islice(fields, 1, None, 2), strict=True):
                cut = cuts.get(stratum)
                if cut is None:
                    continue
                hasher = fresh()
                hasher.update(entry_id)
                t = hasher.digest()
                if t < cut:
                    append((t, entry_id, stratum))
        hits.append(found)
    return (True, len(ids), ids[0], ids[-1], counts, hits)


def _usable_cores() -> int:
    """How many processes a large population file may be read in (1: do not fork).

    Forking is only done where it is safe and cheap: on POSIX, and never while other threads
    run (a forked child would inherit their locks in whatever state they are in).
    """
    if not hasattr(os, "fork"):
        return 1
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _scan_in_processes(
    data: bytes, bounds: list[int], strata: list[bytes], plan: list[tuple[bytes, Cuts]]
) -> tuple[list[SliceScan], str] | None:
    """Scan every slice `data[bounds[i]:bounds[i + 1]]` at once, and the file's digest.

    The first slice is scanned here, the others in forked children; the SHA-256 of the whole
    file is computed here too while the children finish. Children send their `SliceScan`
    back through a pipe with `marshal` (our own data, from our own fork). Python's hashing
    holds the GIL for short inputs, so threads could not do this. Returns None when a child
    cannot be started or fails, and the caller then draws in this process alone.
    """
    children: list[tuple[int, int]] = []  # pid, read end of its pipe
    try:
        for start, stop in itertools.pairwise(bounds[1:]):
            read_fd, write_fd = os.pipe()
            try:
                pid = os.fork()
            except OSError:
                os.close(read_fd)
                os.close(write_fd)
                raise
            if pid == 0:
                _scan_in_child(data[start:stop], strata, plan, read_fd, write_fd)
            os.close(write_fd)
            children.append((pid, read_fd))
        scans = [_scan_slice(data[bounds[0] : bounds[1]], strata, plan)]
        population_digest = hashlib.sha256(data).hexdigest()
        failed = False
        while children:
            pid, read_fd = children[0]
            with os.fdopen(read_fd, "rb") as pipe:
                payload = pipe.read()
            children.pop(0)
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                failed = True
            elif not failed:
                scans.append(marshal.loads(payload))  # noqa: S302 (our own child's answer)
    except OSError:  # out of processes, memory or descriptors is no reason to fail a draw
        return None
    finally:
        for pid, read_fd in children:  # left only after an exception: reap, leave no zombie
            with contextlib.suppress(OSError):
                os.close(read_fd)
            os.waitpid(pid, 0)
    return None if failed else (scans, population_digest)


def _scan_in_child(
    chunk: bytes, strata: list[bytes], plan: list[tuple[bytes, Cuts]], read_fd: int, write_fd: int
) -> NoReturn:
    """A forked child's whole life: scan one slice, write the answer, exit."""
    status = 1
    try:
        os.close(read_fd)
        payload = marshal.dumps(_scan_slice(chunk, strata, plan))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)  # never return into the parent's code, and skip its exit handlers
