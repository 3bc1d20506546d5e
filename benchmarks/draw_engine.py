"""Benchmark of the draw engine: 1% drawn from 10k, 100k and 1M synthetic case numbers.

Four ways of drawing (or hashing) the same population, side by side, each timed as the
median of `--runs` runs (3 by default):

- engine: `lottery.draw.run_draw(..., verify_bls=False)` in this process, on a population
  and announcement parsed beforehand: tickets, selection and the result document.
- CLI: the whole `python -m lottery draw` as a subprocess, as an office would run it:
  interpreter start-up, imports, reading and validating `population.tsv`, the announcement
  and the inputs, the draw, and writing the canonical `result.json` to a file. The
  announcement is built with `lottery.announcement.build_announcement`; the inputs are a
  secret and 20 dice, no drand, so no BLS verification time is counted.
- consistent-sampler (PyPI): `sampler(ids, seed=seed, take=k, with_replacement=False)`
  drawing the same number of entries in this process.
- SHA-256 floor: `[hashlib.sha256(i).digest() for i in ids]`, one hash per id and nothing
  else; no draw can hash every id faster in Python.

Peak memory: for the in-process methods, the `tracemalloc` peak of a separate, untimed run
(memory the call allocates, not counting its input); for the CLI, `ru_maxrss` of the CLI
process from `os.wait4` (its whole resident set, interpreter and population included), read
by a tiny launcher process that also times it (see `LAUNCHER`).

    .venv/bin/python benchmarks/draw_engine.py            # full run, writes B1 in docs/benchmarks.md
    .venv/bin/python benchmarks/draw_engine.py --quick    # 10k and 100k only, writes nothing

Timings belong here and in docs/benchmarks.md only; tests run these functions at n=1000 and
check what they select, never how fast.
"""

import argparse
import gc
import hashlib
import heapq
import importlib.metadata
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `lottery` importable
    sys.path.insert(0, str(ROOT))

import consistent_sampler  # noqa: E402

from benchmarks.results import write_section  # noqa: E402
from lottery import engine  # noqa: E402
from lottery.announcement import Announcement, Stage, build_announcement, parse_announcement  # noqa: E402
from lottery.canonical import canonical_json  # noqa: E402
from lottery.draw import DrawInputs, commitment, compute_seed, run_draw  # noqa: E402
from lottery.population import Population, parse_population  # noqa: E402

FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
SHARE = 100  # draw 1 in SHARE, i.e. 1%
DRAWN_AT = "2026-01-15T02:03:04Z"
SECRET = hashlib.sha256(b"sunshine-draw benchmark secret").hexdigest()
DICE = "50104646865477507016"
STRATA = ("regular", "non-regular")
TARGET_ENGINE_OVER_FLOOR = 1.5  # at 1M: engine time <= 1.5 x the SHA-256 floor
TARGET_SAMPLER_OVER_CLI = 6.0  # at 1M: consistent-sampler time >= 6 x the whole CLI


@dataclass
class Workload:
    """One population and draw, with everything each method needs prepared in advance."""

    n: int
    stratified: bool
    folder: Path
    population: Population
    announcement: dict[str, Any]
    parsed: Announcement
    inputs: DrawInputs
    seed: str
    ids: list[bytes] = field(repr=False)
    texts: list[str] = field(repr=False)  # the ids as str, as consistent-sampler takes them
    strata: list[str] = field(repr=False)

    @property
    def quota(self) -> dict[str, int]:
        """The stage's quota: 1% pooled, or 1% of each stratum."""
        return dict(self.announcement["stages"][0]["quota"])

    @property
    def k(self) -> int:
        """How many entries the draw selects in all."""
        return sum(self.quota.values())

    @property
    def label(self) -> str:
        """`pooled` or `stratified`."""
        return "stratified" if self.stratified else "pooled"


def synthetic_ids(n: int) -> list[str]:
    """`114-0000001` … in ascending order (case numbers of year 114)."""
    return [f"114-{i:07d}" for i in range(1, n + 1)]


