// The verify page: fetch bundle.zip (relative to the page, so it also works in the static
// export), or take files the citizen drops or chooses, run verifyBundle, and show each check
// in plain words. #verify-status ends with data-verify-status="ok" or "fail".

import { OPTIONAL, REQUIRED, verifyBundle } from "./bundle.js";
import { compareAscii } from "./protocol.js";
import { ed25519Engine } from "./signing.js";
import { bundleFiles, readZip } from "./zip.js";

const root = document.getElementById("verifier");
const statusBox = document.getElementById("verify-status");
const checksList = document.getElementById("checks");
const sourceLine = document.getElementById("verify-source");
const caseForm = document.getElementById("case-form");
const caseInput = document.getElementById("case-id");
const caseAnswer = document.getElementById("case-answer");
const WANTED = [...REQUIRED, ...OPTIONAL];

const messages = {};
for (const span of document.getElementById("verify-text").content.querySelectorAll("[data-key]")) {
  messages[span.dataset.key] = span.textContent;
}

function text(key, params = {}) {
  const template = messages[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const english = document.documentElement.lang === "en";

/** `2023-09-15T10:40:00Z` in Taiwan time: `112/09/15 18:40:00` (ROC calendar), or `2023-09-15 18:40:00` in English. */
function localTime(iso) {
  const parts = {};
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: "Asia/Taipei", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  for (const part of format.formatToParts(new Date(iso))) parts[part.type] = part.value;
  const year = english ? parts.year : String(Number(parts.year) - 1911).padStart(3, "0");
  const date = english ? `${year}-${parts.month}-${parts.day}` : `${year}/${parts.month}/${parts.day}`;
  return `${date} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/** A duration in whole minutes, rounded down: `3 天 9 小時 40 分鐘` / `3 days 9 h 40 min`. */
function localDuration(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const [days, hours, mins] = [Math.floor(minutes / 1440), Math.floor((minutes % 1440) / 60), minutes % 60];
  const parts = [];
  if (days) parts.push(text(days === 1 ? "duration-day" : "duration-days", { n: days }));
  if (hours) parts.push(text("duration-hours", { n: hours }));
  if (mins || !parts.length) parts.push(text("duration-minutes", { n: mins }));
  return (ms < 0 ? "-" : "") + parts.join(" ");
}

function stepName(name) {
  return messages[`step-${name}`] ?? name;
}

/** The values of a detail in the reader's language (see the naming in bundle.js). */
function localValues(values = {}) {
  const out = {};
  for (const [name, value] of Object.entries(values)) {
    const [base, kind] = name.includes("_") ? [name.slice(0, name.lastIndexOf("_")), name.slice(name.lastIndexOf("_") + 1)] : [name, ""];
    if (kind === "time") out[base] = localTime(value);
    else if (kind === "ms") out[base] = localDuration(value);
    else if (kind === "steps") out[base] = value.map(stepName).join(" → ");
    else if (kind === "names") out[base] = value.map(stepName).join(text("list-separator"));
    else if (kind === "times") out[base] = value.map(([step, at]) => `${stepName(step)} ${localTime(at)}`).join(text("list-separator"));
    else if (kind === "stages") out[base] = value.map(([stage, count]) => text("stage-count", { stage: stageName(stage), count })).join(text("list-separator"));
    else out[name] = value;
  }
  return out;
}

function element(tag, className, content) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

function setStatus(state, message) {
  statusBox.dataset.verifyStatus = state;
  statusBox.querySelector(".status-mark").textContent = state === "ok" ? "✓" : state === "fail" ? "✗" : "⟳";
  statusBox.querySelector(".status-text").textContent = message;
}

let lastDraw = null;

function showChecks(checks) {
  checksList.replaceChildren();
  for (const check of checks) {
    const item = element("li", `check check-${check.outcome}`);
    item.dataset.check = check.id;
    item.dataset.outcome = check.outcome;
    const mark = element("span", "check-mark", text(`mark-${check.outcome}`));
    mark.setAttribute("aria-hidden", "true");
    const values = check.say ? localValues(check.say.values) : {};
    const params = { ...check.params, ...values };
    if (check.params && check.params.answer) params.answer = text(`answer-${check.params.answer}`);
    const title = element("span", "check-title", text(`${check.id}.title`, params));
    const label = element("span", "sr-only", ` (${text(`label-${check.outcome}`)})`);
    title.append(label);
    item.append(mark, title, element("span", "check-means", text(`${check.id}.means`, params)));
    if (check.say && check.say.key === "code") item.append(element("code", "check-detail mono break", check.detail));
    else if (check.say && `detail-${check.say.key}` in messages) item.append(element("span", "check-detail break", text(`detail-${check.say.key}`, values)));
    else if (check.detail) item.append(element("span", "check-detail mono break", check.detail));
    checksList.append(item);
  }
}

async function run(files, source) {
  setStatus("running", text("status-running"));
  checksList.replaceChildren();
  lastDraw = null;
  setCaseEnabled(false);
  try {
    if (!globalThis.crypto || !globalThis.crypto.subtle) throw new Error(text("no-crypto"));
    const publishedKeys = (root.dataset.publishedKeys || "").split("\n").filter(Boolean);
    const witnesses = (root.dataset.witnesses || "").split("\n").filter(Boolean);
    const quorum = Number(root.dataset.quorum) || witnesses.length;
    const report = await verifyBundle(files, { publishedKeys, witnesses, quorum });
    showChecks(report.checks);
    lastDraw = report.draw;
    root.dataset.ed25519 = ed25519Engine;
    sourceLine.textContent = `${source} · ${messages[`engine-${ed25519Engine}`] ?? `Ed25519: ${ed25519Engine}`}`;
    setStatus(report.ok ? "ok" : "fail", text(report.ok ? "status-ok" : "status-fail"));
  } catch (err) {
    setStatus("fail", text("status-error", { error: err && err.message ? err.message : String(err) }));
  }
  setCaseEnabled(Boolean(lastDraw));
}

async function filesFromUploads(list) {
  let files = {};
  const names = [];
  for (const file of list) {
    const data = new Uint8Array(await file.arrayBuffer());
    names.push(file.name);
    if (/\.zip$/i.test(file.name) || (data[0] === 0x50 && data[1] === 0x4b)) {
      files = { ...bundleFiles(await readZip(data), WANTED), ...files };
    } else if (WANTED.includes(file.name) && !(file.name in files)) {
      files[file.name] = data;
    }
  }
  return { files, names };
}

async function verifyUploads(list) {
  if (!list || !list.length) return;
  try {
    const { files, names } = await filesFromUploads([...list]);
    await run(files, text("source-local", { names: names.slice(0, 6).join(", ") + (names.length > 6 ? "…" : "") }));
  } catch (err) {
    setStatus("fail", text("status-error", { error: err.message }));
  }
}

async function entriesFromDrop(items) {
  const found = [];
  const walk = (entry) =>
    new Promise((resolve) => {
      if (entry.isFile) entry.file((file) => { found.push(file); resolve(); }, () => resolve());
      else if (entry.isDirectory) entry.createReader().readEntries(async (children) => { for (const c of children) await walk(c); resolve(); }, () => resolve());
      else resolve();
    });
  for (const item of items) {
    const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (entry) await walk(entry);
    else if (item.getAsFile && item.getAsFile()) found.push(item.getAsFile());
  }
  return found;
}

function setCaseEnabled(enabled) {
  caseInput.disabled = !enabled;
  caseForm.querySelector("button").disabled = !enabled;
}

function stageName(name) {
  return messages[`stage-${name}`] ?? name;
}

function showCase(id) {
  caseAnswer.replaceChildren();
  if (!lastDraw) {
    caseAnswer.append(element("p", "", text("case-wait")));
    return;
  }
  const index = lastDraw.population.ids.indexOf(id);
  if (index < 0) {
    caseAnswer.append(element("p", "case-verdict", text("case-unknown", { id })));
    return;
  }
  const stratum = lastDraw.population.strata[index];
  for (const stage of lastDraw.stages) {
    const block = element("div", "case-stage");
    block.dataset.stage = stage.name;
    const ticket = stage.tickets.get(id);
    const params = { id, stage: stageName(stage.name) };
    if (!ticket) {
      block.dataset.selected = "n/a";
      block.append(element("p", "case-verdict", text("case-not-in-stage", params)));
      caseAnswer.append(block);
      continue;
    }
    const group = stage.groups.find((g) => g.key === "*" || g.key === stratum);
    const picked = lastDraw.result.stages.find((s) => s.name === stage.name).selected.find((s) => s.id === id);
    const selected = Boolean(picked);
    block.dataset.selected = selected ? "yes" : "no";
    const verdict = selected ? text("case-selected", { ...params, rank: picked.rank }) : text("case-not-selected", params);
    block.append(element("p", `case-verdict ${selected ? "yes" : "no"}`, verdict));
    const facts = element("dl");
    facts.append(element("dt", "", text("case-ticket")), element("dd", "mono break case-ticket", ticket));
    const groupName = group.key === "*" ? text("group-all") : messages[`stratum-${group.key}`] ?? group.key;
    facts.append(element("dt", "", text("case-threshold", { group: groupName })), element("dd", "mono break", group.threshold ?? "—"));
    block.append(facts);
    const below = group.threshold !== null && compareAscii(ticket, group.threshold) <= 0;
    block.append(element("p", "small", text(below ? "case-below" : "case-above")));
    block.append(element("p", "small muted", text("case-command")));
    block.append(element("pre", "command", `printf '%s %s %s' ${lastDraw.seed} ${stage.name} ${id} | sha256sum`));
    caseAnswer.append(block);
  }
}

caseForm.addEventListener("submit", (event) => {
  event.preventDefault();
  showCase(caseInput.value.trim());
});

document.getElementById("bundle-file").addEventListener("change", (event) => verifyUploads(event.target.files));
document.getElementById("bundle-folder").addEventListener("change", (event) => verifyUploads(event.target.files));
const dropzone = document.getElementById("dropzone");
for (const name of ["dragenter", "dragover"]) {
  dropzone.addEventListener(name, (event) => {
    event.preventDefault();
    dropzone.classList.add("over");
  });
}
dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
dropzone.addEventListener("drop", async (event) => {
  event.preventDefault();
  dropzone.classList.remove("over");
  const files = event.dataTransfer.items ? await entriesFromDrop([...event.dataTransfer.items]) : [...event.dataTransfer.files];
  verifyUploads(files);
});

async function verifyFromSite() {
  setStatus("running", text("status-running"));
  try {
    const response = await fetch(root.dataset.bundleUrl, { cache: "no-cache" });
    if (!response.ok) throw new Error(`bundle.zip: HTTP ${response.status}`);
    const data = new Uint8Array(await response.arrayBuffer());
    const files = bundleFiles(await readZip(data), WANTED);
    await run(files, text("source-site", { size: data.length }));
  } catch (err) {
    setStatus("fail", text("status-error", { error: err && err.message ? err.message : String(err) }));
  }
}

if (root.dataset.auto === "yes") verifyFromSite();

