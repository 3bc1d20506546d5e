// Verify a draw bundle (docs/bundle.md) in the browser, one named check at a time, in the
// order `python -m lottery verify` prints them (lottery/bundle.py). Each check is
// {id, outcome: "pass" | "fail" | "skip", detail}; the page turns ids into plain words.

import { fromBase64, fromUtf8, sha256Hex, toHex, utf8 } from "./bytes.js";
import { canonicalBytes, loadCanonical, parseJson } from "./jcs.js";
import { leafHash, verifyInclusion } from "./merkle.js";
import {
  checkAgainstPopulation,
  checkDice,
  commitment,
  computeSeed,
  parseAnnouncement,
  parseInputs,
  parsePopulation,
  randomnessMatches,
  runParsedDraw,
} from "./protocol.js";
import { openCheckpoint, parseVkey, verifyDocument } from "./signing.js";

export const REQUIRED = ["population.tsv", "announcement.json", "announcement.json.sig", "result.json", "result.json.sig"];
export const OPTIONAL = ["office.vkey", "checkpoint", "inclusion.json"];

class Report {
  constructor() {
    this.checks = [];
  }

  add(id, outcome, detail = "", params = {}) {
    this.checks.push({ id, outcome, detail, params });
  }

  async attempt(id, action, params = {}) {
    try {
      const detail = await action();
      this.add(id, "pass", detail || "", params);
      return true;
    } catch (err) {
      this.add(id, "fail", err && err.message ? err.message : String(err), params);
      return false;
    }
  }

  get ok() {
    return this.checks.every((c) => c.outcome !== "fail");
  }
}

function fail(message) {
  throw new Error(message);
}

/**
 * Check everything in a bundle. `files` maps names to bytes. `options.key` is a vkey string
 * to use instead of the bundle's office.vkey; `options.publishedKeys` lists the vkeys the
 * office publishes (the bundle's key must be one of them).
 * Returns {ok, checks, draw}: draw holds the recomputed seed, tickets and groups when it got that far.
 */
export async function verifyBundle(files, options = {}) {
  const report = new Report();
  const missing = REQUIRED.filter((name) => !(name in files));
  if (missing.length) {
    report.add("files", "fail", "missing " + missing.join(", "));
    return { ok: false, checks: report.checks, draw: null };
  }
  let population = null;
  let announcement = null;
  let result = null;
  let verifier = null;
  let draw = null;

  await report.attempt("population", async () => {
    population = await parsePopulation(files["population.tsv"]);
    return `${population.size} entries, sha256 ${population.digest}`;
  });
  await report.attempt("announcement", async () => {
    announcement = parseAnnouncement(loadCanonical(files["announcement.json"], "announcement.json"));
    return `draw ${announcement.drawId}, digest ${await sha256Hex(files["announcement.json"])}`;
  });
  if (population && announcement) {
    await report.attempt("population-match", () => checkAgainstPopulation(announcement, population));
  }
  await report.attempt("key", async () => {
    if (options.key) {
      verifier = await parseVkey(options.key);
      return verifier.vkey;
    }
    if (!("office.vkey" in files)) fail("no key was given and the bundle has no office.vkey");
    const candidate = await parseVkey(fromUtf8(files["office.vkey"]));
    if (options.publishedKeys && options.publishedKeys.length && !options.publishedKeys.includes(candidate.vkey)) {
      fail(`${candidate.vkey} is not a key this office publishes`);
    }
    verifier = candidate;
    return verifier.vkey;
  });
  for (const [id, name] of [
    ["sig-announcement", "announcement.json"],
    ["sig-result", "result.json"],
  ]) {
    if (verifier) await report.attempt(id, () => verifyDocument(verifier, files[name], files[name + ".sig"]));
    else report.add(id, "fail", "no usable key");
  }
  await report.attempt("result", async () => {
    const document = loadCanonical(files["result.json"], "result.json");
    if (!document || typeof document !== "object" || Array.isArray(document)) fail("result.json must be a JSON object");
    if (announcement) {
      if (document.announcement_digest !== (await sha256Hex(canonicalBytes(announcement.document)))) {
        fail("result names a different announcement digest");
      }
      if (document.draw_id !== announcement.drawId) fail("result names a different draw_id");
    }
    result = document;
    return `digest ${await sha256Hex(files["result.json"])}`;
  });

  let inputs = null;
  if (announcement && result) inputs = await checkInputs(report, announcement, result);
  if (population && announcement && result && inputs) {
    draw = await checkRecomputation(report, population, announcement, result, inputs);
  } else {
    report.add("recompute", "fail", "not attempted: an earlier check failed");
  }
  await checkLog(report, files, verifier, announcement, population);
  return { ok: report.ok, checks: report.checks, draw };
}

