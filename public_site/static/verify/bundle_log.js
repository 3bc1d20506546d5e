// A bundle's log parts (protocol §10–§12; lottery/bundle_log.py): the checkpoint, the inclusion
// proofs of inclusion.json, and events.json with its inputs, order and times.

import { fromBase64, fromUtf8, sha256Hex, toHex, utf8 } from "./bytes.js";
import { canonicalBytes, loadCanonical, parseJson } from "./jcs.js";
import { leafHash, verifyInclusion } from "./merkle.js";
import { parseTimestamp } from "./protocol.js";
import { fail, said } from "./report.js";
import { openCheckpoint } from "./signing.js";
import { formatTimestamp } from "./timestamps.js";

export async function checkLog(report, files, verifier, announcement, population) {
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

export async function checkEvents(report, files, checkpoint, announcement, population, result) {
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
