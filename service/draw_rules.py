"""The office's sampling rule: from a rate and a rounding to the integer quotas of each stage.

Legal background (docs/architecture.md): the implementing rule (公職人員財產申報資料審核及查閱辦法, Art. 7(2))
sets a floor of 5% of the year's declarants; the Ministry's yearly letters ask for 10% rounded up,
plus a comparison draw (前後年度比對) of 2% of those drawn, rounded up. The announcement carries
only the resulting integers; this module is how they are derived.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from lottery.announcement import POOLED, Stage

#: 5% of declarants, in basis points (Rule Art. 7(2)).
LEGAL_FLOOR_BP = 500
_ROUNDING = {"up": ROUND_CEILING, "nearest": ROUND_HALF_UP, "down": ROUND_FLOOR}


class DrawRuleError(ValueError):
    """The rule asks for something the law or the protocol does not allow."""


@dataclass(frozen=True)
class Rule:
    """How many to draw: rate and rounding of the review stage, grouping, comparison stage."""

    rate_bp: int = 1000
    rounding: str = "up"
    grouping: str = "pooled"
    comparison_rate_bp: int | None = 200


@dataclass(frozen=True)
class Plan:
    """The stages a rule gives for a population, with a human explanation of each number."""

    stages: tuple[Stage, ...]
    review_total: int
    comparison_total: int | None
    population_size: int
    explanation: tuple[str, ...]
    #: The population's count per stratum, for the rule's lines in words (service.labels).
    strata: tuple[tuple[str, int], ...] = ()


def parse_percent(text: str) -> int:
    """`"10"`, `"2.5"` or `"10%"` → basis points (1000, 250, 1000); refuses anything else."""
    cleaned = text.strip().removesuffix("%").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise DrawRuleError(_l("%(text)s is not a percentage.", text=text)) from None
    if not cleaned.isascii() or not value.is_finite():  # "sNaN", "Infinity", full-width "１０"
        raise DrawRuleError(_l("%(text)s is not a percentage.", text=text))
    basis_points = value * 100 if 0 < value <= 100 else Decimal(-1)  # "1e999999" × 100 would overflow
    if basis_points != basis_points.to_integral_value() or not 0 < basis_points <= 10000:
        raise DrawRuleError(_l("%(text)s must be a percentage above 0 and at most 100, in steps of 0.01.", text=text))
    return int(basis_points)


def quota(size: int, rate_bp: int, rounding: str) -> int:
    """`size × rate` rounded as asked, never above `size`."""
    exact = Decimal(size) * Decimal(rate_bp) / Decimal(10000)
    return min(size, int(exact.to_integral_value(rounding=_ROUNDING[rounding])))


def plan_stages(strata: dict[str, int], rule: Rule) -> Plan:
    """The announcement stages for a population with these stratum counts.

    Raises `DrawRuleError` when the review quota falls below the legal 5% floor.
    """
    if rule.rounding not in _ROUNDING or rule.grouping not in ("pooled", "stratified"):
        raise DrawRuleError(_l("Unknown rounding or grouping."))
    size = sum(strata.values())
    if size == 0:
        raise DrawRuleError(_l("The population is empty: import the year's declarations first."))
    pct = _percent(rule.rate_bp)
    if rule.grouping == "pooled":
        review_quota = {POOLED: quota(size, rule.rate_bp, rule.rounding)}
        explanation = [f"review: {pct}% of {size}, rounded {rule.rounding} = {review_quota[POOLED]}"]
    else:
        review_quota = {name: quota(count, rule.rate_bp, rule.rounding) for name, count in sorted(strata.items())}
        explanation = [
            f"review, {name}: {pct}% of {strata[name]}, rounded {rule.rounding} = {k}"
            for name, k in review_quota.items()
        ]
    review_total = sum(review_quota.values())
    # Rule Art. 7(2): at least 5% of the declarants, compared exactly in integers.
    if review_total * 10000 < LEGAL_FLOOR_BP * size:
        raise DrawRuleError(
            _l(
                "The review stage would draw %(drawn)s of %(size)s declarants, below the legal floor of 5%% "
                "(公職人員財產申報資料審核及查閱辦法 Art. 7(2)).",
                drawn=review_total,
                size=size,
            )
        )
    stages = [Stage(name="review", source="population", quota=review_quota)]
    comparison_total = None
    if rule.comparison_rate_bp is not None:
        # The comparison stage is always rounded up, as the Ministry's letters ask: a year's
        # comparison never rounds down to nobody.
        comparison_total = quota(review_total, rule.comparison_rate_bp, "up")
        stages.append(Stage(name="comparison", source="review", quota={POOLED: comparison_total}))
        explanation.append(
            f"comparison: {_percent(rule.comparison_rate_bp)}% of {review_total}, rounded up = {comparison_total}"
        )
    return Plan(tuple(stages), review_total, comparison_total, size, tuple(explanation), tuple(sorted(strata.items())))


def _percent(basis_points: int) -> str:
    text = f"{Decimal(basis_points) / 100:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
