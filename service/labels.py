"""Human labels for stored codes (statuses, strata, stages, log events, fine grounds), and the
rule's derivation in words, translated like every other string.

Signed documents keep their codes (`review`, `non-regular`, `rounding: "up"`, the English
`derivation` lines); pages render them through these tables, in zh-TW or English.
"""

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "draft": _l("draft"),
    "announced": _l("announced"),
    "completed": _l("completed"),
    "abandoned": _l("abandoned"),
    "parsing": _l("checking"),
    "invalid": _l("has problems"),
    "ready": _l("ready to import"),
    "importing": _l("importing"),
    "imported": _l("imported"),
    "discarded": _l("discarded"),
    "failed": _l("interrupted"),
}


def status_label(code: str) -> str:
    """The translated label of a status code (the code itself when unknown)."""
    return str(STATUS_LABELS.get(code, code))


STRATUM_LABELS = {
    "*": _l("All declarations"),
    "regular": _l("Regular declarations (定期申報)"),
    "non-regular": _l("On taking office, leaving or acting (就到、卸離、代理申報)"),
}


def stratum_label(key: str) -> str:
    """A stratum's name for people (the code itself when the office uses its own)."""
    return str(STRATUM_LABELS.get(key, key))


#: A draw's stages (protocol §4 `stages[].name`).
STAGE_LABELS = {
    "review": _l("Substantive review"),
    "comparison": _l("Year-on-year comparison"),
}
#: The rule's rounding of the review quota (`rule.rounding` in the announcement).
ROUNDING_LABELS = {"up": _l("rounded up"), "nearest": _l("rounded to the nearest"), "down": _l("rounded down")}
#: Entry types of the public log (`type` of each entry).
EVENT_LABELS = {
    "draw.announced": _l("Draw announced"),
    "draw.input": _l("Draw input recorded"),
    "draw.completed": _l("Draw completed"),
    "draw.abandoned": _l("Draw abandoned"),
    "draw.witness_confirmed": _l("Witness confirmed the result"),
    "review.recorded": _l("Review step recorded"),
    "key.added": _l("Office key added"),
    "key.retired": _l("Office key retired"),
}


#: Review case states (docs/architecture.md "Review states"; the transitions are service.reviews').
STATE_LABELS = {
    "drawn": _l("drawn"),
    "querying": _l("querying data"),
    "under_review": _l("under review"),
    "no_discrepancy": _l("no discrepancy"),
    "discrepancy": _l("discrepancy found"),
    "statement_invited": _l("statement invited"),
    "correction_notice": _l("notice to correct"),
    "trust_notice": _l("trust notice"),
    "referred": _l("referred"),
    "fined": _l("fined"),
    "not_fined": _l("not fined"),
    "explanation_requested": _l("explanation requested"),
    "explained": _l("explained"),
    "closed": _l("closed"),
}
ORIGIN_LABELS = {"lottery": _l("drawn by lottery"), "case-based": _l("case-based check")}
KIND_LABELS = {
    "opened": _l("opened"),
    "transition": _l("step"),
    "correction": _l("correction"),
    "assignment": _l("assignment"),
}


def state_label(state: str | None) -> str:
    """The translated label of a review state."""
    return str(STATE_LABELS.get(state or "", state or "—"))


def stage_label(name: str) -> str:
    """A stage's name for people."""
    return str(STAGE_LABELS.get(name, name))


def event_label(kind: str) -> str:
    """A log entry type's name for people."""
    return str(EVENT_LABELS.get(kind, kind))


#: Where each fine ground is in the law: 公職人員財產申報法 (the Act), Art. 12 (service/reviews/rules.py
#: FINE_GROUNDS holds the ranges). zh-TW cites the article as offices write it; English cites it
#: in English with the Chinese beside it.
FINE_GROUND_SOURCES = {
    "concealment": _l("Act Art. 12 para. 1 (公職人員財產申報法第12條第1項)"),
    "unexplained-increase": _l("Act Art. 12 para. 2 (公職人員財產申報法第12條第2項)"),
    "false-declaration": _l("Act Art. 12 para. 3 (公職人員財產申報法第12條第3項)"),
    "false-declaration-reduced": _l("Act Art. 12 para. 3, second sentence (公職人員財產申報法第12條第3項後段)"),
    "late-declaration": _l("Act Art. 12 para. 3 (公職人員財產申報法第12條第3項)"),
}