def stratum_of(position: int) -> str:
    """Every fourth entry is `non-regular`, the others `regular`."""
    return STRATA[1] if position % 4 == 0 else STRATA[0]


def make_workload(n: int, folder: Path, *, stratified: bool = False) -> Workload:
    """Write `population.tsv`, `announcement.json` and `inputs.json` for an n-entry draw."""
    texts = synthetic_ids(n)
    strata = [stratum_of(i) for i in range(1, n + 1)]
    data = "".join(f"{i}\t{s}\n" for i, s in zip(texts, strata, strict=True)).encode("ascii")
    population = parse_population(data)
    if stratified:
        quota = {name: count // SHARE for name, count in population.strata_counts().items()}
    else:
        quota = {"*": n // SHARE}
    announcement = build_announcement(
        draw_id=f"benchmark-{n}",
        title="Benchmark draw",
        office="Benchmark office",
        population=population,
        stages=[Stage(name="review", source="population", quota=quota)],
        commitment=commitment(SECRET),
        dice_count=len(DICE),
        use_drand=False,
        scheduled_at=datetime(2026, 1, 15, 2, 0, tzinfo=UTC),
        announced_at=datetime(2026, 1, 8, 2, 0, tzinfo=UTC),
    )
    inputs = DrawInputs(secret=SECRET, dice=DICE)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "population.tsv").write_bytes(data)
    (folder / "announcement.json").write_bytes(canonical_json(announcement))
    (folder / "inputs.json").write_bytes(canonical_json(inputs.to_json()))
    seed = compute_seed(hashlib.sha256(canonical_json(announcement)).hexdigest(), inputs)
    return Workload(
        n=n,
        stratified=stratified,
        folder=folder,
        population=population,
        announcement=announcement,
        parsed=parse_announcement(announcement),
        inputs=inputs,
        seed=seed,
        ids=population.ids,
        texts=texts,
        strata=strata,
    )


# Each method: a timed call that does the work, and an untimed one that says which ids the
# work selected (in rank order where the method has one).


def engine_run(w: Workload) -> dict[str, Any]:
    """(a) the ticket-and-select engine in this process."""
    return run_draw(w.population, w.parsed, w.inputs, DRAWN_AT, verify_bls=False)


def engine_picks(result: dict[str, Any], w: Workload) -> list[str]:
    """The engine's selection in rank order."""
    return [entry["id"] for entry in result["stages"][0]["selected"]]


def cli_command(w: Workload) -> list[str]:
    """The `python -m lottery draw` command line for this workload."""
    return [
        sys.executable, "-m", "lottery", "draw",
        "--population", str(w.folder / "population.tsv"),
        "--announcement", str(w.folder / "announcement.json"),
        "--inputs", str(w.folder / "inputs.json"),
        "--drawn-at", DRAWN_AT,
    ]  # fmt: skip


#: Runs one command and reports its wall time and peak memory as JSON. The benchmark starts
#: it fresh for every CLI run so that the measured process is forked from this small process:
#: Linux counts the forking parent's resident set into an exec'd child's `ru_maxrss`, which
#: would otherwise add this benchmark's own memory to the CLI's.
LAUNCHER = """
import json, os, subprocess, sys, time
out_path, cwd, *command = sys.argv[1:]
with open(out_path, "wb") as out:
    start = time.perf_counter()
    with subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.PIPE) as proc:
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
print(json.dumps({"seconds": seconds, "max_rss_kib": usage.ru_maxrss, "returncode": proc.returncode,
                  "stderr": stderr.decode(errors="replace")}))
"""


@dataclass
class CliRun:
    """What one `python -m lottery draw` run printed, how long it ran and its peak memory."""

    stdout: bytes
    seconds: float
    max_rss_kib: int


def cli_run(w: Workload) -> CliRun:
    """(b) the whole `python -m lottery draw` process, output written to a file.

    The time is taken by the launcher around starting and reaping the process; the memory is
    the process's `ru_maxrss` from `os.wait4`, which includes the slice processes it forks
    and waits for (the largest of them, not their sum).
    """
    out_path = w.folder / "result.json"
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(out_path), str(ROOT), *cli_command(w)],
        capture_output=True,
        check=True,
    )
    report = json.loads(launched.stdout)
    if report["returncode"] != 0:
        raise RuntimeError(f"python -m lottery draw exited {report['returncode']}: {report['stderr']}")
    return CliRun(stdout=out_path.read_bytes(), seconds=report["seconds"], max_rss_kib=report["max_rss_kib"])


