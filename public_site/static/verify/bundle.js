// Verify a draw bundle (docs/bundle.md) in the browser, one named check at a time, in the
// order `python -m lottery verify` prints them (lottery/bundle.py). Each check is
// {id, outcome: "pass" | "fail" | "skip", detail}; the page turns ids into plain words. The
// detail is the same text as Python's; where a check also has `say` ({key, values}), the page
// words the detail in the reader's language instead (values named `*_time`, `*_ms`, `*_steps`,
// `*_names`, `*_times`, `*_stages` are shown as local times, durations and names).

import { fromBase64, fromUtf8, sha256Hex, toHex, utf8 } from "./bytes.js";
import { canonicalBytes, loadCanonical, parseJson } from "./jcs.js";
import { leafHash, verifyInclusion } from "./merkle.js";
import {
  DRAND_MARGIN_SECONDS,
  MIN_NOTICE_MS,
  checkAgainstPopulation,
  checkDice,
  commitment,
  computeSeed,
  parseAnnouncement,
  parseInputs,
  parsePopulation,
  parseTimestamp,
  randomnessMatches,
  roundTime,
  runParsedDraw,
} from "./protocol.js";
import { openCheckpoint, parseVkey, verifyDocument } from "./signing.js";
import { checkWitnessed, cosignedBy, describe, earliestCosignatures, parseWitnessVkey, quorumMoment, utc } from "./witnessed.js";

export const REQUIRED = ["population.tsv", "announcement.json", "announcement.json.sig", "result.json", "result.json.sig"];
export const OPTIONAL = ["office.vkey", "checkpoint", "inclusion.json", "bindings.tsv", "events.json", "witnessed.json"];

class Report {
  constructor() {
    this.checks = [];
  }

