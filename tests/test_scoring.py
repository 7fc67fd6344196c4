"""Scoring by DESIGN §5 on Decimals: the issue's worked examples, boundaries, reverse indicators, zeros."""

from decimal import Decimal

import pytest

from app.form_model import DEFAULT_TEMPLATE, default_form, form_from_json, load_form_file
from app.scoring import (
    BudgetLine,
    Indicator,
    Rules,
    grade_for,
    score_budget,
    score_form,
    score_indicator,
)
from tests.conftest import SAMPLE_REPORT

D = Decimal
RULES = Rules()


def quantitative(direction, target, actual, weight="10"):
    """A 定量 indicator with just what scoring needs."""
    return Indicator("履职效能", "产出指标", "测试指标", "quantitative", direction, "", target, actual,
                     weight=D(weight))


def qualitative(rating, weight="5"):
    """A 定性 indicator rated as given."""
    return Indicator("管理效率", "信息公开", "预决算信息公开", "qualitative", rating=rating, weight=D(weight))


@pytest.mark.parametrize("adjusted, executed, weight, rate, score", [
    ("100", "76", "10", "0.7600", "7.60"),          # the example: 76% of weight 10
    ("2162.14", "2100.50", "10", "0.9715", "9.72"),  # DESIGN §8: the rate is rounded to 0.01% first
    ("100", "120", "10", "1.2000", "10.00"),        # over 100% counts as 100%
    ("100", "0", "10", "0.0000", "0.00"),
    ("0", "0", "10", None, "0.00"),                 # no budget: no rate, no score, no ZeroDivisionError
    ("0", "5", "10", None, "0.00"),
])
def test_budget_execution(adjusted, executed, weight, rate, score):
    result = score_budget([BudgetLine("财政拨款", None, D(adjusted), D(executed))], D(weight))
    assert result.rate == (D(rate) if rate else None)
    assert format(result.score, "f") == score


def test_execution_rate_uses_the_sums_of_all_lines():
    lines = [BudgetLine("财政拨款", D("90"), D("100"), D("90")), BudgetLine("其他资金", D("0"), D("100"), D("50")),
             BudgetLine("上年结转", None, None, None)]
    result = score_budget(lines, D("10"))
    assert (result.initial, result.adjusted, result.executed) == (D("90"), D("200"), D("140"))
    assert result.rate == D("0.7") and result.score == D("7.00")


@pytest.mark.parametrize("direction, target, actual, weight, expected", [
    (">=", "3000", "3294", "10", "10.00"),     # the example
    (">=", "3000", "2700", "10", "9.00"),
    (">=", "3", "1", "10", "3.33"),            # 3.333… rounds down
    (">=", "3", "2", "10", "6.67"),            # 6.666… rounds up
    (">=", "8", "1", "1", "0.13"),             # 0.125 rounds half up
    (">=", "100", "0", "10", "0.00"),
    (">=", "100", "-5", "10", "0.00"),         # a negative actual earns nothing
    ("<=", "2", "2.5", "5", "4.00"),           # the example: 结转结余率 2.5% against 2%
    ("<=", "2", "1.5", "5", "5.00"),
    ("<=", "2", "2", "5", "5.00"),
    ("<=", "100", "150", "3", "2.00"),
    ("=", "100", "100", "4", "4.00"),
    ("=", "100", "90", "4", "3.60"),           # 10% off costs 10% of the weight
    ("=", "100", "250", "4", "0.00"),          # never below zero
    ("=", "-10", "-12", "5", "4.00"),          # a negative target measures the deviation against |target|
])
def test_quantitative_indicators(direction, target, actual, weight, expected):
    assert format(score_indicator(quantitative(direction, target, actual, weight), RULES).score, "f") == expected


@pytest.mark.parametrize("direction, target, actual, expected", [
    (">=", "0", "0", "10.00"),   # nothing required, nothing done: met
    (">=", "0", "5", "10.00"),
    ("<=", "0", "0", "10.00"),   # 安全事故 ≤ 0 and none happened
    ("<=", "0", "1", "0.00"),    # a ceiling of 0 exceeded earns nothing
    ("=", "0", "0", "10.00"),
    ("=", "0", "1", "0.00"),
])
def test_a_target_of_zero_never_divides_by_zero(direction, target, actual, expected):
    assert format(score_indicator(quantitative(direction, target, actual), RULES).score, "f") == expected


