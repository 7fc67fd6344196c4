"""The checks before submitting: which findings block 提交审核 (errors) and which only warn."""

from dataclasses import dataclass, replace
from decimal import Decimal

import pytest

from app.checks import blocking_message, run_checks, stale_years
from app.form_model import Form, Goals, Header, load_form_file
from app.scoring import BudgetLine, Indicator
from tests.conftest import SAMPLE_REPORT

D = Decimal
SAMPLE_FORM = SAMPLE_REPORT.with_name("liwan-2024-form.json")


@dataclass
class Sec:
    """A section as the checks read it."""

    id: int
    title: str
    markdown: str


GOOD_SECTIONS = [Sec(1, "绩效自评情况", ""), Sec(2, "部门整体支出绩效目标", "完善残疾人社会保障制度。"),
                 Sec(3, "自评结论", "2024年度各项目标全面完成，截至 2024 年 12 月 30 日……")]


def sample_form() -> Form:
    """The sample's complete form (no errors, one warning-free state)."""
    return load_form_file(SAMPLE_FORM)


def check(form: Form, sections=GOOD_SECTIONS, year=2024, **kwargs):
    """Run every check on the form and sections."""
    return run_checks(form, form.score(), sections, year, **kwargs)


def messages(issues) -> str:
    """All messages of a list of issues, as one string to search."""
    return "\n".join(issue.message for issue in issues)


def test_the_sample_report_passes_without_errors_or_warnings():
    found = check(sample_form())
    assert found.ok and found.errors == [] and found.warnings == [], messages(found.warnings)


def test_weights_not_adding_up_to_100_block_submitting():
    form = sample_form()
    form.indicators[0].weight = D("15")
    found = check(form)
    assert not found.ok
    assert "分值合计为 105 分（预算执行 10 分 + 绩效指标 95 分），应为 100 分" in messages(found.errors)


def test_a_shortfall_without_a_reason_blocks_submitting():
    form = sample_form()
    execution = next(i for i in form.indicators if i.name == "结转结余率")
    execution.reason = ""
    found = check(form)
    expected = "指标“结转结余率”未完成年度指标值（按规则得 3.20 分，分值 4 分），请填写偏差原因及改进措施。"
    assert expected in messages(found.errors)


def test_a_partly_achieved_qualitative_indicator_is_a_shortfall():
    form = sample_form()
    form.indicators[6].rating = "部分达成"
    assert "未完成年度指标值" in messages(check(form).errors)


def test_an_override_without_a_reason_blocks_submitting():
    form = sample_form()
    form.indicators[0].override_score, form.indicators[0].override_reason = D("9"), ""
    assert "手工调整了得分，但没有写调整理由" in messages(check(form).errors)


def test_an_empty_form_only_warns():
    found = check(Form(lines=[BudgetLine("财政拨款"), BudgetLine("其他资金")]))
    assert found.ok
    assert "自评表尚未填写" in messages(found.warnings)


def test_an_empty_indicator_table_does_not_need_weights_to_add_up():
    form = sample_form()
    form.indicators = []
    assert check(form).ok


@pytest.mark.parametrize("direction, target, actual, warned", [
    (">=", "1000", "1500", True),    # exactly 50% over
    (">=", "1000", "1499", False),
    ("<=", "10", "5", True),         # half the ceiling
    ("<=", "10", "6", False),
])
def test_over_achievement_of_half_or_more_without_explanation_warns(direction, target, actual, warned):
    form = sample_form()
    form.indicators[0] = replace(form.indicators[0], direction=direction, target=target, actual=actual, reason="")
    found = check(form)
    assert found.ok
    assert ("请在偏差原因中说明" in messages(found.warnings)) is warned


def test_an_explained_over_achievement_does_not_warn():
    form = sample_form()
    form.indicators[0] = replace(form.indicators[0], actual="6000", reason="年中新增市级资助项目")
    assert "请在偏差原因中说明" not in messages(check(form).warnings)


def test_missing_values_warn_and_say_they_count_zero():
    form = sample_form()
    form.indicators[0].actual = ""
    found = check(form)
    assert found.ok
    assert "指标“康复资助审批人数”未填写实际完成值，暂按 0 分计。" in messages(found.warnings)


