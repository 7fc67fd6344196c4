"""Scoring the 自评表 (DESIGN §5): budget execution, indicators, total and grade — Decimal only, rules as data.

Decisions where the design is silent, so that nothing divides by zero:
- 执行率 is Σ执行数 ÷ Σ全年预算数, rounded to 0.01% first so that 分值 × 执行率 as printed reproduces the
  score; with Σ全年预算数 = 0 there is no rate and the execution score is 0.
- ≥: full marks when actual ≥ target (so target 0 always scores full); else weight × actual ÷ target for a
  positive target, 0 otherwise (and 0 for a negative actual).
- ≤: full marks when actual ≤ target (0 against 0 scores full); else weight × target ÷ actual for a positive
  target, 0 for a target of 0 or less (a ceiling of 0 that was exceeded earns nothing).
- =: full marks when equal; else weight × max(0, 1 − |actual − target| ÷ |target|), 0 when the target is 0.
- A missing target, actual or rating scores 0 (the checks panel says so); an override replaces the score.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
RATE_STEP = Decimal("0.0001")  # 0.01 %
ZERO = Decimal(0)
ONE = Decimal(1)
RATINGS = ("达成", "部分达成", "未达成")
DIRECTIONS = {">=": "≥", "<=": "≤", "=": "="}
KINDS = {"quantitative": "定量", "qualitative": "定性"}


def _default_coefficients() -> dict[str, Decimal]:
    """达成 100%, 部分达成 60%, 未达成 0%."""
    return {"达成": ONE, "部分达成": Decimal("0.6"), "未达成": ZERO}


def _default_grades() -> tuple[tuple[str, Decimal], ...]:
    """优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差 below."""
    return (("优", Decimal(90)), ("良", Decimal(80)), ("中", Decimal(60)), ("差", ZERO))


@dataclass(frozen=True)
class Rules:
    """The parts of a scoring template that provinces set differently (the weights live on the rows)."""

    coefficients: dict[str, Decimal] = field(default_factory=_default_coefficients)
    grades: tuple[tuple[str, Decimal], ...] = field(default_factory=_default_grades)  # highest first
    overachievement: Decimal = Decimal("0.5")  # beyond target by this much asks for an explanation

    def to_dict(self) -> dict:
        """The rules as JSON-ready strings."""
        return {
            "qualitative": {name: format(value, "f") for name, value in self.coefficients.items()},
            "grades": [{"grade": name, "min": format(low, "f")} for name, low in self.grades],
            "overachievement": format(self.overachievement, "f"),
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> "Rules":
        """Rules from their JSON form; missing parts take the defaults (validation is the caller's)."""
        data = data or {}
        default = cls()
        coefficients = {name: Decimal(str(data.get("qualitative", {}).get(name, default.coefficients[name])))
                        for name in RATINGS}
        grades = tuple((str(g["grade"]), Decimal(str(g["min"]))) for g in data.get("grades", [])) or default.grades
        over = Decimal(str(data.get("overachievement", default.overachievement)))
        return cls(coefficients, tuple(sorted(grades, key=lambda g: g[1], reverse=True)), over)


@dataclass
class BudgetLine:
    """One fund source of the budget table, in 万元 (None: not filled in)."""

    source: str
    initial: Decimal | None = None
    adjusted: Decimal | None = None
    executed: Decimal | None = None
    id: int | None = None
    version: int = 1
    position: int = 0


@dataclass
class Indicator:
    """One performance indicator; target and actual are Decimal text for 定量, free text for 定性."""

    level1: str
    level2: str
    name: str
    kind: str = "quantitative"
    direction: str = ">="
    unit: str = ""
    target: str = ""
    actual: str = ""
    rating: str | None = None
    weight: Decimal = ZERO
    override_score: Decimal | None = None
    override_reason: str = ""
    reason: str = ""
    id: int | None = None
    version: int = 1
    position: int = 0

    @property
    def target_value(self) -> Decimal | None:
        """The target as a number (定量 only)."""
        return _number(self.target) if self.kind == "quantitative" else None

    @property
    def actual_value(self) -> Decimal | None:
        """The actual value as a number (定量 only)."""
        return _number(self.actual) if self.kind == "quantitative" else None


def _number(text: str) -> Decimal | None:
    """Stored Decimal text back as a Decimal; None when blank."""
    return Decimal(text) if text not in ("", None) else None


def round_score(value: Decimal) -> Decimal:
    """A score to 0.01, half up (9.715 → 9.72)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP) + 0


def percent(fraction: Decimal | None) -> str:
    """A fraction as a percentage with two decimals: 0.9715 → 97.15%; "—" for None."""
    if fraction is None:
        return "—"
    return format(round_score(fraction * 100), "f") + "%"


@dataclass
class IndicatorScore:
    """How one indicator scored: by the rules (computed), what counts (score), and why."""

    computed: Decimal | None  # None when a value needed for the rule is missing
    score: Decimal
    overridden: bool
    basis: str
    weight: Decimal
    missing: str = ""  # what is missing, e.g. 实际完成值

    @property
    def shortfall(self) -> bool:
        """Whether the rule gave less than full marks on complete data."""
        return self.computed is not None and self.computed < self.weight


def _quantitative(direction: str, target: Decimal, actual: Decimal, weight: Decimal) -> tuple[Decimal, str]:
    """(unrounded score, basis) for a 定量 indicator; never divides by zero."""
    t, a, w = format(target, "f"), format(actual, "f"), format(weight, "f")
    if direction == "<=":
        if actual <= target:
            return weight, f"实际 {a} ≤ 指标 {t}，得满分"
        if target > 0:
            return weight * target / actual, f"超出上限：{w} × {t} ÷ {a}"
        return ZERO, f"上限为 {t}，实际 {a} 已超出，不得分"
    if direction == "=":
        if actual == target:
            return weight, f"实际等于指标 {t}，得满分"
        if target == 0:
            return ZERO, "指标值为 0，实际不等于 0，不得分"
        return (weight * max(ZERO, ONE - abs(actual - target) / abs(target)),
                f"偏离指标：{w} × (1 − |{a} − {t}| ÷ {t})")
    if actual >= target:
        return weight, f"实际 {a} ≥ 指标 {t}，得满分"
    if target > 0 and actual > 0:
        return weight * actual / target, f"未达指标：{w} × {a} ÷ {t}"
    return ZERO, f"实际 {a} 未达指标 {t}，不得分"


def score_indicator(indicator: Indicator, rules: Rules) -> IndicatorScore:
    """Score one indicator by its kind and direction, or take its override."""
    weight = indicator.weight
    computed, basis, missing = None, "", ""
    if indicator.kind == "qualitative":
        if indicator.rating in rules.coefficients:
            coefficient = rules.coefficients[indicator.rating]
            computed = round_score(weight * coefficient)
            basis = f"{indicator.rating}，按分值的 {format((coefficient * 100).normalize() + 0, 'f')}% 计"
        else:
            missing, basis = "评价结果", "未选择评价结果（达成／部分达成／未达成），暂按 0 分计"
    else:
        target, actual = indicator.target_value, indicator.actual_value
        if target is None or actual is None:
            missing = "年度指标值" if target is None else "实际完成值"
            basis = f"未填写{missing}，暂按 0 分计"
        else:
            raw, basis = _quantitative(indicator.direction, target, actual, weight)
            computed = round_score(raw)
    if indicator.override_score is not None:
        score = round_score(indicator.override_score)
        by_rule = format(computed, "f") if computed is not None else "—"
        basis = f"手工调整为 {format(score, 'f')} 分（按规则为 {by_rule}）"
        return IndicatorScore(computed, score, True, basis, weight, missing)
    return IndicatorScore(computed, computed if computed is not None else round_score(ZERO), False, basis, weight,
                          missing)


def line_rate(adjusted: Decimal | None, executed: Decimal | None) -> Decimal | None:
    """执行数 ÷ 全年预算数 to 0.01 %, or None when there is no budget to divide by."""
    if not adjusted:
        return None
    return ((executed or ZERO) / adjusted).quantize(RATE_STEP, rounding=ROUND_HALF_UP)


@dataclass
class BudgetScore:
    """The 合计 row of the budget table and the execution score."""

    initial: Decimal
    adjusted: Decimal
    executed: Decimal
    rate: Decimal | None
    weight: Decimal
    score: Decimal


def score_budget(lines: list[BudgetLine], weight: Decimal) -> BudgetScore:
    """Sums over every fund source, the execution rate and weight × min(rate, 100%)."""
    initial = sum((line.initial or ZERO for line in lines), ZERO)
    adjusted = sum((line.adjusted or ZERO for line in lines), ZERO)
    executed = sum((line.executed or ZERO for line in lines), ZERO)
    rate = line_rate(adjusted, executed)
    score = round_score(weight * min(rate, ONE) if rate is not None else ZERO)
    return BudgetScore(initial, adjusted, executed, rate, weight, score)


def grade_for(total: Decimal, rules: Rules) -> str:
    """The grade band the total falls in (bands are lower bounds, highest first)."""
    for name, low in rules.grades:
        if total >= low:
            return name
    return rules.grades[-1][0]


@dataclass
class FormScore:
    """Everything computed from the form: execution score, each indicator, total and grade."""

    budget: BudgetScore
    indicators: list[IndicatorScore]
    indicator_total: Decimal
    total: Decimal
    grade: str
    weight_total: Decimal  # execution weight + Σ indicator weights; should be 100

    def to_dict(self) -> dict:
        """The JSON "score" object of DESIGN §8."""
        return {"budget": format(round_score(self.budget.score), "f"),
                "indicators": format(round_score(self.indicator_total), "f"),
                "total": format(round_score(self.total), "f"), "grade": self.grade}


def score_form(lines: list[BudgetLine], indicators: list[Indicator], budget_weight: Decimal,
               rules: Rules) -> FormScore:
    """Score the whole form: the total is the sum of the rounded scores."""
    budget = score_budget(lines, budget_weight)
    scores = [score_indicator(indicator, rules) for indicator in indicators]
    indicator_total = round_score(sum((s.score for s in scores), ZERO))
    total = budget.score + indicator_total
    weight_total = budget_weight + sum((i.weight for i in indicators), ZERO)
    return FormScore(budget, scores, indicator_total, total, grade_for(total, rules), weight_total)
