// A small ZIP reader: the central directory is read, each member is inflated with the
// browser's own DecompressionStream("deflate-raw") (stored members are copied). Enough for
// bundle.zip (docs/bundle.md) and any zip a citizen makes of the same files; no ZIP64.

const MAX_MEMBER_BYTES = 512 * 1024 * 1024;

export class ZipError extends Error {}

function u16(view, at) {
  return view.getUint16(at, true);
}

function u32(view, at) {
  return view.getUint32(at, true);
}

async function inflateRaw(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The members of a zip as {name: bytes}, with names as stored (folders skipped). */
export async function readZip(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (u32(view, i) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new ZipError("this is not a zip file");
  const count = u16(view, end + 10);
  let at = u32(view, end + 16);
  const names = new TextDecoder("utf-8");
  const found = []; // [name, size, method, compressed bytes]: read first, then all inflated at once
  for (let n = 0; n < count; n++) {
    if (at + 46 > bytes.length || u32(view, at) !== 0x02014b50) throw new ZipError("the zip's directory is damaged");
    const method = u16(view, at + 10);
    const compressedSize = u32(view, at + 20);
    const size = u32(view, at + 24);
    const nameLength = u16(view, at + 28);
    const extraLength = u16(view, at + 30);
    const commentLength = u16(view, at + 32);
    const local = u32(view, at + 42);
    const name = names.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith("/")) continue;
    if (size > MAX_MEMBER_BYTES || compressedSize > MAX_MEMBER_BYTES) throw new ZipError(`${name} is too large`);
    if (u32(view, local) !== 0x04034b50) throw new ZipError("the zip's member headers are damaged");
    const start = local + 30 + u16(view, local + 26) + u16(view, local + 28);
    if (method !== 0 && method !== 8) throw new ZipError(`${name} uses a compression this page cannot read`);
    found.push([name, size, method, bytes.subarray(start, start + compressedSize)]);
  }
  const members = {};
  const unpacked = await Promise.all(found.map(([, , method, raw]) => (method === 0 ? raw.slice() : inflateRaw(raw))));
  found.forEach(([name, size], i) => {
    if (unpacked[i].length !== size) throw new ZipError(`${name} did not unpack to its recorded size`);
    if (!(name in members)) members[name] = unpacked[i];
  });
  return members;
}

/**
 * The bundle's files from zip members: files may sit at the root or in one folder; deeper
 * members are ignored and the first of a repeated name wins (as lottery/bundle.py reads them).
 */
export function bundleFiles(members, wanted) {
  const files = {};
  for (const [name, data] of Object.entries(members)) {
    const parts = name.split("/");
    const base = parts[parts.length - 1];
    if (parts.length <= 2 && wanted.includes(base) && !(base in files)) files[base] = data;
  }
  return files;
}
