// Witness cosignatures (C2SP tlog-cosignature) and `witnessed.json` (docs/bundle.md), as
// lottery/cosignature.py and lottery/witnessed.py check them: a witness key is a vkey of type
// 0x04; its cosignature line is `— <name> base64(key id || u64 timestamp || Ed25519 signature)`
// over "cosignature/v1\ntime <timestamp>\n" followed by the checkpoint body.

import { concat, equalBytes, fromBase64, sha256, toHex, utf8 } from "./bytes.js";
import { verifyConsistency } from "./merkle.js";
import { SignatureError, ed25519Verify, noteParts, openCheckpoint, splitVkey } from "./signing.js";

/** Cosignatures stamped later than this many seconds after the verifier's clock are refused. */
export const FUTURE_TOLERANCE = 600;

/** `sha256(name || "\n" || 0x04 || public key)[:4]`. */
async function cosignerKeyId(name, publicKey) {
  return (await sha256(concat(utf8(name + "\n"), Uint8Array.of(4), publicKey))).slice(0, 4);
}

/** Parse a witness vkey `<name>+<key id>+<base64(0x04 || key)>`; returns {name, keyId, publicKey, vkey}. */
export async function parseWitnessVkey(text) {
  const { name, hexId, publicKey } = splitVkey(text, 4, "witness key");
  const keyId = await cosignerKeyId(name, publicKey);
  if (toHex(keyId) !== hexId) throw new SignatureError("witness key id does not match its name and key");
  return { name, keyId, publicKey, vkey: text.trim() };
}

/** The given witnesses' cosignatures on `note`: {name: POSIX seconds}; a known witness's bad line is refused. */
export async function cosignatures(note, witnesses) {
  const { text: body, signatures } = noteParts(note);
  const found = {};
  for (const { name, blob } of signatures) {
    for (const witness of witnesses) {
      if (witness.name !== name || !equalBytes(blob.slice(0, 4), witness.keyId)) continue;
      if (blob.length !== 76) throw new SignatureError(`cosignature by ${name} is not 76 bytes`);
      const timestamp = new DataView(blob.buffer, blob.byteOffset + 4, 8).getBigUint64(0);
      const message = utf8(`cosignature/v1\ntime ${timestamp}\n${body}`);
      if (timestamp > 2n ** 63n - 1n || !(await ed25519Verify(witness.publicKey, blob.slice(12), message))) {
        throw new SignatureError(`cosignature by ${name} does not verify`);
      }
      found[name] = Number(timestamp);
    }
  }
  return found;
}

/** `cosignatures`, refusing one dated more than FUTURE_TOLERANCE after `now` (POSIX seconds). */
export async function cosignedBy(note, witnesses, now) {
  const found = await cosignatures(note, witnesses);
  for (const name of Object.keys(found).sort()) {
    if (found[name] > now + FUTURE_TOLERANCE) throw new SignatureError(`the cosignature by ${name} is dated in the future (${found[name]})`);
  }
  return found;
}

/** Every note of witnessed.json, signed by `office` and consistent with `checkpoint`: [{checkpoint, cosigned}]. */
export async function checkWitnessed(items, office, checkpoint, witnesses, now) {
  if (!Array.isArray(items)) throw new Error("witnessed.json must be a list of {note, consistency}");
  const notes = [];
  for (const [offset, item] of items.entries()) {
    const position = offset + 1;
    const keys = item && typeof item === "object" && !Array.isArray(item) ? Object.keys(item).sort().join(",") : "";
    if (keys !== "consistency,note" || typeof item.note !== "string") {
      throw new Error(`witnessed.json item ${position} must be {note, consistency}`);
    }
    try {
      notes.push(await checkOne(item.note, item.consistency, office, checkpoint, witnesses, now));
    } catch (err) {
      throw new Error(`witnessed.json item ${position}: ${err && err.message ? err.message : String(err)}`);
    }
    if (notes.length > 1 && notes[notes.length - 1].checkpoint.size < notes[notes.length - 2].checkpoint.size) {
      throw new Error(`witnessed.json item ${position} is not in ascending size order`);
    }
  }
  return notes;
}

async function checkOne(note, proof, office, checkpoint, witnesses, now) {
  const witnessed = await openCheckpoint(note, [office]);
  if (witnessed.origin !== checkpoint.origin) throw new Error(`the note is for log ${witnessed.origin}, the checkpoint for ${checkpoint.origin}`);
  if (witnessed.size > checkpoint.size) throw new Error(`size ${witnessed.size} is larger than the checkpoint's ${checkpoint.size}`);
  if (!Array.isArray(proof) || !proof.every((node) => typeof node === "string")) throw new Error("consistency must be a list of base64 hashes");
  let path;
  try {
    path = proof.map((node) => fromBase64(node));
  } catch {
    throw new Error("a consistency proof item is not base64");
  }
  if (witnessed.size === 0) {
    if (path.length) throw new Error("a note of size 0 needs an empty consistency proof");
  } else {
    await verifyConsistency(witnessed.size, checkpoint.size, path, witnessed.root, checkpoint.root);
  }
  return { checkpoint: witnessed, cosigned: await cosignedBy(note, witnesses, now) };
}

/** Per witness, its earliest cosignature on a checkpoint of size greater than `largerThan`. */
export function earliestCosignatures(notes, largerThan) {
  const earliest = {};
  for (const note of notes) {
    if (note.checkpoint.size <= largerThan) continue;
    for (const [name, moment] of Object.entries(note.cosigned)) {
      earliest[name] = name in earliest ? Math.min(earliest[name], moment) : moment;
    }
  }
  return earliest;
}

/** The moment `quorum` witnesses had cosigned (the K-th smallest time), or null if fewer did. */
export function quorumMoment(earliest, quorum) {
  const times = Object.values(earliest).sort((a, b) => a - b);
  return quorum >= 1 && quorum <= times.length ? times[quorum - 1] : null;
}

/** `2023-09-15T10:50:00Z` for POSIX seconds. */
export function utc(seconds) {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** `name at time, …` in time order (a stable sort, as Python's: equal times keep their order). */
export function describe(cosigned) {
  return Object.entries(cosigned)
    .sort(([, x], [, y]) => x - y)
    .map(([name, moment]) => `${name} at ${utc(moment)}`)
    .join(", ");
}
