// The sunshine-draw/1 protocol in JavaScript (protocol §2–§8): population, announcement,
// commitment, seed, tickets, selection and the result document. It mirrors lottery/ in
// Python and must agree with it byte for byte on every vector in tests/vectors/draw.

import { fromHex, sha256Hex, toHex, utf8 } from "./bytes.js";
import { canonicalBytes } from "./jcs.js";
import { TicketHasher } from "./sha256.js";

export const PROTOCOL = "sunshine-draw/1";
export const POOLED = "*";
export const QUICKNET_CHAIN_HASH = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971";

/** A draw or document that the protocol refuses; the message says why. */
export class ProtocolError extends Error {}

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

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const STRATUM = /^[a-z0-9][a-z0-9-]{0,31}$/;
const STAGE = /^[a-z][a-z0-9-]{0,31}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX96 = /^[0-9a-f]{96}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Byte order of two ASCII strings (ids are ASCII, so code units are bytes). */
export function compareAscii(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Parse population.tsv bytes (protocol §2). Returns {ids, strata, digest, size, counts, bytes, starts}:
 * `bytes` is the file and `starts[i]` the offset of line i, so the tickets hash each id where it
 * lies in the file, without encoding a string per entry. Refuses a file that is not exactly canonical.
 */
export async function parsePopulation(bytes) {
  const digest = sha256Hex(bytes); // WebCrypto hashes the file off the main thread meanwhile
  digest.catch(() => {}); // awaited below; this only spares a refused file an unhandled rejection
  const parsed = readLines(bytes) ?? readLinesSaying(bytes);
  return { ...parsed, size: parsed.ids.length, digest: await digest };
}

// Byte classes of protocol §2: bit 1 may start an id, bit 2 may continue one, bit 4 may start a
// stratum, bit 8 may continue one.
const CLASSES = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9]/.test(ch)) CLASSES[c] |= 1 | 2;
  if (/[._-]/.test(ch)) CLASSES[c] |= 2;
  if (/[a-z0-9]/.test(ch)) CLASSES[c] |= 4 | 8;
  if (ch === "-") CLASSES[c] |= 8;
}

/**
 * The lines of a canonical file in one pass over its bytes, one string per id and one per
 * distinct stratum; null as soon as anything is not canonical (`readLinesSaying` says what).
 */
function readLines(bytes) {
  const n = bytes.length;
  if (!n || bytes[n - 1] !== 10) return null;
  let lines = 0;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) lines++;
  const text = new TextDecoder("ascii").decode(bytes);
  const ids = new Array(lines);
  const strata = new Array(lines);
  const starts = new Int32Array(lines);
  const counts = Object.create(null);
  // Each distinct stratum once: its text, and where its bytes first appear (a handful at most).
  const names = [];
  const froms = [];
  let at = 0;
  for (let line = 0; line < lines; line++) {
    const start = at;
    if (!(CLASSES[bytes[at++]] & 1)) return null;
    while (CLASSES[bytes[at]] & 2) at++;
    if (bytes[at] !== 9 || at - start > 64) return null;
    const tab = at++;
    if (!(CLASSES[bytes[at++]] & 4)) return null;
    while (CLASSES[bytes[at]] & 8) at++;
    const length = at - tab - 1;
    if (bytes[at] !== 10 || length > 32) return null;
    const id = text.slice(start, tab);
    if (line > 0 && !(ids[line - 1] < id)) return null;
    let stratum = null;
    for (let k = 0; k < names.length && stratum === null; k++) {
      const from = froms[k];
      if (names[k].length !== length) continue;
      let same = true;
      for (let b = 0; b < length && same; b++) same = bytes[from + b] === bytes[tab + 1 + b];
      if (same) stratum = names[k];
    }
    if (stratum === null) {
      stratum = text.slice(tab + 1, at);
      names.push(stratum);
      froms.push(tab + 1);
      counts[stratum] = 0;
    }
    ids[line] = id;
    strata[line] = stratum;
    starts[line] = start;
    counts[stratum]++;
    at++;
  }
  return { ids, strata, counts, bytes, starts };
}

