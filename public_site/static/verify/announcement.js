// The announcement (protocol §4; lottery/announcement.py): what a draw fixes in advance, and the
// quicknet timing rules it must keep.

import { fail } from "./errors.js";
import { ID, STRATUM } from "./population.js";

export const PROTOCOL = "sunshine-draw/1";
export const POOLED = "*";
export const QUICKNET_CHAIN_HASH = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";

export const QUICKNET_GENESIS = 1692803367;
export const QUICKNET_PERIOD = 3;
/** `inputs_close_at` is at most 2 h after `scheduled_at`; the drand round at least 30 s after it (protocol §4). */
export const MAX_INPUT_WINDOW_MS = 2 * 3600 * 1000;
export const DRAND_MARGIN_SECONDS = 30;
export const MIN_NOTICE_MS = 24 * 3600 * 1000;

/** Unix time (seconds) at which quicknet publishes `round`. */
export function roundTime(round) {
  return QUICKNET_GENESIS + (round - 1) * QUICKNET_PERIOD;
}

const STAGE = /^[a-z][a-z0-9-]{0,31}$/;
export const HEX64 = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function isCount(v) {
  return Number.isSafeInteger(v) && v >= 0;
}

/** Validate an announcement object (protocol §4); returns its fields. Mirrors lottery/announcement.py. */
export function parseAnnouncement(doc) {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) fail("announcement must be a JSON object");
  if (doc.protocol !== PROTOCOL) fail(`announcement protocol must be '${PROTOCOL}'`);
  if (typeof doc.draw_id !== "string" || !ID.test(doc.draw_id)) fail("draw_id is not a valid identifier");
  for (const name of ["title", "office"]) {
    if (typeof doc[name] !== "string" || !doc[name].trim()) fail(`announcement ${name} must be a non-empty string`);
  }
  const pop = doc.population;
  if (!pop || typeof pop !== "object") fail("announcement population must be {digest, size, strata}");
  if (typeof pop.digest !== "string" || !HEX64.test(pop.digest)) fail("population digest must be 64 lowercase hex characters");
  if (!isCount(pop.size) || pop.size < 1) fail("population size must be a positive integer");
  if (!pop.strata || typeof pop.strata !== "object" || Array.isArray(pop.strata) || !Object.keys(pop.strata).length) {
    fail("population strata must map each stratum to its count");
  }
  let total = 0;
  for (const [key, count] of Object.entries(pop.strata)) {
    if (!STRATUM.test(key) || !isCount(count) || count < 1) fail(`population stratum ${key} must be a valid name with a positive count`);
    total += count;
  }
  if (total !== pop.size) fail("population strata counts do not add up to its size");
  if ("bindings_digest" in pop && (typeof pop.bindings_digest !== "string" || !HEX64.test(pop.bindings_digest))) {
    fail("population bindings_digest must be 64 lowercase hex characters");
  }
  if (!Array.isArray(doc.stages) || !doc.stages.length) fail("announcement stages must be a non-empty list");
  const stages = [];
  for (const item of doc.stages) {
    if (!item || typeof item !== "object") fail("each stage must be {name, from, quota}");
    const { name, from, quota } = item;
    if (typeof name !== "string" || !STAGE.test(name) || name === "population") fail(`stage name ${name} is not valid`);
    if (stages.some((s) => s.name === name)) fail(`stage name ${name} is used twice`);
    if (from !== "population" && !stages.some((s) => s.name === from)) {
      fail(`stage ${name} draws from ${from}, which is neither population nor an earlier stage`);
    }
    if (!quota || typeof quota !== "object" || Array.isArray(quota) || !Object.keys(quota).length) {
      fail(`stage ${name}: quota must be {"*": k} or a map from stratum to k`);
    }
    if (POOLED in quota && Object.keys(quota).length !== 1) fail(`stage ${name}: quota mixes "*" with strata`);
    for (const [key, k] of Object.entries(quota)) {
      if (key !== POOLED && !STRATUM.test(key)) fail(`stage ${name}: quota key ${key} is not a stratum name`);
      if (!isCount(k)) fail(`stage ${name}: quota for ${key} must be a whole number 0 or more`);
    }
    const stage = { name, source: from, quota: { ...quota }, pooled: POOLED in quota };
    if (from === "population" && stage.pooled && quota[POOLED] > pop.size) {
      fail(`stage ${name}: quota ${quota[POOLED]} exceeds the population of ${pop.size}`);
    }
    if (from === "population" && !stage.pooled) {
      for (const [key, k] of Object.entries(quota)) {
        if (k > (pop.strata[key] || 0)) fail(`stage ${name}: quota ${k} exceeds stratum ${key} of ${pop.strata[key] || 0}`);
      }
    }
    stages.push(stage);
  }
  const entropy = doc.entropy;
  if (!entropy || typeof entropy !== "object") fail("announcement entropy must be {commitment, dice?, drand?}");
  if (typeof entropy.commitment !== "string" || !HEX64.test(entropy.commitment)) {
    fail("entropy commitment must be 64 lowercase hex characters");
  }
  let diceCount = null;
  let drandRound = null;
  if ("dice" in entropy) {
    const dice = entropy.dice;
    if (!dice || !isCount(dice.count) || dice.count < 1 || dice.count > 100) fail('entropy dice must be {"count": n} with 1 <= n <= 100');
    diceCount = dice.count;
  }
  if ("drand" in entropy) {
    const drand = entropy.drand;
    if (!drand || drand.chain_hash !== QUICKNET_CHAIN_HASH) fail("entropy drand must name the quicknet chain hash");
    if (!isCount(drand.round) || drand.round < 1) fail("entropy drand round must be a positive integer");
    drandRound = drand.round;
  }
  if (diceCount === null && drandRound === null) fail("entropy needs dice, drand or both besides the commitment");
  const scheduled = parseTimestamp(doc.scheduled_at, "scheduled_at");
  const announced = parseTimestamp(doc.announced_at, "announced_at");
  if (announced > scheduled) fail("announced_at is after scheduled_at: a draw is announced before it happens");
  let closes = null;
  if ("inputs_close_at" in doc) {
    closes = parseTimestamp(doc.inputs_close_at, "inputs_close_at");
    if (!(scheduled < closes && closes <= scheduled + MAX_INPUT_WINDOW_MS)) {
      fail("inputs_close_at must be after scheduled_at and at most 2 hours after it");
    }
    if (drandRound !== null && roundTime(drandRound) * 1000 < closes + DRAND_MARGIN_SECONDS * 1000) {
      fail(`drand round ${drandRound} comes less than ${DRAND_MARGIN_SECONDS} s after inputs_close_at`);
    }
  }
  return {
    scheduledAt: scheduled,
    announcedAt: announced,
    inputsCloseAt: closes,
    bindingsDigest: "bindings_digest" in pop ? pop.bindings_digest : null,
    document: doc,
    drawId: doc.draw_id,
    populationDigest: pop.digest,
    populationSize: pop.size,
    populationStrata: { ...pop.strata },
    stages,
    commitment: entropy.commitment,
    diceCount,
    drandRound,
  };
}

/** Parse `2026-01-15T02:00:00Z` into milliseconds; refuse anything else. */
export function parseTimestamp(text, what) {
  if (typeof text !== "string" || !TIMESTAMP.test(text)) fail(`${what} must look like 2026-01-15T02:00:00Z (UTC, whole seconds)`);
  const [y, mo, d, h, mi, s] = text.match(/\d+/g).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    fail(`${what} is not a real date and time: ${text}`);
  }
  return ms;
}

/** Refuse a population whose digest, size or strata differ from the announcement's. */
export function checkAgainstPopulation(announcement, population) {
  if (population.digest !== announcement.populationDigest) fail("population digest does not match the announcement");
  if (population.size !== announcement.populationSize) fail("population size does not match the announcement");
  const a = announcement.populationStrata;
  const p = population.counts;
  const keys = new Set([...Object.keys(a), ...Object.keys(p)]);
  for (const key of keys) if (a[key] !== p[key]) fail("population strata counts do not match the announcement");
}
