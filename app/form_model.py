"""The 自评表 as values: checking what people type, the JSON of DESIGN §8 in and out, the default template."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from .quantities import QuantityError, fixed, parse_money, parse_quantity, parse_weight, plain
from .scoring import (
    DIRECTIONS,
    KINDS,
    RATINGS,
    ZERO,
    BudgetLine,
    FormScore,
    Indicator,
    Rules,
    score_form,
)

DATA = Path(__file__).resolve().parent / "data"
DEFAULT_TEMPLATE = DATA / "form-template-default.json"
MAX_LINES = 50
MAX_INDICATORS = 200
_LIMITS = {"level1": 30, "level2": 30, "name": 100, "unit": 20, "text_value": 500, "override_reason": 1000,
           "reason": 2000, "source": 30, "contact_name": 50, "contact_phone": 30, "goal": 5000}
_PHONE = re.compile(r"[0-9０-９+＋\-－()（）\s转、/,，]*")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
KIND_NAMES = {"quantitative": "quantitative", "qualitative": "qualitative", "定量": "quantitative",
              "定性": "qualitative"}
DIRECTION_NAMES = {">=": ">=", "<=": "<=", "=": "=", "≥": ">=", "≤": "<=", "＝": "="}


class FormInputError(ValueError):
    """Input refused field by field; `errors` maps a field name to its Chinese message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("；".join(errors.values()))
        self.errors = errors


@dataclass
class Header:
    """Who filled in the form and when (单位名称 and 年度 come from the report)."""

    contact_name: str = ""
    contact_phone: str = ""
    filled_on: str = ""  # YYYY-MM-DD or ""
    version: int = 1


@dataclass
class Goals:
    """年度整体绩效目标, 实际完成情况, 未完成原因."""

    target: str = ""
    actual: str = ""
    unmet_reason: str = ""
    version: int = 1


@dataclass
class Form:
    """The whole 自评表 of one report."""

    header: Header = field(default_factory=Header)
    goals: Goals = field(default_factory=Goals)
    budget_weight: Decimal = Decimal(10)
    lines: list[BudgetLine] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    rules: Rules = field(default_factory=Rules)
    rules_version: int = 1

    def score(self) -> FormScore:
        """Everything computed from the form now."""
        return score_form(self.lines, self.indicators, self.budget_weight, self.rules)

    @property
    def empty(self) -> bool:
        """No indicators and no budget figures at all."""
        figures = any(v is not None for line in self.lines for v in (line.initial, line.adjusted, line.executed))
        return not self.indicators and not figures


def _text(fields: Mapping, name: str, errors: dict, label: str, limit: int, required: bool = False) -> str:
    """A trimmed text field within its length limit."""
    value = str(fields.get(name) or "").replace("\r\n", "\n").strip()
    if required and not value:
        errors[name] = f"请填写{label}。"
    elif len(value) > limit:
        errors[name] = f"{label}过长（不超过{limit}字）。"
    return value


def _parse(errors: dict, name: str, parser, *args):
    """Run a quantity parser, recording its message against the field instead of raising."""
    try:
        return parser(*args)
    except QuantityError as error:
        errors[name] = str(error)
        return None


def clean_line(fields: Mapping) -> BudgetLine:
    """A budget line from typed fields: 资金来源 and three amounts in 万元."""
    errors: dict[str, str] = {}
    source = _text(fields, "source", errors, "资金来源", _LIMITS["source"], required=True)
    amounts = {name: _parse(errors, name, parse_money, fields.get(name) or "", label)
               for name, label in (("initial", "年初预算数"), ("adjusted", "全年预算数"), ("executed", "全年执行数"))}
    if errors:
        raise FormInputError(errors)
    return BudgetLine(source, **amounts)