def fine_ground_source(code: str) -> str:
    """The article a fine ground rests on, for people (the code itself when unknown)."""
    return str(FINE_GROUND_SOURCES.get(code, code))


@dataclass
class RuleLine:
    """One sentence of how a quota was derived."""

    stage: str
    text: str

    @property
    def label(self) -> str:
        """The stage's name for people."""
        return stage_label(self.stage)

    def __str__(self) -> str:
        return str(gettext("%(stage)s: %(text)s", stage=self.label, text=self.text))  # flask_babel is untyped


def _percent(basis_points: int) -> str:
    """Basis points as a percentage without trailing zeros: 1000 → "10", 250 → "2.5"."""
    whole, rest = divmod(basis_points, 100)
    return str(whole) if rest == 0 else f"{whole}.{rest:02d}".rstrip("0")


def rule_lines(announcement: dict[str, Any]) -> list[RuleLine]:
    """How each stage's quota follows from the office's rule, in plain words (from the
    announcement's `rule`, `population` and `stages`, never from its English `derivation`)."""
    rule = announcement.get("rule") or {}
    strata = announcement.get("population", {}).get("strata", {})
    size = announcement.get("population", {}).get("size", 0)
    rounding = str(ROUNDING_LABELS.get(rule.get("rounding", ""), rule.get("rounding", "")))
    totals: dict[str, int] = {}
    lines: list[RuleLine] = []
    for stage in announcement.get("stages", []):
        name, source, quota = stage["name"], stage["from"], stage["quota"]
        totals[name] = sum(quota.values())
        if source == "population" and rule.get("rate_basis_points"):
            rate = _percent(rule["rate_basis_points"])
            if "*" in quota:
                text = gettext(
                    "%(rate)s%% of the %(size)s declarations, %(rounding)s: %(quota)s",
                    rate=rate,
                    size=size,
                    rounding=rounding,
                    quota=quota["*"],
                )
                lines.append(RuleLine(name, text))
            else:
                for key, k in sorted(quota.items()):
                    text = gettext(
                        "%(stratum)s: %(rate)s%% of %(size)s, %(rounding)s: %(quota)s",
                        stratum=stratum_label(key),
                        rate=rate,
                        size=strata.get(key, 0),
                        rounding=rounding,
                        quota=k,
                    )
                    lines.append(RuleLine(name, text))
        elif source != "population" and rule.get("comparison_rate_basis_points"):
            text = gettext(
                "%(rate)s%% of the %(size)s drawn for %(source)s, rounded up: %(quota)s",
                rate=_percent(rule["comparison_rate_basis_points"]),
                size=totals.get(source, 0),
                source=stage_label(source),
                quota=sum(quota.values()),
            )
            lines.append(RuleLine(name, text))
        else:
            parts = ", ".join(f"{stratum_label(k)} {v}" for k, v in sorted(quota.items()))
            lines.append(RuleLine(name, gettext("Quota: %(parts)s", parts=parts)))
    return lines


def plan_rule_lines(plan: Any, rule: Any) -> list[RuleLine]:
    """The same sentences for a draft's plan (service.draw_rules.Plan) before it is announced.

    `rule` has `rate_bp`, `rounding` and `comparison_rate_bp` (a Rule or a draft Draw).
    """
    document = {
        "rule": {
            "rate_basis_points": rule.rate_bp,
            "rounding": rule.rounding,
            "comparison_rate_basis_points": rule.comparison_rate_bp,
        },
        "population": {"size": plan.population_size, "strata": dict(plan.strata)},
        "stages": [stage.to_json() for stage in plan.stages],
    }
    return rule_lines(document)
