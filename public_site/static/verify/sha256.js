// SHA-256 (FIPS 180-4) in plain JavaScript, synchronous, for the tickets of a draw.
//
// WebCrypto's digest is asynchronous: one promise per ticket costs far more than the hash of a
// short input, so a 100,000-entry draw took seconds. Every ticket of a stage starts with the
// same `seed || " " || stage || " "` (at least 67 bytes), so its first 64-byte block is
// compressed once (`TicketHasher`) and each ticket costs one more compression of the last
// block, written straight into a Uint32Array of words — no promise, no object per ticket. The
// shared draw vectors (tests/vectors/draw) and a comparison with WebCrypto on inputs of every
// length up to 300 bytes (tests/public_site) check it.

const K = Int32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
);
const INITIAL = Int32Array.of(
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
);
const W = new Int32Array(64);

/**
 * Compress the 64-byte block of `bytes` at `at` into the state `H` (8 words): the new state goes
 * to `out[to..to+8]` (by default back into `H`).
 */
function compress(H, bytes, at, out = H, to = 0) {
  for (let i = 0; i < 16; i++, at += 4) {
    W[i] = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15];
    const y = W[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (((W[i - 16] + s0) | 0) + ((W[i - 7] + s1) | 0)) | 0;
  }
  let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let i = 0; i < 64; i++) {
    // Sums are taken two at a time and truncated, so the engine keeps them 32-bit integers.
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (((h + s1) | 0) + ((((e & f) ^ (~e & g)) + ((K[i] + W[i]) | 0)) | 0)) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  out[to] = (H[0] + a) | 0;
  out[to + 1] = (H[1] + b) | 0;
  out[to + 2] = (H[2] + c) | 0;
  out[to + 3] = (H[3] + d) | 0;
  out[to + 4] = (H[4] + e) | 0;
  out[to + 5] = (H[5] + f) | 0;
  out[to + 6] = (H[6] + g) | 0;
  out[to + 7] = (H[7] + h) | 0;
}

/**
 * Hashes of `prefix || suffix` for one fixed prefix and many short suffixes. `digestInto`
 * writes the 8 big-endian words of each digest into a Uint32Array. What follows the prefix's
 * whole blocks, plus the suffix and the padding, must fit two blocks: a ticket's prefix leaves
 * at most 34 bytes and an id has at most 64.
 */
export class TicketHasher {
  constructor(prefix) {
    const whole = prefix.length - (prefix.length % 64);
    this.midstate = INITIAL.slice();
    for (let at = 0; at < whole; at += 64) compress(this.midstate, prefix, at);
    this.prefixLength = prefix.length;
    this.tail = prefix.length - whole;
    this.block = new Uint8Array(128);
    this.block.set(prefix.subarray(whole));
    this.state = new Int32Array(8);
    this.paddedFor = -1; // the suffix length the padding in `block` was written for
    this.blocks = 1;
  }

  /** Digest of prefix || bytes[start:end], as 8 words written to out[at..at+8]. */
  digestInto(bytes, start, end, out, at) {
    const block = this.block;
    const length = end - start;
    let used = this.tail;
    for (let i = start; i < end; i++) block[used++] = bytes[i];
    if (length !== this.paddedFor) {
      // The padding and the length field depend only on the suffix's length: ids of one
      // length (case numbers usually are) share them, so they are written once.
      if (this.tail + length + 9 > 128) throw new RangeError("a suffix this long does not fit the ticket hasher");
      block[used++] = 0x80;
      this.blocks = used + 8 <= 64 ? 1 : 2;
      const stop = this.blocks * 64 - 8;
      block.fill(0, used, stop);
      const bits = (this.prefixLength + length) * 8; // far below 2^32 for a ticket
      block.fill(0, stop, stop + 4);
      block[stop + 4] = bits >>> 24;
      block[stop + 5] = (bits >>> 16) & 0xff;
      block[stop + 6] = (bits >>> 8) & 0xff;
      block[stop + 7] = bits & 0xff;
      this.paddedFor = length;
    } else {
      block[used] = 0x80;
    }
    if (this.blocks === 1) {
      compress(this.midstate, block, 0, out, at);
    } else {
      compress(this.midstate, block, 0, this.state, 0);
      compress(this.state, block, 64, out, at);
    }
  }
}

/** SHA-256 of bytes, synchronously, as 32 bytes (for short inputs; the verifier hashes files with WebCrypto). */
export function sha256Sync(bytes) {
  const state = INITIAL.slice();
  const whole = bytes.length - (bytes.length % 64);
  for (let at = 0; at < whole; at += 64) compress(state, bytes, at);
  const rest = bytes.length - whole;
  const block = new Uint8Array(rest + 9 <= 64 ? 64 : 128);
  block.set(bytes.subarray(whole));
  block[rest] = 0x80;
  const bits = bytes.length * 8;
  const end = block.length;
  block[end - 5] = Math.floor(bits / 2 ** 32) & 0xff;
  block[end - 4] = (bits >>> 24) & 0xff;
  block[end - 3] = (bits >>> 16) & 0xff;
  block[end - 2] = (bits >>> 8) & 0xff;
  block[end - 1] = bits & 0xff;
  for (let at = 0; at < end; at += 64) compress(state, block, at);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    out[4 * i] = state[i] >>> 24;
    out[4 * i + 1] = (state[i] >>> 16) & 0xff;
    out[4 * i + 2] = (state[i] >>> 8) & 0xff;
    out[4 * i + 3] = state[i] & 0xff;
  }
  return out;
}
