// Canonical JSON, RFC 8785 (JCS), for the part of JSON the protocol uses: objects, arrays,
// strings, integers, true, false and null (protocol §3 allows no floats).
//
// Keys are sorted by their UTF-16 code units, as RFC 8785 §3.2.3 says, which is exactly what
// JavaScript's default string comparison does. Strings are escaped as ECMAScript's
// JSON.stringify escapes them, which is what RFC 8785 §3.2.2.2 prescribes.

import { fromUtf8, utf8 } from "./bytes.js";

export class CanonicalError extends Error {}

/** The canonical text of a value. */
export function canonicalize(value) {
  if (value === null || value === true || value === false) return String(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new CanonicalError("canonical JSON carries integers only, not floats");
    return Object.is(value, -0) ? "0" : String(value);
  }
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalize).join(",") + "]";
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalize(value[k])).join(",") + "}";
  }
  throw new CanonicalError("value cannot be canonical JSON");
}

/** The canonical UTF-8 bytes of a value. */
export function canonicalBytes(value) {
  return utf8(canonicalize(value));
}

/** Parse JSON bytes; floats and numbers beyond 2^53 are refused. */
export function parseJson(bytes, what) {
  let text;
  let value;
  try {
    text = fromUtf8(bytes);
    value = JSON.parse(text);
  } catch (err) {
    throw new CanonicalError(`${what} is not valid JSON: ${err.message}`);
  }
  if (/[0-9][.eE]/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) {
    throw new CanonicalError(`${what} has a number that is not an integer`);
  }
  return value;
}

/** Parse bytes that must already be canonical JSON (one line, sorted keys, no spaces). */
export function loadCanonical(bytes, what) {
  const value = parseJson(bytes, what);
  const again = canonicalize(value);
  if (again !== fromUtf8(bytes)) {
    throw new CanonicalError(`${what} is not in canonical form (RFC 8785, one line, no newline)`);
  }
  return value;
}
