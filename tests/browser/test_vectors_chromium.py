"""Chromium runs the verifier's draw code on every shared vector and agrees with the Python engine."""

import base64
import json
from pathlib import Path

from playwright.sync_api import Browser

from tests.browser.server import LiveServer

VECTORS = Path(__file__).parents[1] / "vectors"

RUN_VECTORS = """
async (cases) => {
  const { runDraw } = await import("/static/public/verify/protocol.js");
  const { parseJson } = await import("/static/public/verify/jcs.js");
  const bytes = (text) => new TextEncoder().encode(text);
  const out = {};
  for (const c of cases) {
    try {
      const announcement = parseJson(bytes(c.announcement), "announcement.json");
      const inputs = parseJson(bytes(c.inputs), "inputs.json");
      const drawn = await runDraw(bytes(c.population), announcement, inputs, c.drawnAt);
      out[c.name] = { result: new TextDecoder().decode(drawn.bytes) };
    } catch (err) {
      out[c.name] = { error: String(err.message) };
    }
  }
  return out;
}
"""

RUN_PROOFS = """
async (cases) => {
  const m = await import("/static/public/verify/merkle.js");
  const b = (s) => Uint8Array.from(atob(s || ""), (ch) => ch.charCodeAt(0));
  const out = [];
  for (const c of cases) {
    let valid = true;
    try {
      const proof = (c.proof || []).map(b);
      if (c.kind === "inclusion") await m.verifyInclusion(c.leafIdx, c.treeSize, b(c.leafHash), proof, b(c.root));
      else await m.verifyConsistency(c.size1, c.size2, proof, b(c.root1), b(c.root2));
    } catch { valid = false; }
    out.push(valid === !c.wantErr);
  }
  return out;
}
"""


def test_chromium_agrees_with_python_on_every_draw_vector(browser: Browser, server: LiveServer) -> None:
    # Given every case of the shared draw vectors
    cases = []
    for folder in sorted(p for p in (VECTORS / "draw").iterdir() if p.is_dir()):
        cases.append(
            {
                "name": folder.name,
                "population": (folder / "population.tsv").read_text("ascii"),
                "announcement": (folder / "announcement.json").read_text("utf-8"),
                "inputs": (folder / "inputs.json").read_text("utf-8"),
                "drawnAt": (folder / "drawn_at").read_text().strip(),
            }
        )
    page = browser.new_page()
    page.goto(server.url + "/how-it-works")
    # When Chromium runs the in-browser draw code on each
    outcomes = page.evaluate(RUN_VECTORS, cases)
    # Then it gives result.json byte for byte, and refuses every error case
    for case in cases:
        folder = VECTORS / "draw" / case["name"]
        outcome = outcomes[case["name"]]
        if (folder / "error.txt").exists():
            assert "error" in outcome, case["name"]
        else:
            assert outcome.get("result", "").encode() == (folder / "result.json").read_bytes(), outcome
    assert len(outcomes) == len(cases) >= 12
    page.close()


def test_chromium_agrees_on_every_merkle_proof_vector(browser: Browser, server: LiveServer) -> None:
    cases = []
    for kind in ("inclusion", "consistency"):
        for path in sorted((VECTORS / "tlog" / kind).rglob("*.json")):
            cases.append({"kind": kind, **json.loads(path.read_text())})
    page = browser.new_page()
    page.goto(server.url + "/how-it-works")
    agreed = page.evaluate(RUN_PROOFS, cases)
    assert len(agreed) == len(cases) > 50 and all(agreed)
    assert base64  # (standard base64 in the vectors, decoded by atob in the page)
    page.close()
