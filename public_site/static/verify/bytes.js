// Bytes, text and hashes for the in-browser verifier (also runs in Node 20+ for tests).
// SHA-256 comes from WebCrypto (crypto.subtle), which browsers offer on https:// and localhost;
// short inputs are hashed by sha256.js, without a promise.

import { sha256Sync } from "./sha256.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 bytes of a string. */
export function utf8(text) {
  return encoder.encode(text);
}

/** The string of UTF-8 bytes; throws on invalid UTF-8. */
export function fromUtf8(bytes) {
  return decoder.decode(bytes);
}

/** Lowercase hex of bytes. */
export function toHex(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, "0");
  return out;
}

/** Bytes of a lowercase or uppercase hex string; throws on anything else. */
export function fromHex(hex) {
  if (hex.length % 2 || /[^0-9a-fA-F]/.test(hex)) throw new Error("not hex");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 (with padding) of bytes. */
export function toBase64(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i], b = bytes[i + 1], c = bytes[i + 2];
    out += B64[a >> 2] + B64[((a & 3) << 4) | ((b ?? 0) >> 4)];
    out += b === undefined ? "=" : B64[((b & 15) << 2) | ((c ?? 0) >> 6)];
    out += c === undefined ? "=" : B64[c & 63];
  }
  return out;
}

/** Bytes of canonical standard base64; throws unless re-encoding gives the same text (as lottery/signing.py). */
export function fromBase64(text) {
  if (typeof text !== "string" || text.length % 4 || /[^A-Za-z0-9+/=]/.test(text) || /=[^=]/.test(text)) {
    throw new Error("not valid base64");
  }
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const n = [0, 1, 2, 3].map((j) => (text[i + j] === "=" ? 0 : B64.indexOf(text[i + j])));
    const v = (n[0] << 18) | (n[1] << 12) | (n[2] << 6) | n[3];
    if (o < out.length) out[o++] = (v >> 16) & 255;
    if (o < out.length) out[o++] = (v >> 8) & 255;
    if (o < out.length) out[o++] = v & 255;
  }
  if (toBase64(out) !== text) throw new Error("not canonical base64");
  return out;
}

/** The bytes of several arrays one after the other. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** True when two byte arrays hold the same bytes. */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) throw new Error("this browser offers no WebCrypto here (open the page over https)");
  return s;
}

/** Inputs shorter than this are hashed in JavaScript: a WebCrypto call costs more than the hash. */
const SMALL = 4096;

/** SHA-256 of bytes (or of a string's UTF-8), as bytes. */
export async function sha256(data) {
  const bytes = typeof data === "string" ? utf8(data) : data;
  if (bytes.length < SMALL) return sha256Sync(bytes);
  return new Uint8Array(await subtle().digest("SHA-256", bytes));
}

/** SHA-256 as lowercase hex. */
export async function sha256Hex(data) {
  return toHex(await sha256(data));
}

/** SHA-512 (for the Ed25519 fallback library). */
export async function sha512(data) {
  return new Uint8Array(await subtle().digest("SHA-512", data));
}
