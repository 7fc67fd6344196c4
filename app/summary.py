"""The year summary across units (the finance bureau's view): one row per unit, totals, distributions, trends.

Scores and check counts are each report's summary facts (facts.py, table report_facts): the scoring
module's and the report page's 提交前检查's, written with every change of the report. So a year is read in
two indexed queries (units; reports joined to their facts), never scored on a read; only the workbook's
indicator sheet scores each form's indicators, read in one bulk query per form table.

Decisions where the issue is silent:
- A unit with two reports of the same year (a second draft made by mistake) is shown by the one
  furthest along the workflow (then the latest changed); the row says how many more there are.
- Units without a report of the year are listed as 未建立 and count in the unit total, not in averages.
- Averages are over the units that have a report; the district's execution rate is Σ执行数 ÷ Σ全年预算数.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlite_utils

from .db import all_rows
from .facts import COLUMNS, Facts, compute, from_row
from .form_model import Form, Goals, Header
from .form_store import _model as stored_row  # one conversion of a stored row, shared with the editor
from .reports import STATUS_LABELS
from .scoring import ZERO, Indicator, Rules, round_score

MISSING = "missing"
STATUS_NAMES = {**STATUS_LABELS, MISSING: "未建立"}
STATUS_RANK = {"approved": 4, "reviewed": 3, "submitted": 2, "draft": 1}
GRADES = ("优", "良", "中", "差")
SORTS = {"unit": "单位", "status": "状态", "updated": "最后修改", "total": "总分", "grade": "等级",
         "rate": "执行率", "budget": "执行得分", "indicators": "指标得分", "errors": "错误", "warnings": "提示"}
# Bands of the score and rate distributions: (label, lower bound inclusive); the last band is open.
SCORE_BANDS = (("<60", Decimal(0)), ("60–70", Decimal(60)), ("70–80", Decimal(70)), ("80–90", Decimal(80)),
               ("90–95", Decimal(90)), ("95–100", Decimal(95)))
RATE_BANDS = (("<60%", Decimal(0)), ("60–80%", Decimal("0.6")), ("80–90%", Decimal("0.8")),
              ("90–95%", Decimal("0.9")), ("95–100%", Decimal("0.95")), ("≥100%", Decimal(1)))


@dataclass
class UnitRow:
    """One unit's line of the summary (report fields are None for 未建立)."""

    unit_id: int
    unit_name: str
    report_id: int | None = None
    title: str = ""
    status: str = MISSING
    updated_at: str | None = None
    facts: Facts | None = None
    more_reports: int = 0

    @property
    def status_label(self) -> str:
        """草稿 … 已定稿, or 未建立."""
        return STATUS_NAMES[self.status]

    @property
    def total(self) -> Decimal | None:
        """The total score (None without a report)."""
        return self.facts.total if self.facts else None

    @property
    def grade(self) -> str | None:
        """优 良 中 差."""
        return self.facts.grade if self.facts else None

    @property
    def rate(self) -> Decimal | None:
        """The execution rate as a fraction (None without a report or without a budget)."""
        return self.facts.rate if self.facts else None

    @property
    def budget_score(self) -> Decimal | None:
        """预算执行得分."""
        return self.facts.budget_score if self.facts else None

    @property
    def indicator_score(self) -> Decimal | None:
        """绩效指标得分合计."""
        return self.facts.indicator_score if self.facts else None

    @property
    def errors(self) -> int:
        """The 提交前检查's errors (0 without a report)."""
        return self.facts.errors if self.facts else 0

    @property
    def warnings(self) -> int:
        """The 提交前检查's warnings (0 without a report)."""
        return self.facts.warnings if self.facts else 0


@dataclass
class Totals:
    """The summary's foot: counts, sums and averages over the rows shown."""

    units: int = 0
    with_report: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    grades: dict[str, int] = field(default_factory=dict)
    average_total: Decimal | None = None
    average_rate: Decimal | None = None
    average_budget: Decimal | None = None
    average_indicators: Decimal | None = None
    adjusted: Decimal = ZERO
    executed: Decimal = ZERO
    district_rate: Decimal | None = None
    errors: int = 0
    warnings: int = 0


