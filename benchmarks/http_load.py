"""B4: the public draw page, result.json and live.json under 64 connections, against a minimal Flask app.

A fresh deployment (SQLite, as `make run` has it) is built through the real services with the
reliability harness (`tests/reliability/harness.py`: `prepare_deployment`, then the demo year's
draw announced, drawn and revealed). Two gunicorn servers run with the project's
`gunicorn.conf.py` (2 gthread workers × 4 threads, `--preload`, the access log to a file), on
loopback ports: the application (`wsgi:app`) and `benchmarks/minimal_app.py` (one route, a
13-byte body). wrk (Debian's, `apt-get install wrk`; `make bench` installs it) then loads one
address at a time, each for `--seconds` with 64 connections over 2 threads:

    minimal app /hello, then /draws/<id>, /draws/<id>/result.json, /draws/<id>/live.json,
    the minimal app again, and live.json as a signed-in browser asks for it (a session cookie:
    every request reaches the application; for comparison, no target).

The minimal app's throughput is the mean of its two runs. Each address is asked once before
its run (as the first viewer would). Loopback only; every run stops by itself.

    .venv/bin/python benchmarks/http_load.py                # writes section B4
    .venv/bin/python benchmarks/http_load.py --seconds 3 --no-write
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `service` and `tests` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.results import command_line, load_average, now, preamble, write_section  # noqa: E402

CONNECTIONS = 64
THREADS = 2
TARGET = 0.70
DRAW_ID = "kinmen-114-annual"


@dataclass
class Load:
    """What wrk reported for one address."""

    label: str
    path: str
    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    bytes_per_response: int

    @property
    def error_text(self) -> str:
        """`0`, or how many."""
        return str(self.errors)


def free_port() -> int:
    """A loopback port nobody listens on (never 8000)."""
    from tests.reliability.harness import free_port as harness_free_port

    port = harness_free_port()
    return port if port != 8000 else free_port()


@contextmanager
def gunicorn(app: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """gunicorn with the project's settings serving `app` on a loopback port; its base URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
        "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log), app,
    ]  # fmt: skip
    with log.with_suffix(".err").open("ab") as errors:
        process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=errors, stderr=errors)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn for {app} exited; see {log.with_suffix('.err')}")
            try:
                with urllib.request.urlopen(base + "/", timeout=1):  # noqa: S310 (loopback)
                    break
            except urllib.error.HTTPError:
                break  # it answers (404 is an answer)
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn for {app} did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(label: str, base: str, path: str, seconds: float, headers: dict[str, str] | None = None) -> Load:
    """One wrk run against `base + path`; refuses anything but loopback."""
    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("the load runs on this machine's loopback only")
    with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers or {}), timeout=30) as answer:  # noqa: S310
        size = len(answer.read())
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    completed = subprocess.run(
        [*command, base + path], capture_output=True, text=True, check=True, timeout=seconds + 60
    )
    out = completed.stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if done is None or rate is None:
        raise RuntimeError(f"cannot read wrk's report:\n{out}\n{completed.stderr}")
    latencies = {q: float(v) * _UNITS[u] for q, v, u in _LATENCY.findall(out)}
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non_2xx.group(1)) if non_2xx else 0
    elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    load = Load(
        label, path, int(done.group(1)), elapsed, float(rate.group(1)), latencies["50"], latencies["99"], errors, size
    )
    print(
        f"{label:45} {load.rate:9.0f}/s  p50 {load.p50_ms:7.2f} ms  p99 {load.p99_ms:7.2f} ms  errors {errors}",
        flush=True,
    )
    return load


def deployment(folder: Path) -> dict[str, str]:
    """A fresh SQLite deployment in `folder` with the demo year's draw completed and revealed."""
    from tests.reliability.harness import environment, prepare_deployment
    from tests.reliability.test_load import complete_demo_draw

    env = environment(f"sqlite:///{folder / 'bench.db'}", folder)
    prepare_deployment(env, draft=False)
    complete_demo_draw(env)
    return env


