"""Checks before submitting: errors block 提交审核, warnings are shown but do not (DESIGN §5).

Year rule: a four-digit year written before 年 (2023年, 2023 年度) is flagged when it lies within five years
of the report year but is neither the report year nor the year after (planning text may name next year).
Years further away are taken for history (成立于1988年) or long-range goals (2035年远景目标).
"""

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from .form_model import Form
from .placeholders import PLACEHOLDERS, unknown_in
from .quantities import fixed, plain
from .scoring import FormScore

REQUIRED_SECTIONS = ("部门整体支出绩效目标", "自评结论")
CONCLUSION = "自评结论"
YEAR_WINDOW = 5
MAX_YEAR_MENTIONS = 3

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年(?!\d)")
_SCORE = re.compile(r"(?:自评得分|综合得分|得分|总分|评分|分数|自评得|评得)\s*(?:为|是|达到|达|：|:)?\s*"
                    r"(\d{1,3}(?:\.\d{1,2})?)\s*分")
_GRADE = re.compile(r"(?:自评等级|评价等级|等级|评价结果|自评结果|评定结果|评定为|自评为|综合评价为|总体评价为)"
                    r"\s*(?:为|是|：|:)?\s*[“\"「『]?\s*(不合格|优秀|良好|中等|较差|合格|优|良|中|差)")
GRADE_WORDS = {"优秀": "优", "优": "优", "良好": "良", "良": "良", "中等": "中", "合格": "中", "中": "中",
               "较差": "差", "不合格": "差", "差": "差"}


@dataclass(frozen=True)
class Issue:
    """One finding, with the id of the place on the report page it is about."""

    message: str
    anchor: str = "form"


@dataclass
class Checks:
    """What the checks found: errors block submitting, warnings do not."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the report may be submitted."""
        return not self.errors


def _anchor(indicator) -> str:
    """The page id of an indicator's row."""
    return f"ind-{indicator.id}" if indicator.id else "form-indicators"


def _form_checks(form: Form, score: FormScore, found: Checks) -> None:
    """Weights, shortfalls, overrides, missing values and over-achievement."""
    if form.empty:
        found.warnings.append(Issue("自评表尚未填写：请填写预算资金执行情况和绩效指标。", "form"))
        return
    if form.indicators and score.weight_total != 100:
        indicator_weights = score.weight_total - form.budget_weight
        found.errors.append(Issue(
            f"分值合计为 {plain(score.weight_total)} 分（预算执行 {plain(form.budget_weight)} 分 + 绩效指标 "
            f"{plain(indicator_weights)} 分），应为 100 分，请调整各项分值。", "form-indicators"))
    if score.budget.rate is None:
        found.warnings.append(Issue("预算资金表的全年预算数合计为 0 或未填写，无法计算执行率，预算执行暂按 0 分计。",
                                    "form-budget"))
    for indicator, result in zip(form.indicators, score.indicators, strict=True):
        name, anchor = f"指标“{indicator.name}”", _anchor(indicator)
        if result.shortfall and not indicator.reason.strip():
            found.errors.append(Issue(
                f"{name}未完成年度指标值（按规则得 {fixed(result.computed)} 分，分值 {plain(indicator.weight)} 分），"
                "请填写偏差原因及改进措施。", anchor))
        if indicator.override_score is not None and not indicator.override_reason.strip():
            found.errors.append(Issue(f"{name}手工调整了得分，但没有写调整理由。", anchor))
        if result.missing:
            found.warnings.append(Issue(f"{name}未填写{result.missing}，暂按 0 分计。", anchor))
        over = _overachievement(indicator, form.rules.overachievement)
        if over and not indicator.reason.strip():
            found.warnings.append(Issue(f"{name}{over}，请在偏差原因中说明（年度指标值是否定得不合理）。", anchor))
    rate = score.budget.rate
    for indicator in form.indicators:
        if "预算执行率" in indicator.name and indicator.unit == "%" and indicator.actual_value is not None \
                and rate is not None and indicator.actual_value != rate * 100:
            found.warnings.append(Issue(
                f"指标“{indicator.name}”的实际完成值 {indicator.actual}% 与预算资金表算出的执行率 "
                f"{fixed(rate * 100)}% 不一致。", _anchor(indicator)))
    goals, header = form.goals, form.header
    if not goals.target.strip() or not goals.actual.strip():
        parts = (("年度整体绩效目标", goals.target), ("实际完成情况", goals.actual))
        missing = "、".join(label for label, text in parts if not text.strip())
        found.warnings.append(Issue(f"年度总体目标未填写{missing}。", "form-goals"))
    missing = [label for label, value in (("联系人", header.contact_name), ("联系电话", header.contact_phone),
                                          ("填报日期", header.filled_on)) if not value]
    if missing:
        found.warnings.append(Issue(f"表头未填写{'、'.join(missing)}。", "form-header"))


