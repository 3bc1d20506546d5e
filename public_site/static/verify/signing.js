// Office keys, Ed25519 signatures, C2SP signed notes and checkpoints (protocol §9–§10), as
// lottery/signing.py and lottery/checkpoint.py check them.
//
// Ed25519 is verified with WebCrypto where the browser has it; otherwise with the vendored
// noble-ed25519 (vendor/noble-ed25519.js, MIT, see vendor/noble-ed25519.LICENSE), in strict
// RFC 8032 mode like Python's `cryptography`.

import { concat, equalBytes, fromBase64, fromUtf8, sha256, sha512, toHex, utf8 } from "./bytes.js";

export class SignatureError extends Error {}

const NAME = /^[^\s+]+$/;

async function verifyWithWebCrypto(publicKey, signature, message) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return null;
  let key;
  try {
    key = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (err) {
    if (err && err.name === "NotSupportedError") return null;
    return false; // a malformed key verifies nothing
  }
  return subtle.verify({ name: "Ed25519" }, key, signature, message);
}

let noble = null;

async function verifyWithNoble(publicKey, signature, message) {
  if (!noble) {
    noble = await import("./vendor/noble-ed25519.js");
    noble.etc.sha512Async = async (...parts) => sha512(concat(...parts));
  }
  try {
    return await noble.verifyAsync(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** Which Ed25519 implementation this browser uses ("WebCrypto" or "noble-ed25519"). */
export let ed25519Engine = "WebCrypto";

/** True when `signature` is the Ed25519 signature of `publicKey` over `message`. */
export async function ed25519Verify(publicKey, signature, message) {
  const native = await verifyWithWebCrypto(publicKey, signature, message);
  if (native !== null) return native;
  ed25519Engine = "noble-ed25519";
  return verifyWithNoble(publicKey, signature, message);
}

/** The 4-byte key id: `sha256(name || "\n" || 0x01 || public key)[0:4]`. */
export async function keyId(name, publicKey) {
  return (await sha256(concat(utf8(name + "\n"), Uint8Array.of(1), publicKey))).slice(0, 4);
}

/**
 * Split a vkey `<name>+<key id>+<base64(type || 32-byte key)>` of signature type `type` (0x01 an
 * office key, 0x04 a witness's cosignature key); returns {name, hexId, publicKey}.
 */
export function splitVkey(text, type, what) {
  const trimmed = text.trim();
  const first = trimmed.indexOf("+");
  const second = trimmed.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new SignatureError(`${what} must be <name>+<key id>+<base64 key>`);
  const name = trimmed.slice(0, first);
  const hexId = trimmed.slice(first + 1, second);
  const encoded = trimmed.slice(second + 1);
  if (!NAME.test(name)) throw new SignatureError("key name must be non-empty with no spaces and no '+'");
  let raw;
  try {
    raw = fromBase64(encoded);
  } catch {
    throw new SignatureError(type === 1 ? "verifier key is not valid base64" : "witness key is not valid hex and base64");
  }
  if (!/^[0-9a-fA-F]{8}$/.test(hexId) || raw.length !== 33 || raw[0] !== type) {
    throw new SignatureError(
      type === 1 ? "verifier key is not an Ed25519 key (algorithm 0x01, 32 bytes)" : "not an Ed25519 cosignature key (type 0x04, 32 bytes)",
    );
  }
  return { name, hexId: hexId.toLowerCase(), publicKey: raw.slice(1) };
}

/** Parse and check a vkey `<name>+<key id>+<base64(0x01 || key)>`; returns {name, keyId, publicKey, vkey}. */
export async function parseVkey(text) {
  const { name, hexId, publicKey } = splitVkey(text, 1, "verifier key");
  const id = await keyId(name, publicKey);
  if (toHex(id) !== hexId) throw new SignatureError("verifier key id does not match its name and key");
  return { name, keyId: id, publicKey, vkey: text.trim() };
}

/** Refuse unless `sigFile` (base64 line + "\n") is the key's signature over exactly `data`. */
export async function verifyDocument(verifier, data, sigFile) {
  let text;
  try {
    text = fromUtf8(sigFile);
  } catch {
    throw new SignatureError("signature file is not text");
  }
  if (!text.endsWith("\n") || text.split("\n").length !== 2) {
    throw new SignatureError("signature file must be one base64 line ending with a newline");
  }
  let signature;
  try {
    signature = fromBase64(text.trim());
  } catch (err) {
    throw new SignatureError(`signature file is ${err.message}`);
  }
  if (signature.length !== 64) throw new SignatureError("signature is not 64 bytes");
  if (!(await ed25519Verify(verifier.publicKey, signature, data))) {
    throw new SignatureError(`signature does not verify with key ${verifier.name}+${toHex(verifier.keyId)}`);
  }
}

/**
 * A signed note's text (with its final newline) and its signature lines, each {name, blob}
 * (`blob` = key id || signature); refuses a malformed note or line.
 */
export function noteParts(note) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new SignatureError("note must be text, a blank line, and signature lines");
  const lines = note.slice(split + 2).split("\n").slice(0, -1);
  if (!lines.length || lines.length > 100) throw new SignatureError("note has no signature lines, or too many");
  const signatures = lines.map((line) => {
    if (!line.startsWith("\u2014 ") || line.split(" ").length !== 3) throw new SignatureError("malformed note signature line");
    const [, name, encoded] = line.split(" ");
    try {
      return { name, blob: fromBase64(encoded) };
    } catch {
      throw new SignatureError("note signature is not valid base64");
    }
  });
  return { text: note.slice(0, split + 1), signatures };
}

/** Check a C2SP signed note; returns {text, signedBy}. Unknown keys are ignored. */
export async function openNote(note, verifiers) {
  const { text, signatures } = noteParts(note);
  const signedBy = [];
  for (const { name, blob } of signatures) {
    if (blob.length < 5) throw new SignatureError("note signature is too short");
    for (const verifier of verifiers) {
      if (verifier.name === name && equalBytes(verifier.keyId, blob.slice(0, 4))) {
        if (!(await ed25519Verify(verifier.publicKey, blob.slice(4), utf8(text)))) {
          throw new SignatureError(`note signature by ${name} does not verify`);
        }
        signedBy.push(verifier);
      }
    }
  }
  if (!signedBy.length) throw new SignatureError("note carries no signature from a known key");
  return { text, signedBy };
}

/** Parse checkpoint text `<origin>\n<size>\n<base64 root>\n` (extension lines allowed). */
export function parseCheckpointBody(text) {
  const lines = text.split("\n");
  if (lines.length < 4 || lines[lines.length - 1] !== "") {
    throw new SignatureError("checkpoint must be origin, size and root hash on their own lines");
  }
  const [origin, size, root] = lines;
  if (!origin || !/^(0|[1-9][0-9]{0,15})$/.test(size)) throw new SignatureError("checkpoint origin or size is malformed");
  let rootBytes;
  try {
    rootBytes = fromBase64(root);
  } catch {
    throw new SignatureError("checkpoint root is not base64");
  }
  if (rootBytes.length !== 32) throw new SignatureError("checkpoint root is not a SHA-256 hash");
  return { origin, size: Number(size), root: rootBytes };
}

/** Verify a signed checkpoint with the office key and parse it. */
export async function openCheckpoint(note, verifiers) {
  const { text, signedBy } = await openNote(note, verifiers);
  const checkpoint = parseCheckpointBody(text);
  if (signedBy.every((v) => v.name !== checkpoint.origin)) throw new SignatureError("checkpoint is not signed by its origin's key");
  return checkpoint;
}
