// Operator pages: the upload progress bar and the live quota preview. No inline script (CSP).
(function () {
  "use strict";

  var job = document.getElementById("job");
  if (job) {
    var bar = document.getElementById("job-progress");
    var text = document.getElementById("job-text");
    var poll = function () {
      fetch(job.dataset.progressUrl, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          if (p.status !== "parsing" && p.status !== "importing") { window.location.reload(); return; }
          if (p.status === "importing") { bar.removeAttribute("value"); }  // one transaction: no steps to show
          else if (p.total) { bar.max = p.total; bar.value = p.done; text.textContent = p.done + " / " + p.total; }
          else { bar.removeAttribute("value"); text.textContent = String(p.done); }
          window.setTimeout(poll, 500);
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    };
    window.setTimeout(poll, 300);
  }

  var form = document.getElementById("draw-form");
  if (form) {
    var out = document.getElementById("quota-text");
    var detail = document.getElementById("quota-detail");
    var value = function (name) {
      var checked = form.querySelector("[name=" + name + "]:checked");
      var field = checked || form.querySelector("[name=" + name + "]");
      return field ? field.value : "";
    };
    var update = function () {
      var year = value("roc_year");
      var url = form.dataset.quotaUrl.replace("/0/", "/" + encodeURIComponent(year) + "/");
      var params = new URLSearchParams({
        rate: value("rate_percent"), rounding: value("rounding"), grouping: value("grouping"),
        comparison: form.querySelector("[name=comparison]").checked ? value("comparison_percent") : ""
      });
      fetch(url + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (q) {
          if (!q.ok) { out.textContent = "—"; detail.textContent = q.message; out.classList.add("bad"); return; }
          out.classList.remove("bad");
          out.textContent = q.review + (q.comparison !== null ? " + " + q.comparison : "");
          // the rule in words, in the page's language (stage and stratum names, not their codes)
          detail.textContent = q.lines.join(" · ") + " · " + form.dataset.labelPopulation + " " + q.population;
        });
    };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  // The console's countdowns to the window's opening and close and to the beacon, on the
  // server's clock (the page says what time the server had when it was drawn).
  var timing = document.getElementById("timing");
  if (timing) {
    var skew = Date.parse(timing.dataset.serverNow) - Date.now();
    var counters = timing.querySelectorAll(".countdown");
    var tick = function () {
      var now = Date.now() + skew;
      counters.forEach(function (el) {
        var left = Math.round((Date.parse(el.dataset.until) - now) / 1000);
        if (left <= 0) { el.textContent = "✓"; el.classList.add("passed"); return; }
        var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), sec = left % 60;
        el.textContent = "−" + (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
      });
    };
    tick();
    window.setInterval(tick, 1000);
  }
})();

// The live console: a countdown to the drand round (the server gives its Unix time).
(function () {
  "use strict";
  var counters = document.querySelectorAll("[data-countdown-to]");
  Array.prototype.forEach.call(counters, function (counter) {
    var target = Number(counter.dataset.countdownTo);
    var left = counter.querySelector(".countdown-left");
    var tick = function () {
      var seconds = Math.max(0, Math.round(target - Date.now() / 1000));
      if (seconds === 0) { counter.textContent = counter.dataset.done; return; }
      var rest = seconds % 60;
      left.textContent = Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
      window.setTimeout(tick, 1000);
    };
    tick();
  });
})();
