"""B2: `python -m lottery verify` of a million-entry bundle, against the engine's draw of it.

The bundle is built with lottery's own functions, as the service builds one: a population of
n synthetic case numbers (`114-0000001` …, every fourth `non-regular`), an announcement drawing
1% of them pooled (`lottery.announcement.build_announcement`), the result (`run_draw`), both
signed with a freshly generated Ed25519 key (`generate_signer`, `sign_document`), the key's
vkey, a checkpoint of a two-entry log holding the draw's `draw.announced` and `draw.completed`
entries (`sign_checkpoint`) and their inclusion proofs, zipped with deflate as `bundle.zip`.
Its randomness is a secret and 20 dice, with no drand round, so the figure is the verifier's
own work: checking the drand round's BLS signature (pure-Python `py_ecc`) takes the same
~0.5 s whatever the size, and is measured separately on the same bundle drawn with the real
round 657413.

Side by side, each the median of `--runs` runs:

- engine: `lottery.draw.run_draw(..., verify_bls=False)` in this process, on the population
  and announcement parsed beforehand (B1's engine);
- draw CLI: the whole `python -m lottery draw` process on the same files (B1's CLI);
- verify CLI: the whole `python -m lottery verify bundle.zip` process, which must print
  `VERIFIED` and exit 0; and the same with the drand round.

    .venv/bin/python benchmarks/verify_bundle.py               # 1M entries, writes section B2
    .venv/bin/python benchmarks/verify_bundle.py --entries 100000 --no-write
"""

import argparse
import base64
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `lottery` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.draw_engine import LAUNCHER  # noqa: E402
from benchmarks.results import command_line, load_average, now, preamble, write_section  # noqa: E402
from lottery.announcement import Stage, build_announcement, parse_announcement  # noqa: E402
from lottery.canonical import canonical_json, digest  # noqa: E402
from lottery.checkpoint import Checkpoint, sign_checkpoint  # noqa: E402
from lottery.drand import Beacon, round_time  # noqa: E402
from lottery.draw import DrawInputs, commitment, run_draw  # noqa: E402
from lottery.merkle import inclusion_proof, leaf_hash, tree_hash  # noqa: E402
from lottery.population import Population, parse_population  # noqa: E402
from lottery.signing import generate_signer, sign_document  # noqa: E402

DEFAULT_ENTRIES = 1_000_000
SHARE = 100  # 1% drawn, as in B1
SECRET = hashlib.sha256(b"sunshine-draw verify benchmark secret").hexdigest()
DICE = "50104646865477507016"
DRAWN_AT = "2026-01-15T02:03:04Z"
ORIGIN = "benchmark.example/draws"
TARGET = 2.0
#: The recorded quicknet round of protocol §5 (the verifier checks its BLS signature).
DRAND = Beacon(
    657413,
    "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587",
    "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b",
)


@dataclass
class Bundle:
    """A bundle on disk, and what the engine needs to draw it again."""

    folder: Path
    zip_path: Path
    population: Population
    announcement: dict[str, Any]
    inputs: DrawInputs
    drawn_at: str


def population_bytes(n: int) -> bytes:
    """n synthetic case numbers in canonical order, every fourth `non-regular`."""
    return "".join(f"114-{i:07d}\t{'non-regular' if i % 4 == 0 else 'regular'}\n" for i in range(1, n + 1)).encode(
        "ascii"
    )