/** `readLines` one line at a time, refusing the first thing that is not canonical and saying why. */
function readLinesSaying(bytes) {
  if (!bytes.length) throw new ProtocolError("population file is empty: at least one entry is required");
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] > 127) throw new ProtocolError("population file is not canonical: it has a byte outside ASCII");
  }
  const text = new TextDecoder("ascii").decode(bytes);
  if (!text.endsWith("\n")) throw new ProtocolError("population file is not canonical: the last line does not end with a newline");
  const lines = text.slice(0, -1).split("\n");
  const ids = new Array(lines.length);
  const strata = new Array(lines.length);
  const starts = new Int32Array(lines.length);
  const counts = Object.create(null);
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const tab = line.indexOf("\t");
    const id = line.slice(0, tab);
    const stratum = line.slice(tab + 1);
    if (tab < 0 || !ID.test(id) || !STRATUM.test(stratum)) {
      throw new ProtocolError(`population file is not canonical: line ${i + 1} must be <id><TAB><stratum>`);
    }
    if (i > 0 && !(ids[i - 1] < id)) {
      const why = ids[i - 1] === id ? "repeats the id above it" : "is out of order (ids ascend by bytes)";
      throw new ProtocolError(`population file is not canonical: line ${i + 1} (${id}) ${why}`);
    }
    ids[i] = id;
    strata[i] = stratum;
    starts[i] = start;
    start += line.length + 1;
    counts[stratum] = (counts[stratum] || 0) + 1;
  }
  return { ids, strata, counts, bytes, starts };
}

function isCount(v) {
  return Number.isSafeInteger(v) && v >= 0;
}