async function checkInputs(report, announcement, result) {
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
    return `sha256("sunshine-draw/1 commitment\\n" + ${inputs.secret}) = ${recomputed}`;
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
          return `sha256(${beacon.signature}) = ${beacon.randomness}`;
        },
        params,
      )) && ok;
    report.add("drand-bls", "skip", "python -m lottery verify bundle.zip", params);
  } else if (inputs.drand !== null) {
    ok = (await report.attempt("drand-randomness", () => fail("a drand round is given but not announced"), { round: 0 })) && ok;
  }
  return ok ? inputs : null;
}

async function checkRecomputation(report, population, announcement, result, inputs) {
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
    report.add("recompute", "pass", sizes);
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

async function checkLog(report, files, verifier, announcement, population) {
  if (!("checkpoint" in files)) {
    report.add("checkpoint", "skip", "absent from the bundle");
    report.add("inclusion", "skip", "absent from the bundle");
    return;
  }
  let checkpoint = null;
  await report.attempt("checkpoint", async () => {
    if (!verifier) fail("no usable key");
    checkpoint = await openCheckpoint(fromUtf8(files["checkpoint"]), [verifier]);
    return `${checkpoint.origin}, size ${checkpoint.size}, root ${toHex(checkpoint.root)}`;
  });
  if (!("inclusion.json" in files)) {
    report.add("inclusion", "skip", "inclusion.json absent from the bundle");
    return;
  }
  let proofs;
  try {
    proofs = parseJson(files["inclusion.json"], "inclusion.json");
    if (!Array.isArray(proofs) || !proofs.length) fail("inclusion.json must be a non-empty list of proofs");
  } catch (err) {
    report.add("inclusion", "fail", err.message);
    return;
  }
  const expected = {};
  if (announcement) {
    expected["draw.announced"] = {
      draw_id: announcement.drawId,
      announcement_digest: await sha256Hex(canonicalBytes(announcement.document)),
      population_digest: population ? population.digest : "",
    };
    expected["draw.completed"] = { draw_id: announcement.drawId, result_digest: await sha256Hex(files["result.json"]) };
  }
  const proven = new Set();
  for (const proof of proofs) {
    const kind = entryType(proof);
    proven.add(kind);
    await report.attempt(kind === "draw.announced" ? "inclusion-announced" : kind === "draw.completed" ? "inclusion-completed" : "inclusion-other", () =>
      checkOneInclusion(proof, checkpoint, expected),
    { index: proof && proof.index });
  }
  for (const kind of Object.keys(expected).sort()) {
    if (!proven.has(kind)) {
      report.add(kind === "draw.announced" ? "inclusion-announced" : "inclusion-completed", "fail", "inclusion.json has no proof for it");
    }
  }
}

function entryType(proof) {
  if (proof && typeof proof === "object" && typeof proof.entry === "string") {
    try {
      const entry = JSON.parse(proof.entry);
      if (entry && typeof entry === "object") return String(entry.type);
    } catch {
      return null;
    }
  }
  return null;
}

async function checkOneInclusion(proof, checkpoint, expected) {
  if (!checkpoint) fail("the checkpoint did not verify");
  if (!proof || typeof proof !== "object" || typeof proof.entry !== "string") fail("proof must be {index, size, entry, path}");
  const { index, size, path } = proof;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || !Array.isArray(path)) fail("proof must be {index, size, entry, path}");
  if (size !== checkpoint.size) fail(`proof is for tree size ${size}, the checkpoint has ${checkpoint.size}`);
  const entryBytes = utf8(proof.entry);
  const entry = loadCanonical(entryBytes, "log entry");
  const want = entry && typeof entry === "object" ? expected[String(entry.type)] : null;
  if (!want) fail("entry is not a draw event of this bundle");
  for (const [name, value] of Object.entries(want)) {
    if (entry[name] !== value) fail(`entry's ${name} does not match this bundle`);
  }
  let hashes;
  try {
    hashes = path.map((item) => fromBase64(item));
  } catch {
    fail("proof path is not base64");
  }
  await verifyInclusion(index, size, await leafHash(entryBytes), hashes, checkpoint.root);
  return `index ${index} of ${size}`;
}