def cli_picks(run: CliRun, w: Workload) -> list[str]:
    """The CLI's selection in rank order."""
    return [entry["id"] for entry in json.loads(run.stdout)["stages"][0]["selected"]]


def sampler_run(w: Workload) -> list[Any]:
    """(c) consistent-sampler drawing the same number of entries (per stratum if stratified)."""
    if not w.stratified:
        return list(consistent_sampler.sampler(w.texts, seed=w.seed, take=w.k, with_replacement=False))
    picks: list[Any] = []
    for name, k in sorted(w.quota.items()):
        members = [i for i, s in zip(w.texts, w.strata, strict=True) if s == name]
        picks.extend(consistent_sampler.sampler(members, seed=w.seed, take=k, with_replacement=False))
    return picks


def sampler_picks(tickets: list[Any], w: Workload) -> list[str]:
    """consistent-sampler's selection (its tuples are `(ticket, id, generation)`)."""
    return [str(t[1]) for t in tickets]


def floor_run(w: Workload) -> list[bytes]:
    """(d) one SHA-256 per id and nothing more: the floor for any draw that hashes every id."""
    return [hashlib.sha256(i).digest() for i in w.ids]


def floor_picks(digests: list[bytes], w: Workload) -> list[str]:
    """The k ids with the smallest plain digests, so the floor "selects" k as well (untimed)."""
    return [i.decode() for _, i in heapq.nsmallest(w.k, zip(digests, w.ids, strict=True))]


@dataclass(frozen=True)
class Method:
    """A way of drawing: table label, the timed call and the untimed selection."""

    key: str
    label: str
    run: Callable[[Workload], Any]
    picks: Callable[[Any, Workload], list[str]]
    in_process: bool = True


METHODS = (
    Method("engine", "(a) engine in-process: `run_draw(verify_bls=False)`", engine_run, engine_picks),
    Method("cli", "(b) whole `python -m lottery draw` process", cli_run, cli_picks, in_process=False),
    Method("sampler", "(c) consistent-sampler in-process", sampler_run, sampler_picks),
    Method("floor", "(d) SHA-256 floor: one `sha256(id)` per id", floor_run, floor_picks),
)


@dataclass
class Measurement:
    """The timings, peak memory and selection of one method on one workload."""

    method: Method
    workload: Workload
    seconds: list[float] = field(default_factory=list)
    peak_bytes: int = 0
    picks: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        """Median of the timed runs."""
        return statistics.median(self.seconds)


def measure(methods: list[Method], w: Workload, runs: int) -> list[Measurement]:
    """Time every method `runs` times, interleaved so that drift hits them alike, then
    measure each in-process method's memory in one more (untimed) run under tracemalloc."""
    results = [Measurement(m, w) for m in methods]
    for _ in range(runs):
        for result in results:
            gc.collect()
            start = time.perf_counter()
            output = result.method.run(w)
            elapsed = time.perf_counter() - start
            if isinstance(output, CliRun):  # timed by the launcher, without its own start-up
                elapsed = output.seconds
                result.peak_bytes = max(result.peak_bytes, output.max_rss_kib * 1024)
            result.seconds.append(elapsed)
            if not result.picks:
                result.picks = result.method.picks(output, w)
            del output
    for result in results:
        if result.method.in_process:
            gc.collect()
            tracemalloc.start()
            try:
                result.method.run(w)
                result.peak_bytes = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    return results


