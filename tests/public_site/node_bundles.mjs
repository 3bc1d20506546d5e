// Run the in-browser verifier (verifyBundle) under Node on bundle folders: prints one JSON line
// per folder, {case, ok, checks: [{id, outcome, detail}]}. A folder's `options.json`, when present,
// is passed to verifyBundle as its options (witnesses, quorum, now).
// Usage: node tests/public_site/node_bundles.mjs DIR  (each subfolder of DIR is one bundle)
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(process.argv[2]);
const here = new URL("../../public_site/static/verify/", import.meta.url);
const { verifyBundle, REQUIRED, OPTIONAL } = await import(new URL("bundle.js", here));

for (const name of readdirSync(root).sort()) {
  const dir = join(root, name);
  const files = {};
  for (const member of [...REQUIRED, ...OPTIONAL]) {
    if (existsSync(join(dir, member))) files[member] = new Uint8Array(readFileSync(join(dir, member)));
  }
  const outcome = { case: name };
  try {
    const optionsFile = join(dir, "options.json");
    const options = existsSync(optionsFile) ? JSON.parse(readFileSync(optionsFile, "utf8")) : {};
    const report = await verifyBundle(files, options);
    outcome.ok = report.ok;
    outcome.checks = report.checks.map(({ id, outcome, detail, params }) => ({ id, outcome, detail, params }));
  } catch (err) {
    outcome.error = String(err && err.message ? err.message : err);
  }
  console.log(JSON.stringify(outcome));
}
