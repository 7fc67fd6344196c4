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
    confirm: int | None = None  # a 未更新 section that may be confirmed as needing no change


@dataclass
class Checks:
    """What the checks found: errors block submitting, warnings do not; confirmed are settled on purpose."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    confirmed: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the report may be submitted."""
        return not self.errors

    def to_dict(self) -> dict:
        """As JSON keeps it with the submission (the checks a reviewer sees later)."""
        return {kind: [[i.message, i.anchor] for i in getattr(self, kind)]
                for kind in ("errors", "warnings", "confirmed")}

    @classmethod
    def from_dict(cls, data: dict) -> "Checks":
        """The checks kept with a submission."""
        return cls(*([Issue(message, anchor) for message, anchor in data.get(kind, [])]
                     for kind in ("errors", "warnings", "confirmed")))


@dataclass
class Traces:
    """What a report copied from last year still carries (traces.traces): for the checks of last year's traces."""

    source_year: int
    carried: dict[int, tuple[str, str] | None]  # 未更新 section id → (confirmed by, at) or None
    kept: dict[int, list]  # section id → its year mentions marked 有意保留 (traces.YearReference)
    prior_indicators: dict[int, str]  # indicator id → last year's 实际完成值
    prior_budget: dict[int, Decimal]  # budget line id → last year's 全年执行数


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


def run_checks(form: Form, score: FormScore, sections, year: int, title: str = "", preamble: str = "",
               traces: Traces | None = None) -> Checks:
    """All checks over the form and the narrative (sections need id, title, markdown); `traces` for a clone."""
    found = Checks()
    _form_checks(form, score, found)
    _section_checks(sections, score, found)
    if traces is not None:
        sections = _trace_checks(form, score, sections, traces, found)
    _year_checks(sections, year, title, preamble, found)
    return found


_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\d,]|\.\d)")


def _numbers(text: str):
    """(value, as written, what follows) of each number in the text."""
    for match in _NUMBER.finditer(text):
        written = match.group(0)
        yield Decimal(written.replace(",", "")), written, text[match.end():match.end() + 4].lstrip()


def _trace_checks(form: Form, score: FormScore, sections, traces: Traces, found: Checks) -> list:
    """未更新 sections, last year's numbers left in the text, year mentions kept on purpose.

    Returns the sections with their kept year mentions blanked, for the year check that follows.
    """
    for index, section in enumerate(sections):
        # A heading over subsections with no text of its own has nothing to update (the page shows no 未更新).
        parent = index + 1 < len(sections) and sections[index + 1].level > section.level
        if section.id not in traces.carried or not (section.markdown.strip() or not parent):
            continue
        confirmed = traces.carried[section.id]
        if confirmed:
            # No time here: the checks carry no time zone; the section's tag shows when, in local time.
            found.confirmed.append(Issue(f"“{_heading(section)}”沿用上年文字，已由{confirmed[0]}确认无需修改。",
                                         f"section-{section.id}"))
        else:
            found.warnings.append(Issue(
                f"“{_heading(section)}”自上一年度复制后未更新，请核对其中的年份、数字是否已是本年度的；"
                "确实无需修改的，请点“确认无需修改”。", f"section-{section.id}", confirm=section.id))
    _stale_numbers(form, score, sections, traces, found)
    masked = []
    for section in sections:
        refs = traces.kept.get(section.id, [])
        text = section.markdown
        for ref in refs:
            text = text[:ref.start] + " " * (ref.end - ref.start) + text[ref.end:]
            found.confirmed.append(Issue(f"“{_heading(section)}”中的“…{ref.before}{ref.text}{ref.after}…”"
                                         "标为有意保留（与往年对比）。", f"section-{section.id}"))
        masked.append(_Masked(section.id, section.title, text, _heading(section)) if refs else section)
    return masked


@dataclass
class _Masked:
    """A section whose kept year mentions are blanked out for the year check."""

    id: int
    title: str
    markdown: str
    heading: str


def _stale_numbers(form: Form, score: FormScore, sections, traces: Traces, found: Checks) -> None:
    """A number in the text equal to last year's value of an indicator or budget line whose value changed."""
    stale = []  # (last year's value, unit, must follow, what the form says now, placeholder)
    for indicator in form.indicators:
        prior, now = _number_in(traces.prior_indicators.get(indicator.id)), indicator.actual_value
        if prior is not None and now is not None and prior != now:
            unit = _spaced(indicator.unit)
            stale.append((prior, unit, indicator.unit,
                          f"自评表“{indicator.name}”本年实际完成值为 {plain(now)}{unit}", ""))
    for line in form.lines:
        prior = traces.prior_budget.get(line.id)
        if prior is not None and line.executed is not None and prior != line.executed:
            stale.append((prior, " 万元", "万",
                          f"自评表预算资金“{line.source}”本年全年执行数为 {fixed(line.executed)} 万元",
                          "，可改用占位符 {{全年执行数}}" if len(form.lines) == 1 else ""))
    if len(form.lines) > 1 and traces.prior_budget:
        prior = sum(traces.prior_budget.values(), Decimal(0))
        if score.budget.executed is not None and prior != score.budget.executed:
            stale.append((prior, " 万元", "万", f"自评表全年执行数合计为 {fixed(score.budget.executed)} 万元",
                          "，可改用占位符 {{全年执行数}}"))
    if not stale:
        return
    for section in sections:
        text = unicodedata.normalize("NFKC", section.markdown)
        seen = set()
        for value, written, follows in _numbers(text):
            for prior, unit, needs, now, placeholder in stale:
                if value != prior or (value, now) in seen or not _looks_like(written, follows, needs):
                    continue
                seen.add((value, now))
                found.warnings.append(Issue(
                    f"“{_heading(section)}”正文写 {written}{unit}，{now}"
                    f"（{written} 为上年数）{placeholder}。", f"section-{section.id}"))


def _spaced(unit: str) -> str:
    """A unit as written after a number: 98%, 3294 人."""
    return unit if not unit or unit == "%" else f" {unit}"


def _number_in(text: str | None) -> Decimal | None:
    """The number of a value like 3294, 98%, 3,294人 (None for text that is not one number)."""
    if not text:
        return None
    numbers = list(_numbers(unicodedata.normalize("NFKC", text)))
    return numbers[0][0] if len(numbers) == 1 else None


def _looks_like(written: str, follows: str, unit: str) -> bool:
    """Whether a number in the text stands for the value: followed by its unit, or too particular to be chance."""
    if unit:
        return follows.startswith(unit)
    return not follows.startswith("年") and (len(written.replace(",", "").split(".")[0]) >= 3 or "." in written)


def blocking_message(checks: Checks) -> str:
    """Why submitting is refused, listing every error."""
    listed = "；".join(f"{n}. {issue.message}" for n, issue in enumerate(checks.errors, start=1))
    return f"提交前检查发现 {len(checks.errors)} 个错误，改正后才能提交审核：{listed}"