def _forms(db: sqlite_utils.Database, scope: str, params: tuple) -> dict[int, Form]:
    """Every form of the reports `scope` selects (a fixed subquery of report ids), in one query per table."""
    forms: dict[int, Form] = defaultdict(Form)
    inside = f" WHERE report_id IN ({scope})"
    headers = "SELECT report_id, contact_name, contact_phone, filled_on, version FROM form_headers" + inside  # noqa: S608 (fixed SQL)
    for row in all_rows(db, headers, params):
        report_id = row.pop("report_id")
        forms[report_id].header = Header(**row)
    goals = "SELECT report_id, target, actual, unmet_reason, version FROM goals" + inside  # noqa: S608 (fixed SQL)
    for row in all_rows(db, goals, params):
        report_id = row.pop("report_id")
        forms[report_id].goals = Goals(**row)
    rules = "SELECT report_id, budget_weight, rules, version FROM scoring_rules" + inside  # noqa: S608 (fixed SQL)
    for row in all_rows(db, rules, params):
        form = forms[row["report_id"]]
        form.budget_weight = Decimal(row["budget_weight"])
        form.rules, form.rules_version = _rules(row["rules"]), row["version"]
    for kind, table in (("budget", "budget_lines"), ("indicators", "indicators")):
        for row in all_rows(db, f"SELECT * FROM {table}" + inside + " ORDER BY report_id, position, id",  # noqa: S608 (fixed names)
                            params):
            target = forms[row["report_id"]].lines if kind == "budget" else forms[row["report_id"]].indicators
            target.append(stored_row(kind, row))
    return forms


_RULES: dict[str, Rules] = {}


def _rules(text: str) -> Rules:
    """Rules from their stored JSON; a district's reports share a handful of texts, parsed once each."""
    rules = _RULES.get(text)
    if rules is None:
        rules = Rules.from_dict(json.loads(text))
        if len(_RULES) < 256:
            _RULES[text] = rules
    return rules


def _choose(reports: list[dict]) -> dict:
    """The report a unit's row shows: furthest along the workflow, then the latest changed."""
    return max(reports, key=lambda r: (STATUS_RANK[r["status"]], r["updated_at"] or "", r["id"]))


_FACTS = ", ".join(f"report_facts.{name}" for name in COLUMNS)


def _facts(db: sqlite_utils.Database, report: dict) -> Facts:
    """A report's stored facts; computed (not stored) for one without them, which no write of the app leaves."""
    if report["grade"] is not None:
        return from_row(report)
    full = all_rows(db, "SELECT * FROM reports WHERE id = ?", (report["id"],))[0]
    return compute(db, full)


def year_summary(db: sqlite_utils.Database, year: int) -> list[UnitRow]:
    """One row per unit (by name) for the year with its report's facts; 未建立 rows for units without a report."""
    by_unit: dict[int, list[dict]] = defaultdict(list)
    for report in all_rows(db, f"SELECT reports.id, unit_id, title, status, updated_at, {_FACTS}"  # noqa: S608 (fixed names)
                               " FROM reports LEFT JOIN report_facts ON report_facts.report_id = reports.id"
                               " WHERE year = ?", (year,)):
        by_unit[report["unit_id"]].append(report)
    rows = []
    for unit_id, unit_name in db.execute("SELECT id, name FROM units ORDER BY name, id"):
        row = UnitRow(unit_id, unit_name)
        reports = by_unit.get(unit_id)
        if reports:
            report = _choose(reports)
            row.report_id, row.title, row.status = report["id"], report["title"], report["status"]
            row.updated_at, row.more_reports = report["updated_at"], len(reports) - 1
            row.facts = _facts(db, report)
        rows.append(row)
    return rows


BULK = 50  # past this many reports, read the whole year's forms rather than name each report


def indicator_scores(db: sqlite_utils.Database, year: int, report_ids: list[int]
                     ) -> dict[int, list[tuple[Indicator, Decimal]]]:
    """Each report's indicators with their scores (the workbook's 指标明细), in one query per form table."""
    if not report_ids:
        return {}
    if len(report_ids) > BULK:
        scope, params = "SELECT id FROM reports WHERE year = ?", (year,)
    else:
        scope, params = ", ".join("?" for _ in report_ids), tuple(report_ids)
    forms = _forms(db, scope, params)
    found = {}
    for report_id in report_ids:
        form = forms.get(report_id) or Form()
        score = form.score()
        found[report_id] = [(indicator, scored.score)
                            for indicator, scored in zip(form.indicators, score.indicators, strict=True)]
    return found


def summary_years(db: sqlite_utils.Database) -> list[int]:
    """The years that have reports, latest first."""
    return [row[0] for row in db.execute("SELECT DISTINCT year FROM reports ORDER BY year DESC")]


def filter_rows(rows: list[UnitRow], status: str = "", grade: str = "", name: str = "") -> list[UnitRow]:
    """The rows of a status (or 未建立), a grade and whose unit name contains `name`."""
    name = name.strip()
    return [row for row in rows
            if (not status or row.status == status) and (not grade or row.grade == grade)
            and (not name or name in row.unit_name)]


