// RFC 9162 Merkle proofs, as lottery/merkle.py verifies them (§2.1.3.2 and §2.1.4.2).

import { concat, equalBytes, sha256 } from "./bytes.js";

export class ProofError extends Error {}

/** `sha256(0x00 || entry)`. */
export function leafHash(entry) {
  return sha256(concat(Uint8Array.of(0), entry));
}

/** `sha256(0x01 || left || right)`. */
export function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

// Sizes and indices stay below 2^53; BigInt keeps the bit shifts exact beyond 2^31.
const big = BigInt;

/** Recompute the root from an inclusion proof; refuse a malformed one. */
export async function rootFromInclusion(index, size, leaf, path) {
  if (!(index >= 0 && index < size)) throw new ProofError(`index ${index} is not below tree size ${size}`);
  if (leaf.length !== 32 || path.some((p) => p.length !== 32)) throw new ProofError("proof hashes must be 32 bytes");
  let fn = big(index);
  let sn = big(size - 1);
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) throw new ProofError("inclusion proof is longer than the tree is deep");
    if (fn & 1n || fn === sn) {
      r = await nodeHash(p, r);
      if (!(fn & 1n)) {
        while (fn && !(fn & 1n)) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError("inclusion proof is shorter than the tree is deep");
  return r;
}

/** Refuse unless `leaf` is at `index` of the tree of `size` with `root`. */
export async function verifyInclusion(index, size, leaf, path, root) {
  if (!equalBytes(await rootFromInclusion(index, size, leaf, path), root)) {
    throw new ProofError("inclusion proof does not lead to the root");
  }
}

/** Refuse unless the tree (first, firstRoot) is a prefix of (second, secondRoot). */
export async function verifyConsistency(first, second, path, firstRoot, secondRoot) {
  if (first < 1 || second < first) throw new ProofError(`no consistency between sizes ${first} and ${second}`);
  if (first === second) {
    if (path.length) throw new ProofError("equal sizes need an empty consistency proof");
    if (!equalBytes(firstRoot, secondRoot)) throw new ProofError("roots differ for the same tree size");
    return;
  }
  if (!path.length || path.some((p) => p.length !== 32)) throw new ProofError("consistency proof is empty or malformed");
  const nodes = [...path];
  const f = big(first);
  if ((f & (f - 1n)) === 0n) nodes.unshift(firstRoot);
  let fn = f - 1n;
  let sn = big(second) - 1n;
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = nodes[0];
  let sr = nodes[0];
  for (const c of nodes.slice(1)) {
    if (sn === 0n) throw new ProofError("consistency proof is longer than needed");
    if (fn & 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!(fn & 1n)) {
        while (fn && !(fn & 1n)) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError("consistency proof is shorter than needed");
  if (!equalBytes(fr, firstRoot) || !equalBytes(sr, secondRoot)) {
    throw new ProofError("consistency proof does not reproduce both roots");
  }
}