def test_an_execution_rate_indicator_that_disagrees_with_the_budget_table_warns():
    form = sample_form()
    next(i for i in form.indicators if i.name == "预算执行率").actual = "98"
    assert "与预算资金表算出的执行率 97.15% 不一致" in messages(check(form).warnings)


def test_empty_or_missing_required_sections_warn():
    found = check(sample_form(), [Sec(2, "部门整体支出绩效目标", "  "), Sec(9, "其他", "")])
    text = messages(found.warnings)
    assert "“部门整体支出绩效目标”尚未填写。" in text
    assert "说明中没有“自评结论”部分。" in text
    assert found.ok


@pytest.mark.parametrize("conclusion, warned", [
    ("经自评，得分为95分，等级为“优”。", "写的得分为 95 分，按自评表计算为 98.78 分"),
    ("自评得分 98.78 分，评价等级为优。", None),
    ("自评总分９８．７８分。", None),                          # full-width digits read like the others
    ("经自评，综合得分98.78分，自评等级为“良好”。", "写的等级为“良好”，按自评表计算为“优”"),
    ("自评结果为“优秀”。", None),
    ("自评得分 {{总分}} 分，等级 {{等级}}。", None),              # placeholders always agree
    ("获评国家残疾人文化创意产业基地。", None),
])
def test_the_conclusion_must_state_the_computed_score_and_grade(conclusion, warned):
    sections = GOOD_SECTIONS[:2] + [Sec(3, "自评结论", conclusion)]
    text = messages(check(sample_form(), sections).warnings)
    if warned:
        assert warned in text
    else:
        assert "按自评表计算" not in text, text


@pytest.mark.parametrize("text, stale", [
    ("2024年度，区残联……截至 2024 年 12 月 30 日", []),          # the report year, spaced or not
    ("2025年工作计划：2025年度继续推进", []),                       # planning text names next year
    ("2023年度，区残联高标准完成了年度各项目标任务", ["2023"]),      # a cloned report's leftover
    ("较2023年增长34%，2022年、2021年亦有增长", ["2023", "2022", "2021"]),
    ("区残联成立于1988年；对标2035年远景目标", []),                  # history and long-range goals
    ("2027年前完成", ["2027"]),
    ("全市２０２３年数据", ["2023"]),
    ("编号20231年", []),
])
def test_years_that_do_not_match_the_report_year(text, stale):
    assert list(stale_years(text, 2024)) == stale


def test_year_warnings_name_the_place_and_cover_the_title():
    sections = GOOD_SECTIONS[:2] + [Sec(3, "自评结论", "2023年度，区残联高标准完成了年度各项目标任务。")]
    found = check(sample_form(), sections, title="2023年度某单位部门整体支出绩效自评表说明")
    text = messages(found.warnings)
    assert "报告标题中出现“2023年”，与报告年度 2024 年不符" in text
    assert "“自评结论”中出现“2023年”" in text
    assert found.ok
    assert any(issue.anchor == "section-3" for issue in found.warnings)


def test_unknown_placeholders_warn():
    sections = GOOD_SECTIONS[:2] + [Sec(3, "自评结论", "得分{{总得分}}")]
    assert "{{总得分}} 不是可用的占位符" in messages(check(sample_form(), sections).warnings)


def test_header_and_goals_left_blank_warn():
    form = sample_form()
    form.header, form.goals = Header(), Goals()
    text = messages(check(form).warnings)
    assert "表头未填写联系人、联系电话、填报日期。" in text
    assert "年度总体目标未填写年度整体绩效目标、实际完成情况。" in text


def test_the_blocking_message_lists_every_error():
    form = sample_form()
    form.indicators[0].weight = D("15")
    form.indicators.append(Indicator("管理效率", "资产管理", "资产盘点率", actual="80", target="100", weight=D("0")))
    form.indicators[-1].override_score, form.indicators[-1].override_reason = D("0"), ""
    message = blocking_message(check(form))
    assert message.startswith("提交前检查发现 2 个错误，改正后才能提交审核：1. 分值合计为 105 分")
    assert "2. 指标“资产盘点率”手工调整了得分" in message
