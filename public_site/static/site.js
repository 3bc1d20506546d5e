// Public pages: the countdown to an announced draw. No inline script (strict CSP).

function pad(n) {
  return String(n);
}

function startCountdown(element) {
  const target = Date.parse(element.dataset.target);
  if (Number.isNaN(target)) return;
  const parts = {};
  for (const b of element.querySelectorAll("[data-part]")) parts[b.dataset.part] = b;
  const tick = () => {
    const left = Math.max(0, Math.floor((target - Date.now()) / 1000));
    if (left === 0) {
      element.textContent = element.dataset.done;
      return;
    }
    parts.days.textContent = pad(Math.floor(left / 86400));
    parts.hours.textContent = pad(Math.floor((left % 86400) / 3600));
    parts.minutes.textContent = pad(Math.floor((left % 3600) / 60));
    parts.seconds.textContent = pad(left % 60);
    window.setTimeout(tick, 1000 - (Date.now() % 1000));
  };
  tick();
}

const countdown = document.getElementById("countdown");
if (countdown) startCountdown(countdown);

// "Was my case number drawn?": answered here from the page's own data (the result is public), so
// a phone on a weak network needs no round trip. Without script the form asks the server, which
// says the same. A population too large to carry is left to the server for an unselected number.

function caseTexts(container) {
  const texts = {};
  for (const span of container.querySelectorAll("[data-key]")) texts[span.dataset.key] = span.textContent;
  texts["verify-href"] = container.dataset.verifyHref;
  return texts;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

function caseLines(data, id) {
  const inPopulation = data.population === null ? null : data.population.includes(id);
  const lines = [];
  let picked = false;
  data.stages.forEach((stage, number) => {
    if (Object.hasOwn(stage.selected, id)) {
      picked = true;
      lines.push({ key: "selected", stage: stage.label, rank: stage.selected[id] });
    } else if (number === 0 || picked) {
      lines.push({ key: "not-selected", stage: stage.label });
    }
  });
  if (picked) return { found: true, lines };
  if (inPopulation === null) return null; // the server knows
  if (!inPopulation) return { found: false, lines: [{ key: "unknown" }] };
  if (data.stages.length === 0) return { found: true, lines: [{ key: "listed" }] };
  return { found: true, lines };
}

function setUpCaseCheck(box) {
  const data = JSON.parse(box.dataset.case);
  const texts = caseTexts(document.getElementById("case-check-texts"));
  const form = box.querySelector("form");
  const input = document.getElementById("case-check-input");
  const answer = document.getElementById("case-check-answer");
  form.addEventListener("submit", (event) => {
    const id = input.value.normalize("NFKC").trim();
    if (!id) return;
    const found = caseLines(data, id);
    if (found === null) return;
    event.preventDefault();
    const nodes = found.lines.map((line) => {
      const p = document.createElement("p");
      p.className = `case-verdict ${line.key === "selected" ? "yes" : line.key === "listed" ? "" : "no"}`.trim();
      p.textContent = fill(texts[line.key], { id, stage: line.stage ?? "", rank: line.rank ?? "" });
      return p;
    });
    if (found.found && data.stages.length > 0) {
      const p = document.createElement("p");
      p.className = "small";
      const link = document.createElement("a");
      link.href = texts["verify-href"];
      link.textContent = texts.verify;
      p.append(link);
      nodes.push(p);
    }
    answer.replaceChildren(...nodes);
    const address = new URL(window.location.href);
    address.searchParams.set("case", id);
    address.hash = "case-check";
    window.history.replaceState(null, "", address);
  });
}

const caseBox = document.getElementById("case-check");
if (caseBox) setUpCaseCheck(caseBox);