def check_agreement(results: list[Measurement]) -> None:
    """Every method selects k entries; the engine and the CLI select the very same ids."""
    for result in results:
        if len(result.picks) != result.workload.k:
            raise AssertionError(f"{result.method.key} selected {len(result.picks)}, not {result.workload.k}")
    ours = [r.picks for r in results if r.method.key in ("engine", "cli")]
    if any(picks != ours[0] for picks in ours):
        raise AssertionError("the in-process engine and the CLI selected different ids")


def machine() -> dict[str, str]:
    """nproc, CPU model, Python, consistent-sampler version and load, for the record."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": model,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "consistent-sampler": importlib.metadata.version("consistent-sampler"),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a",
        "bytecode": (
            "off (`PYTHONDONTWRITEBYTECODE` is set: every CLI start compiles `lottery/` from source)"
            if os.environ.get("PYTHONDONTWRITEBYTECODE")
            else "on (`__pycache__`)"
        ),
    }


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def table(results: list[Measurement]) -> str:
    """The Markdown table of every measurement."""
    lines = [
        "| n | draw | k | method | median | runs | peak memory |",
        "|---:|---|---:|---|---:|---|---:|",
    ]
    for r in results:
        w = r.workload
        memory = _mib(r.peak_bytes) + (" (RSS)" if not r.method.in_process else "")
        runs = ", ".join(f"{s:.3f}" for s in r.seconds)
        lines.append(f"| {_size(w.n)} | {w.label} | {w.k} | {r.method.label} | {r.median:.3f} s | {runs} | {memory} |")
    return "\n".join(lines)


def ratios(results: list[Measurement]) -> list[str]:
    """The two target ratios at the largest pooled n measured, with verdicts."""
    largest = max(r.workload.n for r in results)
    at = {r.method.key: r.median for r in results if r.workload.n == largest and not r.workload.stratified}
    engine_floor = at["engine"] / at["floor"]
    sampler_cli = at["sampler"] / at["cli"]
    where = "" if largest == 1_000_000 else f" (measured at {_size(largest)}; the targets are about 1M)"
    lines = [
        f"- engine / SHA-256 floor at {_size(largest)}: {at['engine']:.3f} s / {at['floor']:.3f} s = "
        f"**{engine_floor:.2f}×** (target ≤ {TARGET_ENGINE_OVER_FLOOR}×: "
        f"{'met' if engine_floor <= TARGET_ENGINE_OVER_FLOOR else 'NOT met'}){where}",
        f"- consistent-sampler / whole `python -m lottery draw` at {_size(largest)}: {at['sampler']:.3f} s / "
        f"{at['cli']:.3f} s = **{sampler_cli:.1f}×** (target ≥ {TARGET_SAMPLER_OVER_CLI}×: "
        f"{'met' if sampler_cli >= TARGET_SAMPLER_OVER_CLI else 'NOT met'}){where}",
    ]
    return lines


def report(results: list[Measurement], command: str, started: datetime, info: dict[str, str], load_after: str) -> str:
    """Section B1 of docs/benchmarks.md."""
    return f"""## B1 · Draw engine

Generated by `benchmarks/draw_engine.py`; re-run it to refresh this section.