def _sort_key(key: str):
    """A key function for a column: rows without a value go last whichever way the list is sorted."""
    def value(row: UnitRow):
        if key == "unit":
            return row.unit_name
        if key == "status":
            return STATUS_RANK.get(row.status, 0)
        if key == "grade":
            return -GRADES.index(row.grade) if row.grade in GRADES else None
        return {"updated": row.updated_at, "total": row.total, "rate": row.rate, "budget": row.budget_score,
                "indicators": row.indicator_score, "errors": row.errors if row.report_id else None,
                "warnings": row.warnings if row.report_id else None}[key]
    return value


def sort_rows(rows: list[UnitRow], key: str = "unit", descending: bool = False) -> list[UnitRow]:
    """Rows sorted by a column of SORTS; empty values last."""
    get = _sort_key(key if key in SORTS else "unit")
    present = [row for row in rows if get(row) is not None]
    absent = [row for row in rows if get(row) is None]
    return sorted(present, key=get, reverse=descending) + absent


def _average(values: list[Decimal]) -> Decimal | None:
    """The mean to 0.01, or None for no values."""
    return round_score(sum(values, ZERO) / len(values)) if values else None


def totals(rows: list[UnitRow]) -> Totals:
    """Counts by status and grade, sums of the budgets, averages of the scores over the rows given."""
    found = Totals(units=len(rows))
    found.statuses = {name: 0 for name in STATUS_NAMES}
    found.grades = dict.fromkeys(GRADES, 0)
    scored = [row for row in rows if row.facts is not None]
    for row in rows:
        found.statuses[row.status] += 1
    for row in scored:
        found.grades[row.grade] = found.grades.get(row.grade, 0) + 1
        found.adjusted += row.facts.adjusted
        found.executed += row.facts.executed
        found.errors += row.errors
        found.warnings += row.warnings
    found.with_report = len(scored)
    found.average_total = _average([row.total for row in scored])
    found.average_budget = _average([row.budget_score for row in scored])
    found.average_indicators = _average([row.indicator_score for row in scored])
    rates = [row.rate for row in scored if row.rate is not None]
    found.average_rate = (sum(rates, ZERO) / len(rates)).quantize(Decimal("0.0001")) if rates else None
    if found.adjusted:
        found.district_rate = (found.executed / found.adjusted).quantize(Decimal("0.0001"))
    return found


def bands(values: list[Decimal], edges: tuple[tuple[str, Decimal], ...]) -> list[tuple[str, int]]:
    """How many values fall in each band (a band runs from its bound to the next one's)."""
    counts = [0] * len(edges)
    for value in values:
        for index in range(len(edges) - 1, -1, -1):
            if value >= edges[index][1] or index == 0:
                counts[index] += 1
                break
    return [(label, count) for (label, _), count in zip(edges, counts, strict=True)]


def distributions(rows: list[UnitRow]) -> dict[str, list[tuple[str, int]]]:
    """The charts' data: grades, score bands, execution-rate bands and the filing season's states."""
    scored = [row for row in rows if row.facts is not None]
    found = totals(rows)
    return {
        "grades": list(found.grades.items()),
        "scores": bands([row.total for row in scored], SCORE_BANDS),
        "rates": bands([row.rate for row in scored if row.rate is not None], RATE_BANDS),
        "statuses": [(STATUS_NAMES[name], found.statuses[name]) for name in (MISSING, *STATUS_LABELS)],
    }


@dataclass
class YearPoint:
    """One year of a unit's trend."""

    year: int
    report_id: int
    status: str
    total: Decimal
    grade: str
    rate: Decimal | None


def unit_trend(db: sqlite_utils.Database, unit_id: int) -> list[YearPoint]:
    """A unit's score, grade and execution rate in each year it has a report, oldest first."""
    by_year: dict[int, list[dict]] = defaultdict(list)
    for report in all_rows(db, f"SELECT reports.id, year, status, updated_at, {_FACTS}"  # noqa: S608 (fixed names)
                               " FROM reports LEFT JOIN report_facts ON report_facts.report_id = reports.id"
                               " WHERE unit_id = ?", (unit_id,)):
        by_year[report["year"]].append(report)
    points = []
    for year in sorted(by_year):
        report = _choose(by_year[year])
        facts = _facts(db, report)
        points.append(YearPoint(year, report["id"], report["status"], facts.total, facts.grade, facts.rate))
    return points


def unit_name(db: sqlite_utils.Database, unit_id: int) -> str | None:
    """A unit's name, or None when there is no such unit."""
    row = db.execute("SELECT name FROM units WHERE id = ?", (unit_id,)).fetchone()
    return row[0] if row else None
