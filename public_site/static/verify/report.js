// The verification report (lottery/report.py): one check per line, each {id, outcome, detail};
// `said` gives a detail the page can word in the reader's language.

/** Every check made on a bundle, in order; `ok` only when none failed. */
export class Report {
  constructor() {
    this.checks = [];
  }

  add(id, outcome, detail = "", params = {}) {
    if (detail && typeof detail === "object") {
      this.checks.push({ id, outcome, detail: detail.text, params, say: { key: detail.key, values: detail.values } });
    } else {
      this.checks.push({ id, outcome, detail, params });
    }
  }

  async attempt(id, action, params = {}) {
    try {
      const detail = await action();
      this.add(id, "pass", detail || "", params);
      return true;
    } catch (err) {
      this.add(id, "fail", err && err.message ? err.message : String(err), params);
      return false;
    }
  }

  get ok() {
    return this.checks.every((c) => c.outcome !== "fail");
  }
}

export function fail(message) {
  throw new Error(message);
}

/** A detail: `text` as Python words it, `key` and `values` for the page to say it in the reader's language. */
export function said(text, key, values = {}) {
  return { text, key, values };
}