  add(id, outcome, detail = "", params = {}) {
    if (detail && typeof detail === "object") {
      this.checks.push({ id, outcome, detail: detail.text, params, say: { key: detail.key, values: detail.values } });
    } else {
      this.checks.push({ id, outcome, detail, params });
    }
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

/** A detail: `text` as Python words it, `key` and `values` for the page to say it in the reader's language. */
function said(text, key, values = {}) {
  return { text, key, values };
}

/**
 * Check everything in a bundle. `files` maps names to bytes. `options.key` is a vkey string
 * to use instead of the bundle's office.vkey; `options.publishedKeys` lists the vkeys the
 * office publishes (the bundle's key must be one of them). `options.witnesses` lists witness
 * vkeys (type 0x04) and `options.quorum` how many of them must have cosigned (default: all), as
 * `python -m lottery verify --witness … --quorum K`; `options.now` is the clock (POSIX seconds).
 * Returns {ok, checks, draw}: draw holds the recomputed seed, tickets and groups when it got that far.
 */
export async function verifyBundle(files, options = {}) {
  const report = new Report();
  const missing = REQUIRED.filter((name) => !(name in files));
  if (missing.length) {
    report.add("files", "fail", said("missing " + missing.join(", "), "files-missing", { files: missing.join(", ") }));
    return { ok: false, checks: report.checks, draw: null };
  }
  let population = null;
  let announcement = null;
  let result = null;
  let verifier = null;
  let draw = null;

  await report.attempt("population", async () => {
    population = await parsePopulation(files["population.tsv"]);
    return said(`${population.size} entries, sha256 ${population.digest}`, "population", { count: population.size, digest: population.digest });
  });
  await report.attempt("announcement", async () => {
    announcement = parseAnnouncement(loadCanonical(files["announcement.json"], "announcement.json"));
    const digest = await sha256Hex(files["announcement.json"]);
    return said(`draw ${announcement.drawId}, digest ${digest}`, "announcement", { draw: announcement.drawId, digest });
  });
  if (population && announcement) {
    await report.attempt("population-match", () => checkAgainstPopulation(announcement, population));
  }
  if (announcement) {
    checkTiming(report, announcement);
    await checkBindings(report, files, announcement, population);
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
    const digest = await sha256Hex(files["result.json"]);
    return said(`digest ${digest}`, "digest", { digest });
  });

  let inputs = null;
  if (announcement && result) inputs = await checkInputs(report, announcement, result);
  if (population && announcement && result && inputs) {
    draw = await checkRecomputation(report, population, announcement, result, inputs);
  } else {
    report.add("recompute", "fail", "not attempted: an earlier check failed");
  }
  const checkpoint = await checkLog(report, files, verifier, announcement, population);
  const events = await checkEvents(report, files, checkpoint, announcement, population, result);
  await checkWitnesses(report, files, verifier, checkpoint, announcement, events, options);
  return { ok: report.ok, checks: report.checks, draw };
}

/** `2023-09-15T10:40:00Z` for milliseconds since the epoch. */
export function formatTimestamp(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A duration as people read it: `3 days 9 h 40 min` (whole minutes, rounded down), as lottery.events does. */
export function describeDuration(ms) {
  if (ms < 0) return "-" + describeDuration(-ms);
  const minutes = Math.floor(ms / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts = days ? [`${days} day${days === 1 ? "" : "s"}`] : [];
  if (hours) parts.push(`${hours} h`);
  if (mins || !parts.length) parts.push(`${mins} min`);
  return parts.join(" ");
}

function checkTiming(report, announcement) {
  const notice = announcement.scheduledAt - announcement.announcedAt;
  const params = { notice: describeDuration(notice) };
  const detail = `announced ${formatTimestamp(announcement.announcedAt)}, draw at ${formatTimestamp(announcement.scheduledAt)}`;
  const times = { announced_time: formatTimestamp(announcement.announcedAt), draw_time: formatTimestamp(announcement.scheduledAt), notice_ms: notice };
  if (notice >= MIN_NOTICE_MS) report.add("notice", "pass", said(detail, "notice", times), params);
  else if (announcement.inputsCloseAt !== null) report.add("notice", "fail", said(`less than the 24 hours protocol §4 requires (${detail})`, "notice-short", times), params);
  else report.add("notice", "skip", said(`less than 24 hours, but the announcement predates that rule (${detail})`, "notice-short-old", times), params);
  const close = announcement.inputsCloseAt;
  if (close === null) {
    report.add("timing", "skip", said("not declared (the announcement has no inputs_close_at: it predates the input window, protocol §4)", "timing-undeclared"));
    return;
  }
  const window = describeDuration(close - announcement.scheduledAt);
  const windowValues = { start_time: formatTimestamp(announcement.scheduledAt), close_time: formatTimestamp(close), window_ms: close - announcement.scheduledAt };
  report.add("timing", "pass", said(`${formatTimestamp(announcement.scheduledAt)} – ${formatTimestamp(close)} (${window})`, "timing", windowValues), {
    start: formatTimestamp(announcement.scheduledAt),
    close: formatTimestamp(close),
    window,
  });
  if (announcement.drandRound !== null) {
    const round = announcement.drandRound;
    const gap = roundTime(round) - Math.floor(close / 1000);
    const params = { round };
    if (gap < DRAND_MARGIN_SECONDS) report.add("drand-margin", "fail", `round ${round} is out ${gap} s after inputs_close_at`, params);
    else {
      const text = `round ${round} is out at ${formatTimestamp(roundTime(round) * 1000)}, ${gap} s after inputs close`;
      report.add("drand-margin", "pass", said(text, "drand-margin", { round, out_time: formatTimestamp(roundTime(round) * 1000), gap }), params);
    }
  }
}

const BINDING_LINE = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63})\t([0-9a-f]{64})$/;

/** Read a bindings.tsv for `population` (protocol §2a): `{id: binding}` or an error naming the first bad line. */
export function parseBindings(bytes, population) {
  const text = fromUtf8(bytes);
  if (text && !text.endsWith("\n")) fail("bindings.tsv does not end with a line feed");
  const lines = text ? text.split("\n").slice(0, -1) : [];
  const result = {};
  for (let i = 0; i < lines.length; i++) {
    const match = BINDING_LINE.exec(lines[i]);
    if (!match) fail(`bindings.tsv line ${i + 1} must be <id><TAB><64 lowercase hex>`);
    if (i >= population.size) fail(`bindings.tsv has ${lines.length} lines, the population ${population.size} entries`);
    if (match[1] !== population.ids[i]) fail(`bindings.tsv line ${i + 1} is ${match[1]}, the population has ${population.ids[i]} there`);
    result[match[1]] = match[2];
  }
  if (lines.length !== population.size) fail(`bindings.tsv has ${lines.length} lines, the population ${population.size} entries`);
  return result;
}

async function checkBindings(report, files, announcement, population) {
  const expected = announcement.bindingsDigest;
  if (!("bindings.tsv" in files)) {
    report.add("bindings", "skip", expected ? said("absent from the bundle", "absent") : said("absent; the announcement commits to no bindings", "bindings-none"));
    return;
  }
  if (expected === null) {
    report.add("bindings", "skip", said("present, but the announcement carries no bindings_digest to check it", "bindings-unchecked"));
    return;
  }
  await report.attempt("bindings", async () => {
    const actual = await sha256Hex(files["bindings.tsv"]);
    if (actual !== expected) fail(`sha256 ${actual}, the announcement's bindings_digest is ${expected}`);
    if (!population) fail("population.tsv did not verify");
    const count = Object.keys(parseBindings(files["bindings.tsv"], population)).length;
    return said(`${count} lines, sha256 ${actual}`, "bindings", { count, digest: actual });
  });
}

const INPUT_ORDER = ["dice", "secret", "drand"];

function announcedSources(announcement) {
  return INPUT_ORDER.filter(
    (name) => name === "secret" || (name === "dice" && announcement.diceCount !== null) || (name === "drand" && announcement.drandRound !== null),
  );
}

function eventLabel(logged) {
  const name = logged.event.type === "draw.input" ? ` ${logged.event.name}` : "";
  return `${logged.event.type}${name} (index ${logged.index})`;
}

/** Read events.json (protocol §11): [{index, entry, proof}] ascending by index, as lottery.events.parse_events does. */
export function parseEvents(bytes) {
  const items = parseJson(bytes, "events.json");
  if (!Array.isArray(items)) fail("events.json must be a list of {index, entry, proof}");
  const events = [];
  items.forEach((item, i) => {
    const position = i + 1;
    if (!item || typeof item !== "object" || Array.isArray(item)) fail(`events.json item ${position} must be {index, entry, proof}`);
    const { index, entry, proof } = item;
    if (!Number.isSafeInteger(index) || index < 0) fail(`events.json item ${position}: index must be a whole number 0 or more`);
    if (typeof entry !== "string" || !Array.isArray(proof)) fail(`events.json item ${position} must be {index, entry, proof}`);
    const entryBytes = utf8(entry);
    const event = loadCanonical(entryBytes, `events.json entry ${index}`);
    if (!event || typeof event !== "object" || Array.isArray(event) || typeof event.type !== "string") {
      fail(`events.json entry ${index} must be an object with a type`);
    }
    const hashes = proof.map((node) => {
      let raw = null;
      try {
        raw = typeof node === "string" ? fromBase64(node) : null;
      } catch {
        raw = null;
      }
      if (!raw || raw.length !== 32) fail(`events.json entry ${index}: proof items must be base64 of 32-byte hashes`);
      return raw;
    });
    if (events.length && index <= events[events.length - 1].index) fail(`events.json is not in ascending index order at index ${index}`);
    events.push({ index, entry: entryBytes, event, proof: hashes });
  });
  return events;
}

async function checkEvents(report, files, checkpoint, announcement, population, result) {
  if (!("events.json" in files)) {
    report.add("events", "skip", said("absent from the bundle", "absent"));
    return;
  }
  let events;
  try {
    events = parseEvents(files["events.json"]);
    if (!announcement || !result) fail("not checked: the announcement or the result did not verify");
    const announcementDigest = await sha256Hex(canonicalBytes(announcement.document));
    const resultDigest = await sha256Hex(files["result.json"]);
    for (const logged of events) {
      const event = logged.event;
      if (event.draw_id !== announcement.drawId) fail(`${eventLabel(logged)} belongs to another draw`);
      if (event.type === "draw.announced") {
        if (event.announcement_digest !== announcementDigest) fail(`${eventLabel(logged)} names another announcement digest`);
        if (population && event.population_digest !== population.digest) fail(`${eventLabel(logged)} names another population digest`);
      }
      if (event.type === "draw.completed" && event.result_digest !== resultDigest) fail(`${eventLabel(logged)} names another result digest`);
    }
  } catch (err) {
    report.add("events", "fail", err && err.message ? err.message : String(err));
    return;
  }
  report.add("events", "pass", said(`${events.length} events of draw ${announcement.drawId}`, "events", { count: events.length, draw: announcement.drawId }));
  const included = await report.attempt("events-inclusion", async () => {
    if (!checkpoint) fail("no checkpoint that verifies to prove them against");
    for (const logged of events) {
      try {
        await verifyInclusion(logged.index, checkpoint.size, await leafHash(logged.entry), logged.proof, checkpoint.root);
      } catch (err) {
        fail(`${eventLabel(logged)}: ${err && err.message ? err.message : String(err)}`);
      }
    }
    if (!events.length) return said("events.json lists no events", "events-none");
    const [first, last] = [events[0].index, events[events.length - 1].index];
    return said(`${events.length} events, indexes ${first}–${last} of ${checkpoint.size}`, "events-inclusion", { count: events.length, first, last, size: checkpoint.size });
  });
  const sources = announcedSources(announcement);
  await report.attempt("events-inputs", () => {
    const inputs = result.inputs;
    if (!inputs || typeof inputs !== "object") fail("result.json has no inputs to compare with");
    const logged = {};
    for (const item of events) {
      if (item.event.type !== "draw.input") continue;
      const name = item.event.name;
      if (!sources.includes(name)) fail(`${eventLabel(item)}: '${name}' is not an announced input`);
      if (name in logged) fail(`${eventLabel(item)}: ${name} is logged twice`);
      logged[name] = item;
      if (fromUtf8(canonicalBytes(item.event.value ?? null)) !== fromUtf8(canonicalBytes(inputs[name] ?? null))) {
        fail(`${eventLabel(item)}: the logged value differs from result.json's ${name}`);
      }
    }
    const missing = sources.filter((name) => !(name in logged));
    if (missing.length) fail("no draw.input event for " + missing.join(", "));
    return said(sources.join(", "), "names", { list_names: sources });
  });
  const expected = ["announced", ...sources, "completed"];
  await report.attempt(
    "events-order",
    () => {
      const steps = [];
      for (const { event } of events) {
        if (event.type === "draw.announced") steps.push("announced");
        else if (event.type === "draw.input") steps.push(String(event.name));
        else if (event.type === "draw.completed") steps.push("completed");
        else if (event.type === "draw.abandoned") steps.push("abandoned");
      }
      if (steps.join(" ") !== expected.join(" ")) fail(`logged ${steps.join(" → ") || "nothing"}, expected ${expected.join(" → ")}`);
      return said(steps.join(" → "), "steps", { list_steps: steps, order_steps: expected });
    },
    { order: expected.join(" → ") },
  );
  const start = announcement.scheduledAt;
  const close = announcement.inputsCloseAt;
  await report.attempt(
    "events-times",
    () => {
      const times = [];
      const when = [];
      for (const logged of events) {
        if (logged.event.type !== "draw.input" || !["dice", "secret"].includes(logged.event.name)) continue;
        const moment = parseTimestamp(logged.event.time, `${eventLabel(logged)} time`);
        if (moment < start) fail(`${eventLabel(logged)} was entered at ${formatTimestamp(moment)}, before scheduled_at`);
        if (close !== null && moment >= close) {
          fail(`${eventLabel(logged)} was entered at ${formatTimestamp(moment)}, at or after inputs_close_at ${formatTimestamp(close)}`);
        }
        times.push(`${logged.event.name} ${formatTimestamp(moment)}`);
        when.push([logged.event.name, formatTimestamp(moment)]);
      }
      return times.length ? said(times.join(", "), "times", { list_times: when }) : said("no dice or secret events", "times-none");
    },
  );
  return included ? events : null;
}

// --- witnesses (docs/witness.md; lottery/bundle.py `_check_witnesses`) --------------------------

async function checkWitnesses(report, files, verifier, checkpoint, announcement, events, options) {
  const witnesses = [];
  for (const vkey of options.witnesses || []) witnesses.push(await parseWitnessVkey(vkey));
  const quorum = options.quorum ?? witnesses.length;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const notes = [];
  if (!("witnessed.json" in files)) {
    report.add("witnessed", "skip", said("absent from the bundle", "absent"));
  } else {
    const passed = await report.attempt("witnessed", async () => {
      if (!verifier || !checkpoint) fail("not checked: the checkpoint did not verify");
      notes.push(...(await checkWitnessed(parseJson(files["witnessed.json"], "witnessed.json"), verifier, checkpoint, witnesses, now)));
      const sizes = notes.map((note) => note.checkpoint.size).join(", ");
      return said(`${notes.length} notes, sizes ${sizes || "(none)"} of ${checkpoint.size}`, "witnessed", { count: notes.length, size: checkpoint.size });
    });
    if (!passed) notes.length = 0;
  }
  if (!witnesses.length) {
    report.add("witness-quorum", "skip", said("no --witness given", "no-witnesses"));
    report.add("witness-before-beacon", "skip", said("no --witness given", "no-witnesses"));
    return;
  }
  await report.attempt(
    "witness-quorum",
    async () => {
      if (!checkpoint) fail("no checkpoint that verifies");
      const own = await cosignedBy(fromUtf8(files["checkpoint"]), witnesses, now);
      const sameTree = notes.filter((note) => note.checkpoint.size === checkpoint.size);
      notes.push({ checkpoint, cosigned: own });
      const cosigned = earliestCosignatures([...sameTree, notes[notes.length - 1]], checkpoint.size - 1);
      const missing = witnesses.map((w) => w.name).filter((name) => !(name in cosigned)).sort();
      const absent = missing.length ? `; not by ${missing.join(", ")}` : "";
      if (Object.keys(cosigned).length < quorum) fail(`only ${Object.keys(cosigned).length}: ${describe(cosigned) || "none"}${absent}`);
      const times = Object.entries(cosigned)
        .sort(([, x], [, y]) => x - y)
        .map(([name, moment]) => [name, utc(moment)]);
      const values = { list_times: times, missing: missing.join(", ") };
      return said(`${describe(cosigned)}${absent}`, missing.length ? "cosigned-by-missing" : "cosigned-by", values);
    },
    { quorum, count: witnesses.length },
  );
  checkBeforeBeacon(report, announcement, events, quorum, notes);
}

function checkBeforeBeacon(report, announcement, events, quorum, notes) {
  const id = "witness-before-beacon";
  if (!announcement || announcement.drandRound === null) {
    report.add(id, "skip", said("the draw uses no drand beacon", "no-beacon"));
    return;
  }
  if (!events) {
    report.add(id, "skip", said("no verified events.json to find the logged dice and secret in", "no-events"));
    return;
  }
  const inputs = {};
  for (const logged of events) {
    if (logged.event.type === "draw.input" && ["dice", "secret"].includes(logged.event.name)) inputs[logged.event.name] = logged.index;
  }
  if (!Object.keys(inputs).length) {
    report.add(id, "skip", said("the draw logs no dice or secret input", "no-inputs"));
    return;
  }
  const last = Math.max(...Object.values(inputs));
  const logged = Object.entries(inputs)
    .sort(([, a], [, b]) => a - b)
    .map(([name, index]) => `${name} at index ${index}`)
    .join(", ");
  const beacon = roundTime(announcement.drandRound);
  const beaconText = `drand round ${announcement.drandRound} at ${utc(beacon)}`;
  const earliest = earliestCosignatures(notes, last);
  const moment = quorumMoment(earliest, quorum);
  const seen = describe(earliest) || "none";
  const values = { quorum, round: announcement.drandRound, beacon_time: utc(beacon) };
  if (moment === null) {
    const detail = `${logged}; fewer than ${quorum} witnesses cosigned a checkpoint larger than ${last} (${seen}); ${beaconText}`;
    report.add(id, "fail", said(detail, "not-witnessed", values), { answer: "not-witnessed" });
    return;
  }
  const detail = `${logged}; ${quorum} witnesses had cosigned a checkpoint holding them at ${utc(moment)} (${seen})`;
  const when = { ...values, moment_time: utc(moment) };
  if (moment < beacon) report.add(id, "pass", said(`${detail}, before ${beaconText}`, "witnessed-yes", when), { answer: "yes" });
  else report.add(id, "fail", said(`${detail}, not before ${beaconText}`, "witnessed-no", when), { answer: "no" });
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

async function checkLog(report, files, verifier, announcement, population) {
  if (!("checkpoint" in files)) {
    report.add("checkpoint", "skip", said("absent from the bundle", "absent"));
    report.add("inclusion", "skip", said("absent from the bundle", "absent"));
    return null;
  }
  let checkpoint = null;
  await report.attempt("checkpoint", async () => {
    if (!verifier) fail("no usable key");
    checkpoint = await openCheckpoint(fromUtf8(files["checkpoint"]), [verifier]);
    const root = toHex(checkpoint.root);
    return said(`${checkpoint.origin}, size ${checkpoint.size}, root ${root}`, "checkpoint", { origin: checkpoint.origin, size: checkpoint.size, root });
  });
  if (!("inclusion.json" in files)) {
    report.add("inclusion", "skip", said("inclusion.json absent from the bundle", "absent"));
    return checkpoint;
  }
  let proofs;
  try {
    proofs = parseJson(files["inclusion.json"], "inclusion.json");
    if (!Array.isArray(proofs) || !proofs.length) fail("inclusion.json must be a non-empty list of proofs");
  } catch (err) {
    report.add("inclusion", "fail", err.message);
    return checkpoint;
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
  return checkpoint;
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
  return said(`index ${index} of ${size}`, "index", { index, size });
}
