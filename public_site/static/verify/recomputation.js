// A bundle's draw inputs and its recomputed result (protocol §5–§8; lottery/recomputation.py).

import { fromUtf8, sha256Hex } from "./bytes.js";
import { canonicalBytes } from "./jcs.js";
import { checkDice, commitment, computeSeed, parseInputs, randomnessMatches, runParsedDraw } from "./protocol.js";
import { fail, said } from "./report.js";

export async function checkInputs(report, announcement, result) {
  let inputs;
  try {
    inputs = parseInputs(result.inputs);
  } catch (err) {
    report.add("inputs", "fail", err.message);
    return null;
  }
  let ok = await report.attempt("commitment", async () => {
    const recomputed = await commitment(inputs.secret);
    if (recomputed !== announcement.commitment) fail("secret does not match the commitment");
    return said(`sha256("sunshine-draw/1 commitment\\n" + ${inputs.secret}) = ${recomputed}`, "code");
  });
  if (announcement.diceCount !== null) {
    ok = (await report.attempt("dice", () => checkDice(inputs.dice, announcement.diceCount), { count: announcement.diceCount })) && ok;
  } else if (inputs.dice !== null) {
    ok = (await report.attempt("dice", () => fail("dice given but not announced"), { count: 0 })) && ok;
  }
  if (announcement.drandRound !== null) {
    const beacon = inputs.drand;
    const params = { round: announcement.drandRound };
    if (!beacon || beacon.round !== announcement.drandRound) {
      report.add("drand-randomness", "fail", "the result carries another round or none", params);
      return null;
    }
    ok =
      (await report.attempt(
        "drand-randomness",
        async () => {
          if (!(await randomnessMatches(beacon))) fail("drand randomness is not sha256(signature)");
          return said(`sha256(${beacon.signature}) = ${beacon.randomness}`, "code");
        },
        params,
      )) && ok;
    report.add("drand-bls", "skip", said("python -m lottery verify bundle.zip", "code"), params);
  } else if (inputs.drand !== null) {
    ok = (await report.attempt("drand-randomness", () => fail("a drand round is given but not announced"), { round: 0 })) && ok;
  }
  return ok ? inputs : null;
}

export async function checkRecomputation(report, population, announcement, result, inputs) {
  const digest = await sha256Hex(canonicalBytes(announcement.document));
  const seed = await computeSeed(digest, inputs);
  if (result.seed !== seed) {
    report.add("seed", "fail", `expected ${seed}`);
    return null;
  }
  report.add("seed", "pass", seed);
  let drawn;
  try {
    drawn = await runParsedDraw(population, announcement, inputs, String(result.drawn_at));
  } catch (err) {
    report.add("recompute", "fail", err.message);
    return null;
  }
  const published = canonicalBytes(result);
  const same = fromUtf8(drawn.bytes) === fromUtf8(published);
  if (same) {
    const sizes = drawn.result.stages.map((s) => `${s.name} ${s.selected.length}`).join(", ");
    report.add("recompute", "pass", said(sizes, "stages", { list_stages: drawn.result.stages.map((s) => [s.name, s.selected.length]) }));
  } else {
    report.add("recompute", "fail", difference(drawn.result, result));
  }
  return { seed, stages: drawn.details, result: drawn.result, population, matches: same };
}

function difference(expected, actual) {
  const stages = actual.stages;
  if (!Array.isArray(stages) || stages.length !== expected.stages.length) return "the result has a different number of stages";
  for (let s = 0; s < stages.length; s++) {
    const want = expected.stages[s];
    const got = stages[s] || {};
    if (fromUtf8(canonicalBytes(got.groups ?? null)) !== fromUtf8(canonicalBytes(want.groups))) {
      return `stage ${want.name}: groups or thresholds differ`;
    }
    if (!Array.isArray(got.selected) || got.selected.length !== want.selected.length) {
      return `stage ${want.name}: the selected list has the wrong length`;
    }
    for (let i = 0; i < want.selected.length; i++) {
      const w = want.selected[i];
      if (fromUtf8(canonicalBytes(got.selected[i])) !== fromUtf8(canonicalBytes(w))) {
        return `stage ${want.name}: rank ${w.rank} should be ${w.id} with ticket ${w.ticket}`;
      }
    }
  }
  return "the result's bytes differ from the recomputed result";
}