- Command: `{command}` (from the repository's root)
- Date: {started.strftime("%Y-%m-%d %H:%M UTC")}
- Machine: nproc {info["nproc"]}, {info["cpu"]}, {info["python"]}, consistent-sampler {info["consistent-sampler"]}
- Load average (1, 5, 15 min) before: {info["load"]}; after: {load_after} (a shared machine:
  a run far above its neighbours was disturbed; the median keeps it out)
- Bytecode cache: {info["bytecode"]}

Each draw selects 1% of n synthetic case numbers (`114-0000001` …) in one stage: pooled
(`{{"*": k}}`) or stratified (`{{"regular": …, "non-regular": …}}`, every fourth entry
`non-regular`). Times are the median of {len(results[0].seconds)} runs (all runs listed, in seconds).

{table(results)}

### Targets

{chr(10).join(ratios(results))}

### What is measured

- **(a) engine**: `lottery.draw.run_draw(population, announcement, inputs, drawn_at,
  verify_bls=False)` on a population parsed beforehand, in this one process: seed, every
  ticket, the selection and the result document (not its serialisation). It can match the
  floor although each ticket hashes more bytes (`seed stage id`): the 64-byte block holding
  the seed is hashed once per stage and its state copied for each id (CPython's own SHA-256,
  whose copy is cheap), and only tickets below a cut that about 2k pass are kept and sorted.
- **(b) CLI**: `python -m lottery draw --population … --announcement … --inputs …
  --drawn-at …` as a subprocess, stdout to a file: start-up, imports, reading and validating
  all three files, the draw and the canonical `result.json`. The announcement comes from
  `lottery.announcement.build_announcement`; the inputs are a secret and 20 dice (no drand, so
  no BLS verification is counted). From {2 * engine.PARALLEL_MIN_LINES:,} lines on, with two or
  more usable cores, the command reads, checks and hashes the population file in slices, one
  forked process per core (`lottery.engine.run_draw_from_file`); below that, in one process.
- **(c) consistent-sampler**: `consistent_sampler.sampler(ids, seed=seed, take=k,
  with_replacement=False)`, drained, with the draw's seed and the ids as `str`; stratified:
  once per stratum, splitting the list included in the time.
- **(d) SHA-256 floor**: `[hashlib.sha256(i).digest() for i in ids]`, one hash per id and no
  selection at all.
- **Peak memory**: for (a), (c) and (d) the `tracemalloc` peak of one extra, untimed run —
  what the call allocates beyond its already-built input. For (b) `ru_maxrss` of the CLI
  process from `os.wait4` — the whole process: interpreter, file, population and result; it
  includes the slice processes the CLI forks (the largest one, not their sum). A tiny launcher
  process starts the CLI and times it, because Linux would count the resident set of the
  process that forks it (this benchmark) into its `ru_maxrss`.
- Every method selects exactly k entries, and (a) and (b) select identical ids in identical
  order; the benchmark checks both and stops otherwise.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and the ratios, and write section B1 of docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10k and 100k only; writes no file unless --out")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per method (the median is reported)")
    parser.add_argument("--out", help="Markdown file to write (default: docs/benchmarks.md for a full run)")
    parser.add_argument("--no-stratified", action="store_true", help="skip the stratified variant")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    out = args.out or (None if args.quick else str(ROOT / "docs" / "benchmarks.md"))
    python = Path(sys.executable)
    shown_python = os.path.relpath(python, ROOT) if python.is_relative_to(ROOT) else str(python)
    command = shlex.join([shown_python, "benchmarks/draw_engine.py", *(sys.argv[1:] if argv is None else argv)])
    started = datetime.now(UTC)
    info = machine()
    print(f"machine: {info}", flush=True)
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="draw-bench-") as tmp:
        for n in sizes:
            for stratified in (False,) if args.no_stratified else (False, True):
                w = make_workload(n, Path(tmp) / f"{n}-{stratified}", stratified=stratified)
                methods = [m for m in METHODS if not (stratified and m.key == "floor")]  # floor: as pooled
                measured = measure(methods, w, args.runs)
                check_agreement(measured)
                for r in measured:
                    print(f"{_size(n):>5} {w.label:10} {r.method.key:8} {r.median:8.3f} s", flush=True)
                results.extend(measured)
                del w, measured
                gc.collect()
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print()
    print(table(results))
    print()
    print("\n".join(ratios(results)))
    if out:
        write_section("B1", report(results, command, started, info, load_after), Path(out))
        print(f"\nwrote section B1 of {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