@pytest.mark.parametrize("rating, expected", [
    ("达成", "5.00"), ("部分达成", "3.00"), ("未达成", "0.00"), (None, "0.00")])
def test_qualitative_indicators_use_the_coefficients(rating, expected):
    assert format(score_indicator(qualitative(rating), RULES).score, "f") == expected


def test_coefficients_are_configurable():
    rules = Rules.from_dict({"qualitative": {"达成": "1", "部分达成": "0.5", "未达成": "0.1"}})
    assert score_indicator(qualitative("部分达成", "5"), rules).score == D("2.50")
    assert score_indicator(qualitative("未达成", "5"), rules).score == D("0.50")


def test_a_missing_value_scores_zero_and_says_what_is_missing():
    result = score_indicator(quantitative(">=", "3000", ""), RULES)
    assert result.score == 0 and result.computed is None and result.missing == "实际完成值"
    assert not result.shortfall


def test_an_override_replaces_the_computed_score():
    indicator = quantitative(">=", "3000", "2700")
    indicator.override_score, indicator.override_reason = D("10"), "统计口径调整，经主管部门认可"
    result = score_indicator(indicator, RULES)
    assert result.score == D("10.00") and result.computed == D("9.00") and result.overridden
    assert result.shortfall  # the target was still missed: a 偏差原因 is still owed


@pytest.mark.parametrize("total, grade", [
    ("100", "优"), ("90.00", "优"), ("89.99", "良"), ("80.00", "良"), ("79.99", "中"), ("60.00", "中"),
    ("59.99", "差"), ("0", "差"),
])
def test_grade_boundaries(total, grade):
    assert grade_for(D(total), RULES) == grade


def test_grade_bands_are_configurable():
    rules = Rules.from_dict({"grades": [{"grade": "优", "min": "85"}, {"grade": "良", "min": "75"},
                                        {"grade": "中", "min": "60"}, {"grade": "差", "min": "0"}]})
    assert grade_for(D("85"), rules) == "优" and grade_for(D("84.99"), rules) == "良"


def test_the_total_is_the_sum_of_rounded_scores():
    # 3 × 3.33 (each 10 × 1/3 rounded) + 10 × 76% = 9.99 + 7.60; unrounded it would be 17.60.
    indicators = [quantitative(">=", "3", "1") for _ in range(3)]
    result = score_form([BudgetLine("财政拨款", None, D("100"), D("76"))], indicators, D("10"), RULES)
    assert result.indicator_total == D("9.99") and result.total == D("17.59")
    assert result.to_dict() == {"budget": "7.60", "indicators": "9.99", "total": "17.59", "grade": "差"}
    assert result.weight_total == D("40")


def test_an_empty_form_scores_zero_without_errors():
    assert score_form([], [], D("10"), RULES).to_dict() == {"budget": "0.00", "indicators": "0.00",
                                                          "total": "0.00", "grade": "差"}


def test_the_default_template_weights_sum_to_100_with_the_execution_weight():
    form = default_form()
    assert form.score().weight_total == 100
    assert {i.level1 for i in form.indicators} == {"履职效能", "管理效率"}
    assert [i.level2 for i in form.indicators if i.level1 == "管理效率"] == [
        "预算编制", "预算执行", "预算执行", "信息公开", "绩效管理", "采购管理", "资产管理", "运行成本", "运行成本"]
    assert {i.name for i in form.indicators} >= {"预算执行率", "结转结余率", "预决算信息公开", "政府采购执行率",
                                                 "固定资产利用率", "“三公”经费控制率", "公用经费控制率"}
    assert [line.source for line in form.lines] == ["财政拨款", "其他资金"]


def test_the_default_rules_in_code_match_the_template_file():
    assert load_form_file(DEFAULT_TEMPLATE).rules == Rules()
    assert form_from_json({}).rules == Rules()


def test_the_sample_form_scores_as_its_narrative_reads():
    form = load_form_file(SAMPLE_REPORT.with_name("liwan-2024-form.json"))
    score = form.score()
    assert score.to_dict() == {"budget": "9.72", "indicators": "89.06", "total": "98.78", "grade": "优"}
    assert score.weight_total == 100