def _overachievement(indicator, threshold: Decimal) -> str:
    """A description when a 定量 indicator beat its target by the threshold or more, else ""."""
    target, actual = indicator.target_value, indicator.actual_value
    if target is None or actual is None or target <= 0:
        return ""
    if indicator.direction == ">=" and actual >= target * (1 + threshold):
        beyond = fixed((actual / target - 1) * 100)
        return f"实际完成值 {indicator.actual} 超出年度指标值 {indicator.target} 达 {beyond}%"
    if indicator.direction == "<=" and actual <= target * (1 - threshold):
        return f"实际完成值 {indicator.actual} 低于上限 {indicator.target} 达 {fixed((1 - actual / target) * 100)}%"
    return ""


def _heading(section) -> str:
    """A section as the page shows it: （二）自评结论."""
    return getattr(section, "heading", None) or section.title


def _section_checks(sections, score: FormScore, found: Checks) -> None:
    """Required sections present and filled; the conclusion agrees with the form; placeholders known."""
    for required in REQUIRED_SECTIONS:
        matching = [s for s in sections if required in s.title]
        if not matching:
            found.warnings.append(Issue(f"说明中没有“{required}”部分。", "document"))
        elif not any(s.markdown.strip() for s in matching):
            found.warnings.append(Issue(f"“{_heading(matching[0])}”尚未填写。", f"section-{matching[0].id}"))
    for section in sections:
        if CONCLUSION in section.title:
            _conclusion_checks(section, score, found)
        unknown = unknown_in(section.markdown)
        if unknown:
            known = "、".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS)
            found.warnings.append(Issue(
                f"“{_heading(section)}”中的 {'、'.join(f'{{{{{n}}}}}' for n in unknown)} 不是可用的占位符"
                f"（可用：{known}）。", f"section-{section.id}"))


def _conclusion_checks(section, score: FormScore, found: Checks) -> None:
    """A score or grade written in the 自评结论 must be the computed one."""
    text = unicodedata.normalize("NFKC", section.markdown)
    anchor = f"section-{section.id}"
    for stated in dict.fromkeys(m.group(1) for m in _SCORE.finditer(text)):
        if Decimal(stated) != score.total:
            found.warnings.append(Issue(
                f"“{_heading(section)}”写的得分为 {stated} 分，按自评表计算为 {fixed(score.total)} 分；"
                "建议改用占位符 {{总分}}，自动取表中得分。", anchor))
    for word in dict.fromkeys(m.group(1) for m in _GRADE.finditer(text)):
        if GRADE_WORDS[word] != score.grade:
            found.warnings.append(Issue(
                f"“{_heading(section)}”写的等级为“{word}”，按自评表计算为“{score.grade}”；"
                "建议改用占位符 {{等级}}。", anchor))


@functools.lru_cache(maxsize=8192)
def stale_years(text: str, year: int) -> tuple[str, ...]:
    """Years written in the text (2023年) that look left over from another year's report.

    Cached: the report page runs every check on every view, and the texts rarely change between views.
    """
    allowed = {year, year + 1}
    found = []
    for match in _YEAR.finditer(unicodedata.normalize("NFKC", text)):
        mentioned = int(match.group(1))
        if mentioned not in allowed and abs(mentioned - year) <= YEAR_WINDOW and str(mentioned) not in found:
            found.append(str(mentioned))
    return tuple(found)


def _year_checks(sections, year: int, title: str, preamble: str, found: Checks) -> None:
    """Year references that do not match the report year, place by place."""
    places = [("报告标题", title, "report"), ("前言", preamble, "report")]
    places += [(f"“{_heading(s)}”", f"{s.title}\n{s.markdown}", f"section-{s.id}") for s in sections]
    for label, text, anchor in places:
        years = stale_years(text, year)
        if years:
            more = "等" if len(years) > MAX_YEAR_MENTIONS else ""
            shown = "、".join(f"{y}年" for y in years[:MAX_YEAR_MENTIONS]) + more
            found.warnings.append(Issue(
                f"{label}中出现“{shown}”，与报告年度 {year} 年不符，请核对是否沿用了往年的文字"
                "（如为与往年对比的数据，可不修改）。", anchor))


def run_checks(form: Form, score: FormScore, sections, year: int, title: str = "", preamble: str = "") -> Checks:
    """All checks over the form and the narrative (sections need id, title, markdown)."""
    found = Checks()
    _form_checks(form, score, found)
    _section_checks(sections, score, found)
    _year_checks(sections, year, title, preamble, found)
    return found


def blocking_message(checks: Checks) -> str:
    """Why submitting is refused, listing every error."""
    listed = "；".join(f"{n}. {issue.message}" for n, issue in enumerate(checks.errors, start=1))
    return f"提交前检查发现 {len(checks.errors)} 个错误，改正后才能提交审核：{listed}"
