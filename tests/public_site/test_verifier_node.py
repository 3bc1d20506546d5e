"""The in-browser verifier's ES modules, run under Node: they agree with the Python reference on
every draw vector and every RFC 9162 proof vector. (Chromium runs the same code in tests/browser.)"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent
VECTORS = HERE.parent / "vectors"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def test_every_draw_vector_agrees_with_python() -> None:
    completed = subprocess.run(
        ["node", str(HERE / "node_vectors.mjs"), str(VECTORS / "draw")],
        capture_output=True,
        timeout=120,
        check=True,
    )
    outcomes = [json.loads(line) for line in completed.stdout.decode().splitlines()]
    cases = sorted(p.name for p in (VECTORS / "draw").iterdir() if p.is_dir())
    assert [o["case"] for o in outcomes] == cases
    for outcome in outcomes:
        case = VECTORS / "draw" / outcome["case"]
        if (case / "error.txt").exists():
            assert "error" in outcome and "result" not in outcome, outcome["case"]
        else:
            assert outcome.get("result", "").encode() == (case / "result.json").read_bytes(), outcome


def test_every_merkle_vector_agrees_with_python() -> None:
    completed = subprocess.run(
        ["node", str(HERE / "node_merkle.mjs"), str(VECTORS / "tlog")],
        capture_output=True,
        timeout=120,
        check=True,
    )
    outcomes = [json.loads(line) for line in completed.stdout.decode().splitlines()]
    assert len(outcomes) > 50
    wrong = [o for o in outcomes if o["valid"] is o["wantErr"]]
    assert wrong == []


def test_the_synchronous_sha256_agrees_with_webcrypto_on_every_length() -> None:
    completed = subprocess.run(["node", str(HERE / "node_sha256.mjs")], capture_output=True, timeout=120, check=True)
    outcome = json.loads(completed.stdout)
    assert outcome["wrong"] == []
    assert outcome["checked"] > 10_000