def clean_indicator(fields: Mapping) -> Indicator:
    """An indicator from typed fields; 定量 values become Decimal text, 定性 ones stay words."""
    errors: dict[str, str] = {}
    level1 = _text(fields, "level1", errors, "一级指标", _LIMITS["level1"], required=True)
    level2 = _text(fields, "level2", errors, "二级指标", _LIMITS["level2"], required=True)
    name = _text(fields, "name", errors, "三级指标名称", _LIMITS["name"], required=True)
    kind = KIND_NAMES.get(str(fields.get("kind") or "quantitative").strip())
    if kind is None:
        errors["kind"] = "指标性质须为定量或定性。"
        kind = "quantitative"
    direction = DIRECTION_NAMES.get(str(fields.get("direction") or ">=").strip())
    if direction is None:
        errors["direction"] = "指标方向须为 ≥、≤ 或 =。"
        direction = ">="
    unit = _text(fields, "unit", errors, "计量单位", _LIMITS["unit"])
    rating = None
    if kind == "quantitative":
        target = plain(_parse(errors, "target", parse_quantity, fields.get("target") or "", unit, "年度指标值"))
        actual = plain(_parse(errors, "actual", parse_quantity, fields.get("actual") or "", unit, "实际完成值"))
    else:
        target = _text(fields, "target", errors, "年度指标值", _LIMITS["text_value"])
        actual = _text(fields, "actual", errors, "实际完成值", _LIMITS["text_value"])
        rating = str(fields.get("rating") or "").strip() or None
        if rating is not None and rating not in RATINGS:
            errors["rating"] = "评价结果须为达成、部分达成或未达成。"
    weight = _parse(errors, "weight", parse_weight, fields.get("weight") or "", "分值")
    if weight is None and "weight" not in errors:
        errors["weight"] = "请填写分值。"
    override = _parse(errors, "override_score", parse_weight, fields.get("override_score") or "", "调整后得分")
    override_reason = _text(fields, "override_reason", errors, "调整理由", _LIMITS["override_reason"])
    if override is not None and weight is not None and override > weight:
        errors["override_score"] = f"调整后得分不能超过分值 {plain(weight)}。"
    if override is not None and not override_reason:
        errors["override_reason"] = "手工调整得分须写明调整理由。"
    if override is None:
        override_reason = ""
    reason = _text(fields, "reason", errors, "偏差原因及改进措施", _LIMITS["reason"])
    if errors:
        raise FormInputError(errors)
    return Indicator(level1, level2, name, kind, direction, unit, target, actual, rating, weight or ZERO,
                     override, override_reason, reason)


def clean_date(text: str) -> str:
    """A date typed as 2025-03-15, 2025/3/15 or 2025年3月15日, as YYYY-MM-DD; "" when blank."""
    text = str(text or "").strip()
    if not text:
        return ""
    match = _DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        return date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        raise FormInputError({"filled_on": "填报日期格式不对，请填写如 2025-03-15。"}) from None


def clean_header(fields: Mapping) -> Header:
    """联系人, 联系电话 and 填报日期 from typed fields."""
    errors: dict[str, str] = {}
    name = _text(fields, "contact_name", errors, "联系人", _LIMITS["contact_name"])
    phone = _text(fields, "contact_phone", errors, "联系电话", _LIMITS["contact_phone"])
    if phone and not _PHONE.fullmatch(phone):
        errors["contact_phone"] = "联系电话只能包含数字、空格和 - ( ) 转 等符号。"
    try:
        filled_on = clean_date(fields.get("filled_on") or "")
    except FormInputError as error:
        errors.update(error.errors)
        filled_on = ""
    if errors:
        raise FormInputError(errors)
    return Header(name, phone, filled_on)


def clean_goals(fields: Mapping) -> Goals:
    """The three texts of the goals block."""
    errors: dict[str, str] = {}
    values = [_text(fields, name, errors, label, _LIMITS["goal"])
              for name, label in (("target", "年度整体绩效目标"), ("actual", "实际完成情况"),
                                  ("unmet_reason", "未完成原因"))]
    if errors:
        raise FormInputError(errors)
    return Goals(*values)


def clean_budget_weight(text: str) -> Decimal:
    """The weight of the execution score (分值)."""
    errors: dict[str, str] = {}
    weight = _parse(errors, "budget_weight", parse_weight, text or "", "预算执行分值")
    if weight is None and not errors:
        errors["budget_weight"] = "请填写预算执行的分值。"
    if errors:
        raise FormInputError(errors)
    return weight


