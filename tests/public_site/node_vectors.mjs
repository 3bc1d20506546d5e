// Run the in-browser draw code under Node on every draw vector: prints one JSON line per case.
// Usage: node tests/public_site/node_vectors.mjs tests/vectors/draw
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const root = resolve(process.argv[2]);
const here = new URL("../../public_site/static/verify/", import.meta.url);
const { runDraw } = await import(new URL("protocol.js", here));
const { parseJson } = await import(new URL("jcs.js", here));
const { fromUtf8 } = await import(new URL("bytes.js", here));

for (const name of readdirSync(root).sort()) {
  const dir = join(root, name);
  if (!existsSync(join(dir, "announcement.json"))) continue;
  const read = (f) => new Uint8Array(readFileSync(join(dir, f)));
  const outcome = { case: name };
  try {
    const { bytes } = await runDraw(
      read("population.tsv"),
      parseJson(read("announcement.json"), "announcement.json"),
      parseJson(read("inputs.json"), "inputs.json"),
      fromUtf8(read("drawn_at")).trim(),
    );
    outcome.result = fromUtf8(bytes);
  } catch (err) {
    outcome.error = String(err.message);
  }
  console.log(JSON.stringify(outcome));
}
