"""The fast engine: `run_draw_from_file` draws straight from the bytes of a large
`population.tsv`, cut into slices that several processes read and hash at once (fork, pipes,
`marshal`), and gives exactly `lottery.draw.run_draw`'s result or refusal — falling back to it
whenever anything is not as announced. `python -m lottery draw` and the bundle verifier use it.
"""

import contextlib
import hashlib
import itertools
import marshal
import os
import sys
from collections import Counter
from typing import Any, NoReturn

from lottery.announcement import POOLED, Announcement, Stage
from lottery.canonical import digest
from lottery.draw import (
    NO_CUT,
    DrawInputs,
    StageResult,
    check_inputs,
    compute_seed,
    group_document,
    result_document,
    run_draw,
    sha256_midstate,
    ticket_cut,
    ticket_prefix,
)
from lottery.errors import ProtocolError
from lottery.population import ascending, parse_population, read_fields
from lottery.timestamps import parse_timestamp


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
    return result_document(announcement, inputs, drawn_at, announcement_digest, seed, lambda stage: drawn[stage.name])


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
            cuts = (ticket_cut(k, announcement.population_size) or NO_CUT) if k else {}
        else:
            quota = {key.encode("ascii"): k for key, k in stage.quota.items()}
            if any(k > sizes.get(key, 0) for key, k in quota.items()):
                return None
            cuts = {key: ticket_cut(k, sizes[key]) or NO_CUT for key, k in quota.items() if k}
        plan.append((ticket_prefix(seed, stage.name), cuts))
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
        group_docs.append(group_document(stage, key, size, chosen))
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
        fresh = sha256_midstate(prefix).copy
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