def clean_rules(fields: Mapping) -> Rules:
    """Coefficients (as percentages), grade bands and the over-achievement threshold from typed fields."""
    errors: dict[str, str] = {}
    coefficients = {}
    for rating in RATINGS:
        value = _parse(errors, f"coef_{rating}", parse_quantity, fields.get(f"coef_{rating}") or "", "%",
                       f"“{rating}”的系数")
        if value is None and f"coef_{rating}" not in errors:
            errors[f"coef_{rating}"] = f"请填写“{rating}”的系数。"
        elif value is not None and not 0 <= value <= 100:
            errors[f"coef_{rating}"] = f"“{rating}”的系数须在 0% 到 100% 之间。"
        coefficients[rating] = (value or ZERO) / 100
    grades, previous = [], Decimal(101)
    for name, _ in Rules().grades[:-1]:
        low = _parse(errors, f"grade_{name}", parse_weight, fields.get(f"grade_{name}") or "", f"“{name}”的最低分")
        if low is None and f"grade_{name}" not in errors:
            errors[f"grade_{name}"] = f"请填写“{name}”的最低分。"
        elif low is not None and not low < previous:
            errors[f"grade_{name}"] = "等级的最低分须从高到低排列。"
        grades.append((name, low or ZERO))
        previous = low if low is not None else previous
    grades.append((Rules().grades[-1][0], ZERO))
    over = _parse(errors, "overachievement", parse_quantity, fields.get("overachievement") or "", "%",
                  "超额完成提示线")
    if over is None and "overachievement" not in errors:
        errors["overachievement"] = "请填写超额完成提示线。"
    elif over is not None and not 0 < over <= 1000:
        errors["overachievement"] = "超额完成提示线须在 0% 到 1000% 之间。"
    if errors:
        raise FormInputError(errors)
    return Rules(coefficients, tuple(grades), over / 100)


# --- JSON (DESIGN §8) ---------------------------------------------------------------------------


def _or_none(text: str) -> str | None:
    """Blank values are null in JSON."""
    return text if text not in ("", None) else None


def line_to_json(line: BudgetLine) -> dict:
    """A budget line with amounts as two-decimal strings."""
    return {"source": line.source, "initial": _or_none(fixed(line.initial)),
            "adjusted": _or_none(fixed(line.adjusted)), "executed": _or_none(fixed(line.executed))}


def indicator_to_json(indicator: Indicator, score=None) -> dict:
    """An indicator as in DESIGN §8, with its score when given."""
    override = None
    if indicator.override_score is not None:
        override = {"score": plain(indicator.override_score), "reason": indicator.override_reason}
    data = {"level1": indicator.level1, "level2": indicator.level2, "name": indicator.name,
            "kind": indicator.kind, "direction": indicator.direction, "unit": indicator.unit,
            "target": _or_none(indicator.target), "actual": _or_none(indicator.actual), "rating": indicator.rating,
            "weight": plain(indicator.weight), "override": override, "reason": indicator.reason}
    if score is not None:
        data["score"] = fixed(score.score)
    return data


def form_to_json(form: Form, score: FormScore | None = None) -> dict:
    """The "form" object of the JSON export (plus "rules", so custom coefficients survive a round trip)."""
    score = score or form.score()
    h, g = form.header, form.goals
    return {
        "contact": {"name": h.contact_name, "phone": h.contact_phone, "date": h.filled_on},
        "budget": {"weight": plain(form.budget_weight), "lines": [line_to_json(line) for line in form.lines]},
        "goals": {"target": g.target, "actual": g.actual, "unmet_reason": g.unmet_reason},
        "indicators": [indicator_to_json(i, s) for i, s in zip(form.indicators, score.indicators, strict=True)],
        "rules": form.rules.to_dict(),
    }


def _fields(data, names: tuple[str, ...]) -> dict[str, str]:
    """JSON values as the strings a form would have sent (null → "")."""
    if not isinstance(data, dict):
        return {}
    return {name: "" if data.get(name) is None else str(data.get(name)) for name in names}


def _prefixed(where: str, error: FormInputError) -> FormInputError:
    """The same errors, each naming the row they belong to."""
    return FormInputError({name: f"{where}：{message}" for name, message in error.errors.items()})


