"""The office's rule: rate, rounding, grouping, comparison stage, the 5% legal floor."""

import pytest

from service.draw_rules import DrawRuleError, Rule, parse_percent, plan_stages, quota


def test_the_ministry_default_for_244_gives_25_then_1() -> None:
    plan = plan_stages({"regular": 178, "non-regular": 66}, Rule())
    assert [stage.quota for stage in plan.stages] == [{"*": 25}, {"*": 1}]
    assert plan.review_total == 25 and plan.comparison_total == 1
    assert plan.explanation == ("review: 10% of 244, rounded up = 25", "comparison: 2% of 25, rounded up = 1")


def test_stratified_rounds_each_stratum() -> None:
    plan = plan_stages({"regular": 178, "non-regular": 66}, Rule(grouping="stratified"))
    assert plan.stages[0].quota == {"non-regular": 7, "regular": 18}
    assert plan.review_total == 25


@pytest.mark.parametrize(
    ("size", "rate_bp", "rounding", "expected"),
    [(244, 1000, "up", 25), (244, 1000, "nearest", 24), (244, 1000, "down", 24), (245, 1000, "nearest", 25),
     (10, 1000, "up", 1), (1, 10000, "down", 1), (7, 5000, "nearest", 4)],
)  # fmt: skip
def test_quota_rounding(size: int, rate_bp: int, rounding: str, expected: int) -> None:
    assert quota(size, rate_bp, rounding) == expected


def test_a_review_quota_below_five_percent_is_refused_citing_the_rule() -> None:
    with pytest.raises(DrawRuleError, match=r"5%.*Art\. 7\(2\)"):
        plan_stages({"regular": 244}, Rule(rate_bp=500, rounding="down"))
    plan = plan_stages({"regular": 240}, Rule(rate_bp=500, rounding="down"))
    assert plan.review_total == 12


def test_no_comparison_stage_when_not_asked() -> None:
    plan = plan_stages({"regular": 100}, Rule(comparison_rate_bp=None))
    assert [stage.name for stage in plan.stages] == ["review"]
    assert plan.comparison_total is None


@pytest.mark.parametrize(("text", "expected"), [("10", 1000), ("2.5", 250), ("10%", 1000), (" 7.25 ", 725)])
def test_parse_percent(text: str, expected: int) -> None:
    assert parse_percent(text) == expected


@pytest.mark.parametrize("text", ["", "ten", "0", "-5", "101", "1.001"])
def test_parse_percent_refuses(text: str) -> None:
    with pytest.raises(DrawRuleError):
        parse_percent(text)


def test_an_empty_population_is_refused() -> None:
    with pytest.raises(DrawRuleError, match="empty"):
        plan_stages({}, Rule())
