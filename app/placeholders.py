"""Placeholders such as {{总分}} in the narrative, filled with the live value of the form when text is read.

Sections keep their text with the placeholder and their cached HTML with it too (Markdown and nh3 pass
"{{总分}}" through as plain text); reads replace it in text nodes only, with a value formatted here and
escaped, so the sanitised HTML stays sanitised. Editions freeze the filled HTML.
"""

import html
import re
from decimal import Decimal

from .quantities import fixed
from .scoring import BudgetLine, FormScore, percent, score_budget

# Name written in the text → key used in CSS classes (ph-total) and out-of-band swaps.
PLACEHOLDERS = {
    "总分": "total",
    "等级": "grade",
    "执行率": "rate",
    "预算执行得分": "budget_score",
    "指标得分": "indicator_score",
    "年初预算数": "initial",
    "全年预算数": "adjusted",
    "全年执行数": "executed",
}
DESCRIPTIONS = {
    "总分": "自评总分，如 98.78",
    "等级": "自评等级：优、良、中或差",
    "执行率": "预算执行率，如 97.15%",
    "预算执行得分": "预算执行得分，如 9.72",
    "指标得分": "绩效指标得分合计，如 89.06",
    "年初预算数": "年初预算数合计（万元），如 2100.00",
    "全年预算数": "全年预算数合计（万元），如 2162.14",
    "全年执行数": "全年执行数合计（万元），如 2100.50",
}
# {{总分}} or, as a Chinese input method types it, ｛｛总分｝｝; spaces inside are allowed.
PATTERN = re.compile(r"(?:\{\{|｛｛)\s*([^{}｛｝\s<>&]{1,20})\s*(?:\}\}|｝｝)")
# A tag, with quoted attribute values that may themselves contain ">".
_TAG = re.compile(r"<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")


def values_from_score(score: FormScore) -> dict[str, str]:
    """Each placeholder's text for a computed score."""
    budget = score.budget
    return {
        "总分": fixed(score.total), "等级": score.grade, "执行率": percent(budget.rate),
        "预算执行得分": fixed(budget.score), "指标得分": fixed(score.indicator_total),
        "年初预算数": fixed(budget.initial), "全年预算数": fixed(budget.adjusted), "全年执行数": fixed(budget.executed),
    }


def values_from_json(form: dict | None, score: dict | None) -> dict[str, str]:
    """Each placeholder's text from a frozen edition's "form" and "score" (DESIGN §8 JSON)."""
    if not form or not score:
        return {}
    lines = [BudgetLine(line.get("source", ""), *(Decimal(line[k]) if line.get(k) else None
                                                  for k in ("initial", "adjusted", "executed")))
             for line in form.get("budget", {}).get("lines", [])]
    budget = score_budget(lines, Decimal(form.get("budget", {}).get("weight") or 0))
    return {
        "总分": score.get("total", ""), "等级": score.get("grade", ""), "执行率": percent(budget.rate),
        "预算执行得分": score.get("budget", ""), "指标得分": score.get("indicators", ""),
        "年初预算数": fixed(budget.initial), "全年预算数": fixed(budget.adjusted), "全年执行数": fixed(budget.executed),
    }


def names_in(text: str) -> set[str]:
    """The placeholder names written in a text, known or not."""
    if "{{" not in text and "｛｛" not in text:
        return set()
    return {match.group(1) for match in PATTERN.finditer(text)}


def unknown_in(text: str) -> list[str]:
    """Placeholder names in a text that this application does not know, in order of appearance."""
    if "{{" not in text and "｛｛" not in text:
        return []
    return [name for name in dict.fromkeys(m.group(1) for m in PATTERN.finditer(text)) if name not in PLACEHOLDERS]


def _replace(segment: str, values: dict[str, str]) -> str:
    """Placeholders of one text segment replaced by marked-up, escaped values."""
    def one(match):
        name = match.group(1)
        if name not in PLACEHOLDERS or name not in values:
            return match.group(0)
        return (f'<span class="ph ph-{PLACEHOLDERS[name]}" title="取自自评表，随表更新">'
                f"{html.escape(values[name])}</span>")

    return PATTERN.sub(one, segment)


def fill(fragment: str, values: dict[str, str]) -> str:
    """Sanitised HTML with known placeholders in its text replaced (never inside a tag or attribute)."""
    if not values or ("{{" not in fragment and "｛｛" not in fragment):
        return fragment
    parts, position = [], 0
    for tag in _TAG.finditer(fragment):
        parts.append(_replace(fragment[position:tag.start()], values))
        parts.append(tag.group(0))
        position = tag.end()
    parts.append(_replace(fragment[position:], values))
    return "".join(parts)