def form_from_json(data) -> Form:
    """A form from its JSON (export or template); computed fields (scores) are ignored, everything is checked."""
    if not isinstance(data, dict):
        raise FormInputError({"form": "自评表（form）须为 JSON 对象。"})
    contact = data.get("contact") or {}
    header = clean_header({"contact_name": (contact.get("name") or ""), "contact_phone": contact.get("phone") or "",
                           "filled_on": contact.get("date") or ""} if isinstance(contact, dict) else {})
    goals = clean_goals(_fields(data.get("goals"), ("target", "actual", "unmet_reason")))
    budget = data.get("budget") or {}
    if not isinstance(budget, dict) or not isinstance(budget.get("lines", []), list):
        raise FormInputError({"budget": "自评表的预算（budget）格式不正确。"})
    weight = clean_budget_weight(str(budget.get("weight", "10")))
    raw_lines, raw_indicators = budget.get("lines", []), data.get("indicators") or []
    if not isinstance(raw_indicators, list):
        raise FormInputError({"indicators": "自评表的指标（indicators）须为数组。"})
    if len(raw_lines) > MAX_LINES or len(raw_indicators) > MAX_INDICATORS:
        raise FormInputError({"form": f"预算行不超过 {MAX_LINES} 行，指标不超过 {MAX_INDICATORS} 个。"})
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            lines.append(clean_line(_fields(raw, ("source", "initial", "adjusted", "executed"))))
        except FormInputError as error:
            raise _prefixed(f"预算资金第 {number} 行", error) from None
    indicators = []
    for number, raw in enumerate(raw_indicators, start=1):
        fields = _fields(raw, ("level1", "level2", "name", "kind", "direction", "unit", "target", "actual",
                               "rating", "weight", "reason"))
        override = raw.get("override") if isinstance(raw, dict) else None
        if isinstance(override, dict):
            fields["override_score"] = "" if override.get("score") is None else str(override["score"])
            fields["override_reason"] = str(override.get("reason") or "")
        try:
            indicators.append(clean_indicator(fields))
        except FormInputError as error:
            raise _prefixed(f"第 {number} 个指标", error) from None
    try:
        rules = Rules.from_dict(data.get("rules")) if data.get("rules") else Rules()
        rules = clean_rules(rules_fields(rules))  # the same limits as the 评分规则 page
    except (ArithmeticError, AttributeError, KeyError, TypeError, ValueError) as error:
        if isinstance(error, FormInputError):
            raise _prefixed("评分规则", error) from None
        raise FormInputError({"rules": "评分规则（rules）格式不正确。"}) from None
    return Form(header, goals, weight, lines, indicators, rules)


def rules_fields(rules: Rules) -> dict[str, str]:
    """Rules as the 评分规则 page shows them: percentages and lower bounds as text."""
    fields = {f"coef_{name}": plain(value * 100) for name, value in rules.coefficients.items()}
    fields.update({f"grade_{name}": plain(low) for name, low in rules.grades[:-1]})
    fields["overachievement"] = plain(rules.overachievement * 100)
    return fields


def load_form_file(path: Path) -> Form:
    """A form from a JSON file in the DESIGN §8 shape (the default template, the sample's form)."""
    return form_from_json(json.loads(path.read_text(encoding="utf-8")))


def default_form() -> Form:
    """The default template for 部门整体支出: budget lines, 履职效能 and 管理效率 indicators, weights to 100."""
    return load_form_file(DEFAULT_TEMPLATE)


# --- How values read in tables ------------------------------------------------------------------


def target_text(indicator: Indicator) -> str:
    """年度指标值 as printed: ≥3000人, ≤2%, or the words of a 定性 indicator."""
    if indicator.kind == "qualitative":
        return indicator.target
    if not indicator.target:
        return ""
    return f"{DIRECTIONS.get(indicator.direction, '')}{indicator.target}{indicator.unit}"


def actual_text(indicator: Indicator) -> str:
    """实际完成值 as printed: 3294人, or the words and the rating of a 定性 indicator."""
    if indicator.kind == "qualitative":
        if indicator.rating and indicator.actual:
            return f"{indicator.actual}（{indicator.rating}）"
        return indicator.rating or indicator.actual
    return f"{indicator.actual}{indicator.unit}" if indicator.actual else ""


def kind_label(indicator: Indicator) -> str:
    """定量 or 定性."""
    return KINDS.get(indicator.kind, indicator.kind)
