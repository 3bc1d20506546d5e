// The verifier's synchronous SHA-256 against WebCrypto: every input length up to 300 bytes, and
// the ticket hasher for every prefix length up to 200 with every suffix that fits its two blocks.
// Prints one JSON line: {"checked": n, "wrong": [...]}.
const here = new URL("../../public_site/static/verify/", import.meta.url);
const { TicketHasher, sha256Sync } = await import(new URL("sha256.js", here));
const { toHex } = await import(new URL("bytes.js", here));

const hex = async (bytes) => toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
const wordsHex = (words) => Array.from(words, (w) => w.toString(16).padStart(8, "0")).join("");
const input = new Uint8Array(400);
for (let i = 0; i < input.length; i++) input[i] = (i * 151 + 7) & 0xff;

let checked = 0;
const wrong = [];
for (let length = 0; length <= 300; length++) {
  const bytes = input.subarray(0, length);
  if (toHex(sha256Sync(bytes)) !== (await hex(bytes))) wrong.push(`sha256Sync length ${length}`);
  checked++;
}
const out = new Uint32Array(8);
for (let prefixLength = 0; prefixLength <= 200; prefixLength++) {
  const prefix = input.subarray(0, prefixLength);
  const hasher = new TicketHasher(prefix);
  const room = 128 - 9 - (prefixLength % 64);
  for (let suffixLength = 0; suffixLength <= room; suffixLength++) {
    hasher.digestInto(input, 300 - suffixLength, 300, out, 0);
    const whole = new Uint8Array(prefixLength + suffixLength);
    whole.set(prefix);
    whole.set(input.subarray(300 - suffixLength, 300), prefixLength);
    if (wordsHex(out) !== (await hex(whole))) wrong.push(`ticket prefix ${prefixLength} suffix ${suffixLength}`);
    checked++;
  }
  let refused = false;
  try {
    hasher.digestInto(input, 0, room + 1, out, 0);
  } catch (err) {
    refused = err instanceof RangeError;
  }
  if (!refused) wrong.push(`ticket prefix ${prefixLength}: a suffix of ${room + 1} bytes was not refused`);
}
console.log(JSON.stringify({ checked, wrong: wrong.slice(0, 20) }));