def table(loads: list[Load], baseline: float) -> str:
    """The Markdown table."""
    lines = [
        "| address | body | requests | throughput | vs minimal app | p50 | p99 | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for load in loads:
        lines.append(
            f"| {load.label} | {load.bytes_per_response:,} B | {load.requests:,} | {load.rate:,.0f}/s "
            f"| {load.rate / baseline:.0%} | {load.p50_ms:.2f} ms | {load.p99_ms:.2f} ms | {load.error_text} |"
        )
    return "\n".join(lines)


def report(loads: dict[str, Load], seconds: float, command: str, started: Any, load_before: str) -> str:
    """Section B4 of docs/benchmarks.md."""
    baseline = (loads["minimal"].rate + loads["minimal-again"].rate) / 2
    verdicts = []
    for key in ("page", "result", "live"):
        load = loads[key]
        share = load.rate / baseline
        ok = share >= TARGET and load.errors == 0
        verdicts.append(
            f"- {load.label}: {load.rate:,.0f}/s = **{share:.0%}** of the minimal app ({baseline:,.0f}/s), "
            f"{load.errors} errors, p99 {load.p99_ms:.1f} ms (target ≥ {TARGET:.0%} and no error: "
            f"{'met' if ok else 'NOT met'})"
        )
    ordered = [loads[k] for k in ("minimal", "page", "result", "live", "minimal-again", "live-signed-in")]
    return f"""## B4 · The public site under a crowd

Generated by `benchmarks/http_load.py`.

{preamble(command, started, load_before)}- Load: wrk {_wrk_version()}, {CONNECTIONS} connections over {THREADS} threads,
  {seconds:g} s per address, one address at a time, on loopback; servers and wrk share the cores.
- Servers: gunicorn with `gunicorn.conf.py` (2 gthread workers × 4 threads, `--preload`), the
  access log written to a file; the application on a fresh SQLite deployment with the demo
  year's draw (244 declarations) completed and revealed, and `benchmarks/minimal_app.py`.

{table(ordered, baseline)}

### Target

{chr(10).join(verdicts)}

### Why they keep up

Each worker keeps the answers to `GET /draws/…` for visitors without a session in memory
(`public_site/cache.py`) and serves them without running the application: published documents
for as long as the process lives (they never change), the stage display's state for 0.25 s and
the pages for 2 s; a change committed in a worker drops its kept answers at once, and the
others' expire by themselves, so the stage display follows the console within a second.
Conditional requests get `304` from the kept ETag. The last row is what a signed-in visitor's
browser gets, every request through Flask, the session and the database.
"""


def _wrk_version() -> str:
    completed = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"wrk (\S+)", completed.stdout + completed.stderr)
    return match.group(1) if match else "?"


def main(argv: list[str] | None = None) -> int:
    """Run B4 and write its section of docs/benchmarks.md."""
    arguments = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true", help="print the section instead of writing it")
    args = parser.parse_args(arguments)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (make bench does)", file=sys.stderr)
        return 1
    started, load_before = now(), load_average()
    loads: dict[str, Load] = {}
    with tempfile.TemporaryDirectory(prefix="http-bench-") as tmp:
        folder = Path(tmp)
        env = deployment(folder)
        with (
            gunicorn("benchmarks.minimal_app:app", env, folder / "minimal.log") as minimal,
            gunicorn("wsgi:app", env, folder / "app.log") as site,
        ):
            loads["minimal"] = run_wrk("minimal Flask app `/hello`", minimal, "/hello", args.seconds)
            loads["page"] = run_wrk("draw page `/draws/<id>`", site, f"/draws/{DRAW_ID}", args.seconds)
            loads["result"] = run_wrk("`/draws/<id>/result.json`", site, f"/draws/{DRAW_ID}/result.json", args.seconds)
            loads["live"] = run_wrk("`/draws/<id>/live.json`", site, f"/draws/{DRAW_ID}/live.json", args.seconds)
            loads["minimal-again"] = run_wrk("minimal Flask app `/hello`, again", minimal, "/hello", args.seconds)
            loads["live-signed-in"] = run_wrk(
                "`live.json` with a session cookie (no target)",
                site,
                f"/draws/{DRAW_ID}/live.json",
                args.seconds,
                headers={"Cookie": "session=not-a-real-session"},
            )
    section = report(loads, args.seconds, command_line("benchmarks/http_load.py", arguments), started, load_before)
    if args.no_write:
        print(section)
    else:
        print(f"wrote section B4 of {write_section('B4', section)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
