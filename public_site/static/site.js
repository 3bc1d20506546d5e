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
