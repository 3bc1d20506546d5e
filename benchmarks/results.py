"""Where the benchmarks write: each its own section of docs/benchmarks.md, and the machine it ran on.

`docs/benchmarks.md` holds B1–B5. Each benchmark script replaces only the text between its own
markers (`<!-- B2 begin -->` … `<!-- B2 end -->`), so running one benchmark leaves the others'
figures as they were; a section not yet in the file is added in B1…B5 order.
"""

import os
import platform
import re
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "benchmarks.md"
SECTIONS = ("B1", "B2", "B3", "B4", "B5")
HEADER = """# Benchmarks

`make bench` runs B1–B5 and rewrites this page: each benchmark replaces its own section (between
the `<!-- Bn begin/end -->` markers), with the machine, the date and the exact command. Every
target is a ratio of two things measured side by side in the same run, so a slower or busier
machine moves both; this machine is shared with other work, so each section records the load
average before and after it ran. Timings never appear in tests.

| | what | target |
|---|---|---|
| B1 | draw engine at 1M entries | ≥ 6× faster than consistent-sampler; ≤ 1.5× one SHA-256 per id |
| B2 | `python -m lottery verify` of a 1M-entry bundle | ≤ 2× the engine's draw |
| B3 | the browser verifier (Chromium) on a 100k-entry bundle | ≤ 3× the Python verifier |
| B4 | draw page, `result.json`, `live.json`: 64 connections, 10 s | ≥ 70% of a minimal Flask app; no errors |
| B5 | 1M-row CSV imported, frozen, announced, drawn and exported through the service | < 1 GiB peak; ≤ 5× the engine |
"""


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, for the record."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def machine() -> str:
    """One line: cores, CPU model, memory and Python."""
    model = platform.processor() or "unknown CPU"
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total_kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"nproc {cores}, {model}{memory}, {python}, {platform.system()} {platform.release()}"


def command_line(script: str, argv: list[str] | None = None) -> str:
    """The command as typed from the repository's root."""
    python = Path(sys.executable)
    shown = os.path.relpath(python, ROOT) if python.is_relative_to(ROOT) else str(python)
    return shlex.join([shown, script, *(sys.argv[1:] if argv is None else argv)])


def preamble(command: str, started: datetime, load_before: str) -> str:
    """The lines every section starts with: command, date, machine, load."""
    return (
        f"- Command: `{command}` (from the repository's root)\n"
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"- Machine: {machine()}\n"
        f"- Load average (1, 5, 15 min) before: {load_before}; after: {load_average()}\n"
    )


def now() -> datetime:
    """The present, in UTC."""
    return datetime.now(UTC)


def write_section(name: str, body: str, document: Path = DOCUMENT) -> Path:
    """Replace section `name` of `document` with `body` (adding the section if it is missing)."""
    if name not in SECTIONS:
        raise ValueError(f"unknown section {name}")
    text = document.read_text(encoding="utf-8") if document.exists() else HEADER
    block = f"<!-- {name} begin -->\n{body.strip()}\n<!-- {name} end -->"
    pattern = re.compile(rf"<!-- {name} begin -->.*?<!-- {name} end -->", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        later = [s for s in SECTIONS[SECTIONS.index(name) + 1 :] if f"<!-- {s} begin -->" in text]
        if later:
            at = text.index(f"<!-- {later[0]} begin -->")
            text = text[:at] + block + "\n\n" + text[at:]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    document.parent.mkdir(parents=True, exist_ok=True)
    document.write_text(text, encoding="utf-8")
    return document
