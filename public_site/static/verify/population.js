// population.tsv (protocol §2; lottery/population.py): canonical lines of <id><TAB><stratum>, in
// byte order of the ids.

import { sha256Hex } from "./bytes.js";
import { ProtocolError } from "./errors.js";

/** An entry id and a stratum name, as protocol §2 allows them. */
export const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const STRATUM = /^[a-z0-9][a-z0-9-]{0,31}$/;

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