function fail(message) {
  throw new ProtocolError(message);
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

/** Check the shape of an inputs object (protocol §5); returns {secret, dice, drand}. */
export function parseInputs(value) {
  if (!value || typeof value !== "object" || Array.isArray(value) || Object.keys(value).some((k) => !["secret", "dice", "drand"].includes(k))) {
    fail("inputs must be an object with secret and the announced dice and drand");
  }
  if (typeof value.secret !== "string" || !HEX64.test(value.secret)) fail("secret must be 64 lowercase hex characters");
  if (value.dice !== undefined && value.dice !== null && typeof value.dice !== "string") fail("dice value must be a string of digits 0–9");
  let drand = null;
  if ("drand" in value) {
    const d = value.drand;
    const keys = d && typeof d === "object" ? Object.keys(d).sort().join(",") : "";
    if (keys !== "randomness,round,signature") fail("drand input must be {round, randomness, signature}");
    if (!Number.isSafeInteger(d.round) || d.round < 1) fail("drand round must be a positive integer");
    if (typeof d.randomness !== "string" || !HEX64.test(d.randomness)) fail("drand randomness must be 64 lowercase hex characters");
    if (typeof d.signature !== "string" || !HEX96.test(d.signature)) fail("drand signature must be 96 lowercase hex characters");
    drand = { round: d.round, randomness: d.randomness, signature: d.signature };
  }
  return { secret: value.secret, dice: value.dice ?? null, drand };
}

/** `hex(sha256("sunshine-draw/1 commitment\n" || secret_hex))` (protocol §4). */
export async function commitment(secretHex) {
  return sha256Hex("sunshine-draw/1 commitment\n" + secretHex);
}

/** True when the beacon's randomness is sha256 of its signature bytes. */
export async function randomnessMatches(drand) {
  return (await sha256Hex(fromHex(drand.signature))) === drand.randomness;
}

/** Refuse dice that are not exactly `count` ASCII digits. */
export function checkDice(dice, count) {
  if (typeof dice !== "string" || dice.length !== count || !/^[0-9]+$/.test(dice)) {
    fail(`dice value must be exactly the announced number of digits (${count} digits 0–9)`);
  }
  return dice;
}

/** Refuse inputs that do not match what the announcement fixed in advance (BLS is not checked here). */
export async function checkInputs(announcement, inputs) {
  if (announcement.diceCount === null && inputs.dice !== null) fail("dice were given but the announcement has no dice");
  if (announcement.diceCount !== null) checkDice(inputs.dice, announcement.diceCount);
  if ((await commitment(inputs.secret)) !== announcement.commitment) fail("secret does not match the commitment");
  if (announcement.drandRound === null && inputs.drand !== null) fail("a drand round was given but the announcement has none");
  if (announcement.drandRound !== null) {
    if (inputs.drand === null) fail(`drand round ${announcement.drandRound} is required by the announcement`);
    if (inputs.drand.round !== announcement.drandRound) fail(`drand round ${inputs.drand.round} is not the announced round ${announcement.drandRound}`);
    if (!(await randomnessMatches(inputs.drand))) fail("drand randomness is not sha256(signature)");
  }
}

/** The seed material of protocol §6, as text. */
export function seedMaterial(announcementDigest, inputs) {
  let text = "sunshine-draw/1 seed\n" + `announcement ${announcementDigest}\n` + `secret ${inputs.secret}\n`;
  if (inputs.dice !== null) text += `dice ${inputs.dice}\n`;
  if (inputs.drand !== null) text += `drand ${inputs.drand.round} ${inputs.drand.randomness}\n`;
  return text;
}

/** `hex(sha256(seed_material))`. */
export async function computeSeed(announcementDigest, inputs) {
  return sha256Hex(seedMaterial(announcementDigest, inputs));
}

/** One ticket: `hex(sha256(seed || " " || stage || " " || id))`. */
export async function ticket(seed, stage, id) {
  return sha256Hex(`${seed} ${stage} ${id}`);
}

/**
 * The tickets of a from-set, as 8 big-endian words each in one Uint32Array (member i at
 * words 8i to 8i + 7). `members` is {ids, bytes?, starts?}: with the population's bytes and
 * line offsets each id is hashed where it lies in the file.
 */
export function ticketWords(seed, stage, members) {
  const hasher = new TicketHasher(utf8(`${seed} ${stage} `));
  const n = members.ids.length;
  const words = new Uint32Array(n * 8);
  if (members.bytes) {
    const { ids, bytes, starts } = members;
    for (let i = 0; i < n; i++) hasher.digestInto(bytes, starts[i], starts[i] + ids[i].length, words, 8 * i);
  } else {
    for (let i = 0; i < n; i++) {
      const id = utf8(members.ids[i]);
      hasher.digestInto(id, 0, id.length, words, 8 * i);
    }
  }
  return words;
}

/** Tickets (hex) for many ids. */
export async function tickets(seed, stage, ids) {
  const words = ticketWords(seed, stage, { ids });
  return ids.map((_, i) => wordsHex(words, i));
}

function wordsHex(words, i) {
  let out = "";
  for (let w = 8 * i; w < 8 * i + 8; w++) out += words[w].toString(16).padStart(8, "0");
  return out;
}

/** Order of members i and j by (ticket, id); tickets compare word by word, as their bytes do. */
function byTicketThenId(words, ids) {
  return (i, j) => {
    for (let w = 0; w < 8; w++) {
      const a = words[8 * i + w];
      const b = words[8 * j + w];
      if (a !== b) return a < b ? -1 : 1;
    }
    return compareAscii(ids[i], ids[j]);
  };
}

/**
 * The k members of `group` (indices) with the smallest (ticket, id), in that order. For a
 * small quota only members whose first ticket word lies below a cut that about 2k + 64 of them
 * pass are sorted; every such member is below every other one, so when at least k pass, the k
 * smallest are among them. Otherwise the whole group is sorted, so the answer is always exact.
 */
function smallest(k, group, words, ids) {
  if (k <= 0) return [];
  const order = byTicketThenId(words, ids);
  const n = group.length;
  if (k * 8 < n) {
    const cut = Math.min(2 ** 32, Math.floor(((2 * k + 64) / n) * 2 ** 32));
    const candidates = [];
    for (let m = 0; m < n; m++) if (words[8 * group[m]] < cut) candidates.push(group[m]);
    if (candidates.length >= k) return candidates.sort(order).slice(0, k);
  }
  return Array.from(group).sort(order).slice(0, k);
}

/**
 * Draw one stage from its from-set `members` ({ids, strata}, parallel lists, plus the
 * population's `bytes` and `starts` when drawing from it).
 * Returns {groups, picks, tickets}: the result's groups, the picks ranked by (ticket, id), and
 * `tickets.get(id)`, any member's ticket in hex (for "check my case number").
 */
export async function selectStage(seed, stage, members) {
  const { ids, strata } = members;
  const words = ticketWords(seed, stage.name, members);
  const buckets = new Map();
  if (stage.pooled) {
    const everyone = new Int32Array(ids.length);
    for (let i = 0; i < everyone.length; i++) everyone[i] = i;
    buckets.set(POOLED, everyone);
  } else {
    for (const key of Object.keys(stage.quota)) buckets.set(key, []);
    for (let i = 0; i < ids.length; i++) {
      const bucket = buckets.get(strata[i]);
      if (bucket) bucket.push(i);
    }
  }
  const groups = [];
  const chosen = [];
  for (const key of [...buckets.keys()].sort()) {
    const bucket = buckets.get(key);
    const k = stage.quota[key];
    if (k > bucket.length) {
      fail(`a quota exceeds the size of its group: stage ${stage.name} asks ${k} of group ${key}, which has ${bucket.length}`);
    }
    const picked = smallest(k, bucket, words, ids);
    groups.push({ key, quota: k, size: bucket.length, threshold: picked.length ? wordsHex(words, picked[picked.length - 1]) : null });
    chosen.push(...picked);
  }
  chosen.sort(byTicketThenId(words, ids));
  const picks = chosen.map((i) => ({ id: ids[i], stratum: strata[i], ticket: wordsHex(words, i) }));
  return { groups, picks, tickets: new TicketLookup(ids, words, Boolean(members.bytes)) };
}

/** Any member's ticket in hex by id, computed from the words only when asked. */
class TicketLookup {
  constructor(ids, words, sorted) {
    this.ids = ids;
    this.words = words;
    this.index = sorted ? null : new Map(ids.map((id, i) => [id, i]));
  }

  get(id) {
    let i;
    if (this.index) {
      i = this.index.get(id);
    } else {
      // The population's ids ascend (protocol §2): a binary search finds one.
      let low = 0;
      let high = this.ids.length - 1;
      while (low <= high) {
        const middle = (low + high) >> 1;
        const order = compareAscii(this.ids[middle], id);
        if (order === 0) {
          i = middle;
          break;
        }
        if (order < 0) low = middle + 1;
        else high = middle - 1;
      }
    }
    return i === undefined ? undefined : wordsHex(this.words, i);
  }
}

/**
 * Compute the result document (protocol §8) from population bytes, the announcement object, the
 * inputs object and drawn_at. Returns {result, bytes, details}; refuses with ProtocolError.
 */
export async function runDraw(populationBytes, announcementDoc, inputsDoc, drawnAt) {
  const population = await parsePopulation(populationBytes);
  const announcement = parseAnnouncement(announcementDoc);
  const inputs = parseInputs(inputsDoc);
  return runParsedDraw(population, announcement, inputs, drawnAt);
}

/** `runDraw` for an already parsed population, announcement and inputs. */
export async function runParsedDraw(population, announcement, inputs, drawnAt) {
  checkAgainstPopulation(announcement, population);
  parseTimestamp(drawnAt, "drawn_at");
  await checkInputs(announcement, inputs);
  const announcementDigest = await sha256Hex(canonicalBytes(announcement.document));
  const seed = await computeSeed(announcementDigest, inputs);
  const fromSets = new Map();
  fromSets.set("population", population);
  const stageDocs = [];
  const details = [];
  for (const stage of announcement.stages) {
    const { groups, picks, tickets: ticketById } = await selectStage(seed, stage, fromSets.get(stage.source));
    fromSets.set(stage.name, { ids: picks.map((p) => p.id), strata: picks.map((p) => p.stratum) });
    stageDocs.push({
      groups,
      name: stage.name,
      selected: picks.map((p, i) => ({ id: p.id, rank: i + 1, stratum: p.stratum, ticket: p.ticket })),
    });
    details.push({ name: stage.name, source: stage.source, pooled: stage.pooled, groups, tickets: ticketById });
  }
  const inputsJson = { secret: inputs.secret };
  if (inputs.dice !== null) inputsJson.dice = inputs.dice;
  if (inputs.drand !== null) inputsJson.drand = inputs.drand;
  const result = {
    announcement_digest: announcementDigest,
    draw_id: announcement.drawId,
    drawn_at: drawnAt,
    inputs: inputsJson,
    protocol: PROTOCOL,
    seed,
    stages: stageDocs,
  };
  return { result, bytes: canonicalBytes(result), seed, details };
}

export { toHex };
