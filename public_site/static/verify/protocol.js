// The sunshine-draw/1 protocol in JavaScript (protocol §2–§8): population, announcement,
// commitment, seed, tickets, selection and the result document. It mirrors lottery/ in
// Python and must agree with it byte for byte on every vector in tests/vectors/draw. The
// population and the announcement are read in population.js and announcement.js; their names
// are exported here too.

import { fromHex, sha256Hex, toHex, utf8 } from "./bytes.js";
import { canonicalBytes } from "./jcs.js";
import { TicketHasher } from "./sha256.js";
import { HEX64, POOLED, PROTOCOL, checkAgainstPopulation, parseAnnouncement, parseTimestamp } from "./announcement.js";
import { fail, ProtocolError } from "./errors.js";
import { compareAscii, parsePopulation } from "./population.js";

export {
  DRAND_MARGIN_SECONDS,
  MAX_INPUT_WINDOW_MS,
  MIN_NOTICE_MS,
  POOLED,
  PROTOCOL,
  QUICKNET_CHAIN_HASH,
  QUICKNET_GENESIS,
  QUICKNET_PERIOD,
  checkAgainstPopulation,
  parseAnnouncement,
  parseTimestamp,
  roundTime,
} from "./announcement.js";
export { ProtocolError } from "./errors.js";
export { compareAscii, parsePopulation } from "./population.js";

const HEX96 = /^[0-9a-f]{96}$/;

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
