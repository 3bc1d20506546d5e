// Verify a draw bundle (docs/bundle.md) in the browser, one named check at a time, in the
// order `python -m lottery verify` prints them (lottery/bundle.py). Each check is
// {id, outcome: "pass" | "fail" | "skip", detail}; the page turns ids into plain words. The
// detail is the same text as Python's; where a check also has `say` ({key, values}), the page
// words the detail in the reader's language instead (values named `*_time`, `*_ms`, `*_steps`,
// `*_names`, `*_times`, `*_stages` are shown as local times, durations and names).

import { fromUtf8, sha256Hex } from "./bytes.js";
import { canonicalBytes, loadCanonical } from "./jcs.js";
import { checkEvents, checkLog } from "./bundle_log.js";
import { checkWitnesses } from "./bundle_witnesses.js";
import { DRAND_MARGIN_SECONDS, MIN_NOTICE_MS, checkAgainstPopulation, parseAnnouncement, parsePopulation, roundTime } from "./protocol.js";
import { checkInputs, checkRecomputation } from "./recomputation.js";
import { Report, fail, said } from "./report.js";
import { parseVkey, verifyDocument } from "./signing.js";
import { describeDuration, formatTimestamp } from "./timestamps.js";

export { describeDuration, formatTimestamp } from "./timestamps.js";
export { parseEvents } from "./bundle_log.js";

export const REQUIRED = ["population.tsv", "announcement.json", "announcement.json.sig", "result.json", "result.json.sig"];
export const OPTIONAL = ["office.vkey", "checkpoint", "inclusion.json", "bindings.tsv", "events.json", "witnessed.json"];

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