def build_bundle(n: int, folder: Path, *, drand: bool = False, population: Population | None = None) -> Bundle:
    """Write a complete, signed bundle of an n-entry draw to `folder` (files and `bundle.zip`)."""
    population = population or parse_population(population_bytes(n))
    if drand:
        scheduled = datetime.fromtimestamp(round_time(DRAND.round), UTC)
        drawn_at = (scheduled + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    else:
        scheduled, drawn_at = datetime(2026, 1, 15, 2, 0, tzinfo=UTC), DRAWN_AT
    announcement = build_announcement(
        draw_id=f"benchmark-{n}" + ("-drand" if drand else ""),
        title="Benchmark draw",
        office="Benchmark office",
        population=population,
        stages=[Stage(name="review", source="population", quota={"*": max(1, n // SHARE)})],
        commitment=commitment(SECRET),
        dice_count=len(DICE),
        use_drand=drand,
        scheduled_at=scheduled,
        announced_at=scheduled - timedelta(days=7),
    )
    inputs = DrawInputs(secret=SECRET, dice=DICE, drand=DRAND if drand else None)
    result = run_draw(population, parse_announcement(announcement), inputs, drawn_at, verify_bls=False)
    signer = generate_signer(ORIGIN)
    announcement_bytes, result_bytes = canonical_json(announcement), canonical_json(result)
    entries = [
        canonical_json(
            {
                "type": "draw.announced",
                "time": announcement["announced_at"],
                "draw_id": announcement["draw_id"],
                "announcement_digest": digest(announcement),
                "population_digest": population.digest,
            }
        ),
        canonical_json(
            {
                "type": "draw.completed",
                "time": drawn_at,
                "draw_id": announcement["draw_id"],
                "result_digest": hashlib.sha256(result_bytes).hexdigest(),
            }
        ),
    ]
    leaves = [leaf_hash(entry) for entry in entries]
    checkpoint = sign_checkpoint(signer, Checkpoint(ORIGIN, len(leaves), tree_hash(leaves)))
    proofs = [
        {
            "index": index,
            "size": len(leaves),
            "entry": entry.decode("utf-8"),
            "path": [base64.b64encode(node).decode("ascii") for node in inclusion_proof(index, leaves)],
        }
        for index, entry in enumerate(entries)
    ]
    files = {
        "population.tsv": population.data,
        "announcement.json": announcement_bytes,
        "announcement.json.sig": sign_document(signer, announcement_bytes),
        "result.json": result_bytes,
        "result.json.sig": sign_document(signer, result_bytes),
        "office.vkey": (signer.verifier.vkey + "\n").encode("ascii"),
        "checkpoint": checkpoint.encode("utf-8"),
        "inclusion.json": json.dumps(proofs, indent=1).encode("utf-8"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "inputs.json").write_bytes(canonical_json(inputs.to_json()))
    zip_path = folder / "bundle.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(f"{announcement['draw_id']}/{name}", data)
    return Bundle(folder, zip_path, population, announcement, inputs, drawn_at)


@dataclass
class Timed:
    """Runs of one method: seconds each, and the peak memory of a process method."""

    seconds: list[float]
    max_rss_kib: int = 0

    @property
    def median(self) -> float:
        """The median run."""
        return statistics.median(self.seconds)


def launch(command: list[str], out_path: Path) -> tuple[float, int, int, str]:
    """Run a command through B1's launcher: seconds, ru_maxrss KiB, exit code, stderr."""
    launched = subprocess.run(
        [sys.executable, "-c", LAUNCHER, str(out_path), str(ROOT), *command], capture_output=True, check=True
    )
    report = json.loads(launched.stdout)
    return report["seconds"], report["max_rss_kib"], report["returncode"], report["stderr"]


def time_engine(bundle: Bundle, runs: int) -> Timed:
    """The engine in this process, on the population and announcement parsed beforehand."""
    parsed = parse_announcement(bundle.announcement)
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        run_draw(bundle.population, parsed, bundle.inputs, bundle.drawn_at, verify_bls=False)
        seconds.append(time.perf_counter() - began)
    return Timed(seconds)


def time_draw_cli(bundle: Bundle, runs: int) -> Timed:
    """The whole `python -m lottery draw` process."""
    command = [
        sys.executable, "-m", "lottery", "draw",
        "--population", str(bundle.folder / "population.tsv"),
        "--announcement", str(bundle.folder / "announcement.json"),
        "--inputs", str(bundle.folder / "inputs.json"),
        "--drawn-at", bundle.drawn_at,
    ]  # fmt: skip
    timed = Timed([])
    for _ in range(runs):
        seconds, rss, code, stderr = launch(command, bundle.folder / "drawn.json")
        if code != 0:
            raise RuntimeError(f"python -m lottery draw exited {code}: {stderr}")
        if (bundle.folder / "drawn.json").read_bytes() != (bundle.folder / "result.json").read_bytes():
            raise RuntimeError("python -m lottery draw printed another result")
        timed.seconds.append(seconds)
        timed.max_rss_kib = max(timed.max_rss_kib, rss)
    return timed


def time_verify_cli(bundle: Bundle, runs: int) -> Timed:
    """The whole `python -m lottery verify bundle.zip` process; it must say VERIFIED."""
    command = [sys.executable, "-m", "lottery", "verify", str(bundle.zip_path)]
    timed = Timed([])
    out = bundle.folder / "verify.txt"
    for _ in range(runs):
        seconds, rss, code, stderr = launch(command, out)
        printed = out.read_text(encoding="utf-8")
        if code != 0 or "VERIFIED: every check passed" not in printed:
            raise RuntimeError(f"python -m lottery verify exited {code}: {printed[-2000:]} {stderr}")
        timed.seconds.append(seconds)
        timed.max_rss_kib = max(timed.max_rss_kib, rss)
    return timed


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def report(
    n: int, measured: dict[str, Timed], bundle: Bundle, command: str, started: datetime, load_before: str
) -> str:
    """Section B2 of docs/benchmarks.md."""
    engine = measured["engine"].median
    rows = [
        ("engine in-process: `run_draw(verify_bls=False)`", "engine", ""),
        ("whole `python -m lottery draw` process", "draw", ""),
        ("whole `python -m lottery verify bundle.zip` process (secret + dice)", "verify", ""),
        ("the same, drawn with drand round 657413 (BLS signature checked)", "verify-drand", ""),
    ]
    lines = ["| method | median | runs | peak memory (RSS) | / engine |", "|---|---:|---|---:|---:|"]
    for label, key, _ in rows:
        timed = measured[key]
        runs = ", ".join(f"{s:.3f}" for s in timed.seconds)
        memory = f"{timed.max_rss_kib / 1024:.0f} MiB" if timed.max_rss_kib else "—"
        lines.append(f"| {label} | {timed.median:.3f} s | {runs} | {memory} | {timed.median / engine:.2f}× |")
    verify = measured["verify"].median
    ratio = verify / engine
    verdict = "met" if ratio <= TARGET else "NOT met"
    return f"""## B2 · `python -m lottery verify` of a {_size(n)}-entry bundle

Generated by `benchmarks/verify_bundle.py`.

{preamble(command, started, load_before)}
The bundle: {n:,} entries, 1% drawn ({n // SHARE:,}), secret and 20 dice, no drand; every file
built with lottery's own functions and signed with a key generated for the run (see the
script's docstring); `bundle.zip` is {bundle.zip_path.stat().st_size / 2**20:.1f} MiB. Times are
the median of {len(measured["engine"].seconds)} runs; memory is `ru_maxrss` of the process.

{chr(10).join(lines)}

### Target

- verify / engine at {_size(n)}: {verify:.3f} s / {engine:.3f} s = **{ratio:.2f}×** (target ≤ {TARGET:.0f}×: {verdict})
- verify / the whole draw CLI: {verify / measured["draw"].median:.2f}× (both whole processes, start-up included)
- with the drand round, the BLS check (pure-Python `py_ecc`) adds
  {measured["verify-drand"].median - verify:.2f} s whatever the size, so that bundle verifies in
  {measured["verify-drand"].median / engine:.2f}× the engine's draw.

### What the verifier does

Start-up and imports; read and inflate the zip; check the population file (format, order,
digest, size and strata against the announcement), both signatures, the result's canonical form
and inputs, recompute the seed, every ticket and the selection, compare the result's bytes, and
check the checkpoint and both inclusion proofs. A large honest population is read, checked and
hashed in slices by one process per core (`lottery.engine.draw_in_slices`, as the draw CLI does);
anything not as announced is checked again one step at a time, to say what is wrong. On this
two-core machine the other core may be busy with other work: the load average is above.
"""


def main(argv: list[str] | None = None) -> int:
    """Run B2 and write its section of docs/benchmarks.md."""
    arguments = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(arguments)
    started, load_before = now(), load_average()
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as tmp:
        bundle = build_bundle(args.entries, Path(tmp) / "plain")
        with_drand = build_bundle(args.entries, Path(tmp) / "drand", drand=True, population=bundle.population)
        measured = {
            "engine": time_engine(bundle, args.runs),
            "draw": time_draw_cli(bundle, args.runs),
            "verify": time_verify_cli(bundle, args.runs),
            "verify-drand": time_verify_cli(with_drand, args.runs),
        }
        for key, timed in measured.items():
            print(f"{key:13} {timed.median:8.3f} s  {', '.join(f'{s:.3f}' for s in timed.seconds)}", flush=True)
        section = report(
            args.entries,
            measured,
            bundle,
            command_line("benchmarks/verify_bundle.py", arguments),
            started,
            load_before,
        )
    if args.no_write:
        print(section)
    else:
        print(f"wrote section B2 of {write_section('B2', section)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
