// The stage display: polls live.json twice a second (the server answers 304 while nothing
// changed) and shows the scene the operator's console has reached. The 1920×1080 canvas is
// scaled to fit any window, so an OBS browser source and a laptop both show all of it.

const stage = document.getElementById("stage");
const stateUrl = stage.dataset.stateUrl;
const ORDER = ["waiting", "population", "dice", "secret", "drand", "seed", "revealing", "done"];
// The drand round and the seed arrive together; each stays on screen at least this long (ms)
// when the display moves through them live, so the stream sees both.
const DWELL = { drand: 6000, seed: 5000 };
const POLL_MS = 500;
const LOCALE = document.documentElement.lang === "en" ? "en-GB" : "zh-TW";
// Dates in Chinese in the ROC calendar, as offices write them (民國114年3月15日).
const DATE_LOCALE = LOCALE === "zh-TW" ? "zh-TW-u-ca-roc" : LOCALE;

const words = {};
for (const span of document.getElementById("stage-text").content.querySelectorAll("[data-key]")) {
  words[span.dataset.key] = span.textContent;
}

function say(key, params = {}) {
  return (words[key] ?? key).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function byId(id) {
  return document.getElementById(id);
}

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function fit() {
  const scale = Math.min(window.innerWidth / 1920, window.innerHeight / 1080);
  stage.style.transform = `translate(${(window.innerWidth - 1920 * scale) / 2}px, ${(window.innerHeight - 1080 * scale) / 2}px) scale(${scale})`;
}
window.addEventListener("resize", fit);
fit();

const clock = byId("st-clock");
function tickClock() {
  clock.textContent = new Intl.DateTimeFormat("zh-TW", { timeZone: "Asia/Taipei", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(new Date());
}
tickClock();
window.setInterval(tickClock, 1000);

async function sha256Hex(text) {
  if (!globalThis.crypto || !crypto.subtle) return null;
  const data = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function hexBytes(hex) {
  return new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
}

function stageName(name) {
  return words[`stage-${name}`] ?? name;
}

function stratumName(key) {
  return words[`stratum-${key}`] ?? key;
}

/** A 64-hex value as two lines of two 16-character groups, so it never breaks mid-group. */
function grouped(hex) {
  if (!hex) return "";
  const groups = hex.match(/.{1,16}/g);
  const lines = [];
  for (let i = 0; i < groups.length; i += 2) lines.push(groups.slice(i, i + 2).join(" "));
  return lines.join("\n");
}

// --- scenes -------------------------------------------------------------------------------

function renderWaiting(state) {
  if (state.scheduled_at) {
    const when = new Date(state.scheduled_at);
    const date = new Intl.DateTimeFormat(DATE_LOCALE, { timeZone: "Asia/Taipei", year: "numeric", month: "long", day: "numeric", weekday: "short" }).format(when);
    const time = new Intl.DateTimeFormat(LOCALE, { timeZone: "Asia/Taipei", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(when);
    byId("st-when").textContent = say("when", { date, time });
  }
  const quotas = (state.stages || []).map((s) => Object.values(s.quota).reduce((a, b) => a + b, 0));
  byId("st-wait-drawn").textContent = quotas.join(" + ");
  if (byId("st-wait-dice")) byId("st-wait-dice").textContent = String(state.dice.count);
  if (byId("st-wait-round")) byId("st-wait-round").textContent = String(state.drand.round);
  byId("st-wait-commitment").textContent = grouped(state.commitment);
}

function renderPopulation(state) {
  const pop = state.population || {};
  byId("st-pop-size").textContent = pop.size ?? "";
  byId("st-pop-digest").textContent = pop.digest ?? "";
  const strata = byId("st-strata");
  strata.replaceChildren();
  for (const [key, count] of Object.entries(pop.strata || {})) {
    const item = make("li");
    item.append(make("span", "", stratumName(key)), make("b", "", String(count)));
    strata.append(item);
  }
  const stages = byId("st-stages");
  stages.replaceChildren();
  for (const s of state.stages || []) {
    const total = Object.values(s.quota).reduce((a, b) => a + b, 0);
    const item = make("li");
    const from = s.from === "population" ? say("from-population", { size: pop.size }) : say("from-stage", { stage: stageName(s.from) });
    item.append(make("span", "name", stageName(s.name)), make("span", "count", String(total)), make("span", "from", from));
    stages.append(item);
  }
  const derivation = byId("st-derivation");
  derivation.replaceChildren(...(state.derivation || []).map((line) => make("li", "", line)));
}

let diceShown = "";
function renderDice(state) {
  const count = state.dice.count || 0;
  const value = state.dice.value || "";
  const box = byId("st-dice");
  box.classList.toggle("many", count > 20);
  if (box.childElementCount !== count) {
    box.replaceChildren();
    diceShown = "";
    for (let i = 0; i < count; i++) {
      const die = make("div", "die empty");
      die.append(make("small", "", String(i + 1)), make("span", "", "?"));
      box.append(die);
    }
  }
  if (value === diceShown) return;
  [...value].forEach((digit, i) => {
    const die = box.children[i];
    if (!die || die.dataset.digit === digit) return;
    die.dataset.digit = digit;
    die.className = "die shown";
    die.style.animationDelay = `${(i - diceShown.length) * 90}ms`;
    die.lastChild.textContent = digit;
  });
  diceShown = value;
}

async function renderSecret(state) {
  if (!state.secret) return;
  byId("st-secret").textContent = grouped(state.secret);
  byId("st-commitment").textContent = grouped(state.commitment);
  const recomputed = await sha256Hex("sunshine-draw/1 commitment\n" + state.secret);
  byId("st-secret-hash").textContent = grouped(recomputed ?? state.commitment);
  const ok = recomputed === null ? state.checks.commitment : recomputed === state.commitment;
  byId("st-secret-verdict").dataset.ok = ok ? "yes" : "no";
}

async function renderDrand(state) {
  if (!state.drand) return;
  byId("st-round").textContent = String(state.drand.round);
  if (!state.drand.randomness) return;
  byId("st-randomness").textContent = grouped(state.drand.randomness);
  byId("st-signature").textContent = state.drand.signature;
  const recomputed = await sha256Hex(hexBytes(state.drand.signature));
  const ok = recomputed === null ? state.checks.randomness : recomputed === state.drand.randomness;
  byId("st-drand-verdict").dataset.ok = ok ? "yes" : "no";
}

function renderSeed(state) {
  byId("st-seed").textContent = grouped(state.seed || "");
  byId("st-in-secret").textContent = (state.secret || "").slice(0, 16) + "…";
  byId("st-in-dice").textContent = state.dice.value || "";
  byId("st-in-drand").textContent = state.drand && state.drand.randomness ? `#${state.drand.round} ${state.drand.randomness.slice(0, 8)}…` : "";
  for (const el of document.querySelectorAll(".st-if-dice")) el.hidden = !state.dice.count;
  for (const el of document.querySelectorAll(".st-if-drand")) el.hidden = !state.drand;
}

let lastRevealed = 0;
function renderRevealing(state) {
  const revealed = state.revealed || [];
  const latest = revealed[revealed.length - 1];
  if (!latest) return;
  byId("st-current-stage").textContent = say("selected-for", { stage: stageName(latest.stage) });
  const stageTotal = revealed.filter((r) => r.stage === latest.stage).length;
  const total = (state.groups[latest.stage] || []).reduce((n, g) => n + g.quota, 0);
  byId("st-current-rank").textContent = say("rank", { rank: stageTotal, total });
  const caseLine = byId("st-current-case");
  caseLine.textContent = latest.id;
  caseLine.style.fontSize = `${Math.min(120, Math.floor(600 / (0.62 * latest.id.length)))}px`;
  byId("st-current-ticket").textContent = grouped(latest.ticket);
  renderAxis(state, revealed);
  byId("st-count").textContent = say("revealed", { shown: revealed.length, total: state.total });
  const grid = byId("st-grid");
  grid.classList.toggle("dense", state.total > 30);
  grid.classList.toggle("denser", state.total > 50);
  const shown = state.total > 70 ? revealed.slice(-70) : revealed;
  grid.replaceChildren(
    ...shown.map((r, i) => {
      const item = make("li", r.stage === "review" ? "" : "comparison");
      if (i === shown.length - 1) item.classList.add("latest");
      item.append(make("small", "", String(r.rank)), make("span", "", r.id));
      return item;
    }),
  );
  if (revealed.length !== lastRevealed) {
    const card = document.querySelector(".st-current");
    card.classList.remove("flash");
    void card.offsetWidth;
    card.classList.add("flash");
    lastRevealed = revealed.length;
  }
}

// The revealed tickets on the axis from 0 to the group's threshold: each new selection lands
// just right of the one before, and all sit left of the red line.
const SVG = "http://www.w3.org/2000/svg";
function renderAxis(state, revealed) {
  const latest = revealed[revealed.length - 1];
  const groups = state.groups[latest.stage] || [];
  const threshold = groups.map((g) => g.threshold).filter(Boolean).sort().pop();
  const svg = byId("st-axis-svg");
  if (!threshold) return;
  const end = parseInt(threshold.slice(0, 12), 16) * 1.08;
  const x = (ticket) => 20 + (1000 - 40) * (parseInt(ticket.slice(0, 12), 16) / end);
  const shape = (tag, attrs) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  };
  const nodes = [shape("line", { class: "axis-line", x1: 20, y1: 70, x2: 980, y2: 70 })];
  const tx = x(threshold);
  nodes.push(shape("line", { class: "axis-threshold", x1: tx, y1: 18, x2: tx, y2: 100 }));
  revealed.filter((r) => r.stage === latest.stage).forEach((r, i, all) => {
    nodes.push(shape("circle", { class: "axis-pick" + (i === all.length - 1 ? " latest" : ""), cx: x(r.ticket), cy: 70, r: 11 }));
  });
  svg.replaceChildren(...nodes);
}

function renderDone(state) {
  const final = byId("st-final");
  final.replaceChildren();
  const byStage = new Map();
  for (const r of state.revealed || []) {
    if (!byStage.has(r.stage)) byStage.set(r.stage, []);
    byStage.get(r.stage).push(r);
  }
  for (const [name, picks] of byStage) {
    const block = make("div", "st-final-stage");
    block.append(make("h3", "", `${stageName(name)} · ${say("draws", { count: picks.length })}`));
    const grid = make("ol", "st-grid" + (picks.length > 30 ? " dense" : "") + (picks.length > 50 ? " denser" : ""));
    for (const r of picks.slice(0, 72)) {
      const item = make("li", name === "review" ? "" : "comparison");
      item.append(make("small", "", String(r.rank)), make("span", "", r.id));
      grid.append(item);
    }
    block.append(grid);
    final.append(block);
  }
}

const RENDER = {
  waiting: renderWaiting,
  population: renderPopulation,
  dice: renderDice,
  secret: renderSecret,
  drand: renderDrand,
  seed: renderSeed,
  revealing: renderRevealing,
  done: renderDone,
  abandoned: (state) => {
    byId("st-abandoned-reason").textContent = state.abandoned_reason || "";
  },
};

// --- scene sequencing ---------------------------------------------------------------------

let current = null;
let shownAt = 0;
let latestState = null;
let seenLive = false;

function show(scene, state) {
  if (scene !== current) {
    for (const section of document.querySelectorAll(".scene")) section.hidden = section.dataset.sceneName !== scene;
    current = scene;
    shownAt = Date.now();
    stage.dataset.scene = scene;
    const railIndex = ORDER.indexOf(scene);
    for (const li of document.querySelectorAll("[data-rail]")) {
      const index = ORDER.indexOf(li.dataset.rail);
      li.classList.toggle("past", railIndex > index);
      li.classList.toggle("current", railIndex === index);
    }
  }
  RENDER[scene](state);
}

/** The scene to show now: the server's step, but passing through drand and seed for a while when live. */
function nextScene(state) {
  const target = state.step;
  if (target === "abandoned" || current === null || !ORDER.includes(current) || !ORDER.includes(target)) return target;
  const from = ORDER.indexOf(current);
  const to = ORDER.indexOf(target);
  if (to <= from) return target;
  if (current in DWELL && Date.now() - shownAt < DWELL[current]) return current;
  // Moving forward live: do not skip the drand round and the seed.
  if (seenLive) {
    for (const scene of ["drand", "seed"]) {
      const index = ORDER.indexOf(scene);
      if (index > from && index < to && (scene !== "drand" || state.drand)) return scene;
    }
  }
  return target;
}

/** The log's witnesses that cosigned a checkpoint holding the draw's inputs (hidden when none is configured). */
function renderWitnessed(state) {
  const line = byId("st-witnessed");
  const witnesses = state.log_witnesses;
  line.hidden = !witnesses;
  if (!witnesses) return;
  line.textContent = witnesses.names.length
    ? say("log-witnessed", { count: witnesses.names.length, names: witnesses.names.join(", ") })
    : say("log-witness-waiting", { configured: witnesses.configured });
}

function update() {
  if (!latestState) return;
  stage.dataset.step = latestState.step;
  renderWitnessed(latestState);
  show(nextScene(latestState), latestState);
  if (ORDER.indexOf(current) < ORDER.indexOf("seed")) seenLive = true;
}

// --- countdowns to the close of inputs and to the beacon, on the server's clock ----------------

const timing = byId("st-timing");
function tickTiming() {
  const skew = Date.parse(timing.dataset.serverNow) - timingLoaded;
  const now = Date.now() + skew;
  const left = (iso) => Math.round((Date.parse(iso) - now) / 1000);
  const text = (seconds) => {
    if (seconds <= 0) return "✓";
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return `${m}:${String(s).padStart(2, "0")}`;
  };
  byId("st-close-left").textContent = text(left(timing.dataset.close));
  if (timing.dataset.beacon) byId("st-beacon-left").textContent = text(left(timing.dataset.beacon));
  const done = latestState && !["waiting", "population", "dice", "secret"].includes(latestState.step);
  timing.hidden = Boolean(done);
}
const timingLoaded = Date.now();
if (timing) {
  tickTiming();
  window.setInterval(tickTiming, 1000);
}

let etag = "";
async function poll() {
  try {
    const response = await fetch(stateUrl, { cache: "no-cache", headers: etag ? { "If-None-Match": etag } : {} });
    if (response.status === 200) {
      etag = response.headers.get("ETag") || "";
      latestState = await response.json();
    }
  } catch {
    // The network dropped for a moment: keep the current scene and try again.
  }
  update();
  window.setTimeout(poll, POLL_MS);
}

poll();
window.setInterval(update, 250);
