"""Every known-answer case of tests/vectors (docs/protocol.md), through the library and through the CLI."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lottery.announcement import parse_announcement
from lottery.canonical import canonical_json, load_json
from lottery.draw import parse_inputs, run_draw
from lottery.errors import ProofError, ProtocolError
from lottery.merkle import verify_consistency, verify_inclusion
from lottery.population import parse_population

VECTORS = Path(__file__).parents[1] / "vectors"
DRAW_CASES = sorted(p for p in (VECTORS / "draw").iterdir() if p.is_dir())
INCLUSION = sorted((VECTORS / "tlog" / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "tlog" / "consistency").rglob("*.json"))


def _draw(case: Path) -> bytes:
    population = parse_population((case / "population.tsv").read_bytes())
    announcement = parse_announcement(load_json((case / "announcement.json").read_bytes(), "announcement"))
    inputs = parse_inputs(load_json((case / "inputs.json").read_bytes(), "inputs"))
    drawn_at = (case / "drawn_at").read_text().strip()
    return canonical_json(run_draw(population, announcement, inputs, drawn_at))


@pytest.mark.parametrize("case", DRAW_CASES, ids=lambda p: p.name)
def test_draw_vector(case: Path) -> None:
    if (case / "error.txt").exists():
        with pytest.raises(ProtocolError):
            _draw(case)
    else:
        assert _draw(case) == (case / "result.json").read_bytes()


@pytest.mark.parametrize("case", DRAW_CASES, ids=lambda p: p.name)
def test_draw_vector_cli(case: Path) -> None:
    command = [
        sys.executable, "-m", "lottery", "draw",
        "--population", str(case / "population.tsv"),
        "--announcement", str(case / "announcement.json"),
        "--inputs", str(case / "inputs.json"),
        "--drawn-at", (case / "drawn_at").read_text().strip(),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, timeout=120, check=False)
    if (case / "error.txt").exists():
        assert completed.returncode == 2
        assert completed.stdout == b""
        assert len(completed.stderr.decode().strip().splitlines()) == 1
    else:
        assert completed.returncode == 0, completed.stderr
        assert completed.stdout == (case / "result.json").read_bytes()


def _b64(value: str) -> bytes:
    return base64.b64decode(value) if value else b""


@pytest.mark.parametrize("path", INCLUSION, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_inclusion_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    try:
        verify_inclusion(case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), proof, _b64(case["root"]))
        valid = True
    except ProofError:
        valid = False
    assert valid is not case["wantErr"]


@pytest.mark.parametrize("path", CONSISTENCY, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_consistency_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    try:
        verify_consistency(case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"]))
        valid = True
    except ProofError:
        valid = False
    assert valid is not case["wantErr"]
