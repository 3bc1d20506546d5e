// Run the in-browser Merkle proof checks under Node on every tlog vector: one JSON line per case.
// Usage: node tests/public_site/node_merkle.mjs tests/vectors/tlog
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(process.argv[2]);
const here = new URL("../../public_site/static/verify/", import.meta.url);
const { verifyInclusion, verifyConsistency } = await import(new URL("merkle.js", here));

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith(".json") ? [path] : [];
  });
}

const b64 = (value) => (value ? new Uint8Array(Buffer.from(value, "base64")) : new Uint8Array(0));

for (const kind of ["inclusion", "consistency"]) {
  for (const path of files(join(root, kind)).sort()) {
    const c = JSON.parse(readFileSync(path, "utf8"));
    const proof = (c.proof || []).map(b64);
    let valid = true;
    try {
      if (kind === "inclusion") await verifyInclusion(c.leafIdx, c.treeSize, b64(c.leafHash), proof, b64(c.root));
      else await verifyConsistency(c.size1, c.size2, proof, b64(c.root1), b64(c.root2));
    } catch {
      valid = false;
    }
    console.log(JSON.stringify({ case: path.slice(root.length + 1), valid, wantErr: c.wantErr }));
  }
}
