"""Reading and changing a report's 自评表 in the database: conflict-safe row edits, order, rules, checks."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import sqlite_utils

from . import audit, clock
from .checks import Checks, run_checks
from .db import all_rows, one, transaction
from .errors import InvalidInput, NotFound
from .form_model import (
    MAX_INDICATORS,
    MAX_LINES,
    Form,
    Goals,
    Header,
    clean_budget_weight,
    clean_goals,
    clean_header,
    clean_indicator,
    clean_line,
    clean_rules,
    default_form,
    form_to_json,
)
from .numbering import number_outline
from .permissions import NotAllowed, require_edit
from .placeholders import PLACEHOLDERS, fill, names_in, values_from_score
from .quantities import fixed, plain
from .records import Section, touch
from .scoring import BudgetLine, FormScore, Indicator, Rules
from .traces import traces as year_traces
from .users import User


class RowConflict(Exception):
    """The row changed (or went) since the editor opened it; nothing was saved."""

    def __init__(self, current):
        super().__init__("conflict")
        self.current = current  # the row as saved now, or None when it was deleted


@dataclass(frozen=True)
class TableSpec:
    """How one row table of the form is stored and checked."""

    table: str
    label: str
    columns: tuple[str, ...]
    clean: object
    limit: int


TABLES = {
    "budget": TableSpec("budget_lines", "预算资金行", ("source", "initial", "adjusted", "executed"),
                        clean_line, MAX_LINES),
    "indicators": TableSpec("indicators", "绩效指标",
                            ("level1", "level2", "name", "kind", "direction", "unit", "target", "actual",
                             "rating", "weight", "override_score", "override_reason", "reason"),
                            clean_indicator, MAX_INDICATORS),
}


def _money(value: Decimal | None) -> str | None:
    """An amount as stored: two-decimal text, or NULL."""
    return fixed(value) if value is not None else None


def _dec(text: str | None) -> Decimal | None:
    """Stored decimal text back as a Decimal."""
    return Decimal(text) if text not in (None, "") else None


def _values(kind: str, row) -> dict:
    """A model row as column values."""
    if kind == "budget":
        return {"source": row.source, "initial": _money(row.initial), "adjusted": _money(row.adjusted),
                "executed": _money(row.executed)}
    return {"level1": row.level1, "level2": row.level2, "name": row.name, "kind": row.kind,
            "direction": row.direction, "unit": row.unit, "target": row.target, "actual": row.actual,
            "rating": row.rating, "weight": plain(row.weight),
            "override_score": plain(row.override_score) if row.override_score is not None else None,
            "override_reason": row.override_reason, "reason": row.reason}


def _model(kind: str, row: dict):
    """A stored row as a model object."""
    meta = {"id": row["id"], "version": row["version"], "position": row["position"]}
    if kind == "budget":
        return BudgetLine(row["source"], _dec(row["initial"]), _dec(row["adjusted"]), _dec(row["executed"]), **meta)
    return Indicator(row["level1"], row["level2"], row["name"], row["kind"], row["direction"], row["unit"],
                     row["target"], row["actual"], row["rating"], Decimal(row["weight"]),
                     _dec(row["override_score"]), row["override_reason"], row["reason"], **meta)


def _rows(db, kind: str, report_id: int) -> list:
    """A table's rows of the report in order."""
    spec = TABLES[kind]
    return [_model(kind, row) for row in
            all_rows(db, f"SELECT * FROM {spec.table} WHERE report_id = ? ORDER BY position, id",  # noqa: S608 (names from TABLES; values bound)
                     (report_id,))]


def get_row(db: sqlite_utils.Database, report_id: int, kind: str, row_id: int):
    """One row of the report's budget lines or indicators, or NotFound."""
    spec = TABLES[kind]
    row = one(db, f"SELECT * FROM {spec.table} WHERE id = ? AND report_id = ?", (row_id, report_id))  # noqa: S608 (names from TABLES; values bound)
    if row is None:
        raise NotFound(f"该{spec.label}不存在或已被删除，请刷新页面。")
    return _model(kind, row)


def load_form(db: sqlite_utils.Database, report_id: int) -> Form:
    """The report's whole form as values (defaults where a row is missing)."""
    header = one(db, "SELECT contact_name, contact_phone, filled_on, version FROM form_headers WHERE report_id = ?",
                 (report_id,))
    goals = one(db, "SELECT target, actual, unmet_reason, version FROM goals WHERE report_id = ?", (report_id,))
    rules = one(db, "SELECT budget_weight, rules, version FROM scoring_rules WHERE report_id = ?", (report_id,))
    return Form(
        header=Header(**header) if header else Header(),
        goals=Goals(**goals) if goals else Goals(),
        budget_weight=Decimal(rules["budget_weight"]) if rules else Decimal(10),
        lines=_rows(db, "budget", report_id),
        indicators=_rows(db, "indicators", report_id),
        rules=Rules.from_dict(json.loads(rules["rules"])) if rules else Rules(),
        rules_version=rules["version"] if rules else 1,
    )


def _insert_row(db, kind: str, report_id: int, position: int, row, user_id: int | None) -> int:
    """Insert one row at a position (inside the caller's transaction); return its id."""
    spec, values, now = TABLES[kind], _values(kind, row), clock.now()
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    return db.execute(
        f"INSERT INTO {spec.table} (report_id, position, {columns}, created_at, updated_at, updated_by)"  # noqa: S608 (names from TABLES; values bound)
        f" VALUES (?, ?, {marks}, ?, ?, ?)",
        (report_id, position, *values.values(), now, now, user_id),
    ).lastrowid


def _ensure_singletons(db, report_id: int, rules: Rules | None = None, budget_weight: Decimal | None = None) -> None:
    """The header, goals and rules rows every report has (inside the caller's transaction)."""
    db.execute("INSERT OR IGNORE INTO form_headers (report_id) VALUES (?)", (report_id,))
    db.execute("INSERT OR IGNORE INTO goals (report_id) VALUES (?)", (report_id,))
    db.execute("INSERT OR IGNORE INTO scoring_rules (report_id, budget_weight, rules) VALUES (?, ?, ?)",
               (report_id, plain(budget_weight if budget_weight is not None else Decimal(10)),
                json.dumps((rules or Rules()).to_dict(), ensure_ascii=False)))


def insert_form(db: sqlite_utils.Database, report_id: int, form: Form | None, user_id: int | None) -> None:
    """Store a new report's form (inside the caller's transaction); None gives an empty form, default rules."""
    if form is None:
        _ensure_singletons(db, report_id)
        return
    _ensure_singletons(db, report_id, form.rules, form.budget_weight)
    h, g = form.header, form.goals
    db.execute("UPDATE form_headers SET contact_name = ?, contact_phone = ?, filled_on = ? WHERE report_id = ?",
               (h.contact_name, h.contact_phone, h.filled_on, report_id))
    db.execute("UPDATE goals SET target = ?, actual = ?, unmet_reason = ? WHERE report_id = ?",
               (g.target, g.actual, g.unmet_reason, report_id))
    for position, line in enumerate(form.lines, start=1):
        _insert_row(db, "budget", report_id, position, line, user_id)
    for position, indicator in enumerate(form.indicators, start=1):
        _insert_row(db, "indicators", report_id, position, indicator, user_id)


def apply_template(db: sqlite_utils.Database, report: dict, user: User) -> None:
    """Fill an empty form with the default template's budget lines, indicators and weights."""
    require_edit(user, report)
    template = default_form()
    with transaction(db):
        current = load_form(db, report["id"])
        if current.lines or current.indicators:
            raise InvalidInput("自评表已有内容，不能再套用模板；如需重来，请先删除现有各行。")
        _ensure_singletons(db, report["id"])
        db.execute("UPDATE scoring_rules SET budget_weight = ?, version = version + 1 WHERE report_id = ?",
                   (plain(template.budget_weight), report["id"]))
        for position, line in enumerate(template.lines, start=1):
            _insert_row(db, "budget", report["id"], position, line, user.id)
        for position, indicator in enumerate(template.indicators, start=1):
            _insert_row(db, "indicators", report["id"], position, indicator, user.id)
        touch(db, report["id"], user.id)
        audit.record(db, "form.template", actor_id=user.id, report_id=report["id"],
                     lines=len(template.lines), indicators=len(template.indicators))


def _changes(before: dict, after: dict) -> dict:
    """{column: [old, new]} for the columns that changed."""
    return {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}


def add_row(db: sqlite_utils.Database, report: dict, user: User, kind: str, fields: Mapping,
            after_id: int | None = None):
    """Add a budget line or indicator at the end or just after another row; return it."""
    require_edit(user, report)
    spec = TABLES[kind]
    row = spec.clean(fields)
    with transaction(db):
        count, last = db.execute(f"SELECT count(*), coalesce(max(position), 0) FROM {spec.table}"  # noqa: S608 (names from TABLES; values bound)
                                 " WHERE report_id = ?", (report["id"],)).fetchone()
        if count >= spec.limit:
            raise InvalidInput(f"{spec.label}最多 {spec.limit} 行。")
        position = last + 1
        if after_id is not None:
            position = get_row(db, report["id"], kind, after_id).position + 1
            db.execute(f"UPDATE {spec.table} SET position = position + 1"  # noqa: S608 (names from TABLES; values bound)
                       " WHERE report_id = ? AND position >= ?", (report["id"], position))
        row_id = _insert_row(db, kind, report["id"], position, row, user.id)
        touch(db, report["id"], user.id)
        audit.record(db, f"form.{kind}.add", actor_id=user.id, report_id=report["id"], row=row_id,
                     values=_values(kind, row))
        return get_row(db, report["id"], kind, row_id)


def save_row(db: sqlite_utils.Database, report: dict, user: User, kind: str, row_id: int, fields: Mapping,
             version: int):
    """Save a row if nobody saved it since `version`; else RowConflict (nothing written)."""
    require_edit(user, report)
    spec = TABLES[kind]
    row = spec.clean(fields)
    values = _values(kind, row)
    with transaction(db):
        current = one(db, f"SELECT * FROM {spec.table} WHERE id = ? AND report_id = ?",  # noqa: S608 (names from TABLES; values bound)
                      (row_id, report["id"]))
        if current is None or current["version"] != version:
            raise RowConflict(None if current is None else _model(kind, current))
        changes = _changes(current, values)
        if not changes:
            return _model(kind, current)
        assignments = ", ".join(f"{column} = ?" for column in values)
        db.execute(
            f"UPDATE {spec.table} SET {assignments}, version = version + 1, updated_at = ?, updated_by = ?"  # noqa: S608 (names from TABLES; values bound)
            " WHERE id = ?", (*values.values(), clock.now(), user.id, row_id))
        touch(db, report["id"], user.id)
        audit.record(db, f"form.{kind}.save", actor_id=user.id, report_id=report["id"], row=row_id,
                     version=version + 1, changes=changes)
        return get_row(db, report["id"], kind, row_id)


def delete_row(db: sqlite_utils.Database, report: dict, user: User, kind: str, row_id: int, version: int) -> None:
    """Delete a row unless it changed since `version` (its last values stay in the audit log)."""
    require_edit(user, report)
    spec = TABLES[kind]
    with transaction(db):
        current = one(db, f"SELECT * FROM {spec.table} WHERE id = ? AND report_id = ?",  # noqa: S608 (names from TABLES; values bound)
                      (row_id, report["id"]))
        if current is None or current["version"] != version:
            raise RowConflict(None if current is None else _model(kind, current))
        db.execute(f"DELETE FROM {spec.table} WHERE id = ?", (row_id,))  # noqa: S608 (names from TABLES; values bound)
        touch(db, report["id"], user.id)
        audit.record(db, f"form.{kind}.delete", actor_id=user.id, report_id=report["id"], row=row_id,
                     values={column: current[column] for column in spec.columns})


def move_row(db: sqlite_utils.Database, report: dict, user: User, kind: str, row_id: int, direction: str) -> None:
    """Swap a row with the one above ("up") or below ("down")."""
    require_edit(user, report)
    if direction not in ("up", "down"):
        raise InvalidInput("未知的移动方式。")
    with transaction(db):
        rows = _rows(db, kind, report["id"])
        at = next((i for i, r in enumerate(rows) if r.id == row_id), None)
        if at is None:
            raise NotFound(f"该{TABLES[kind].label}不存在或已被删除，请刷新页面。")
        other = at - 1 if direction == "up" else at + 1
        if not 0 <= other < len(rows):
            raise InvalidInput("已经是第一行，不能再上移。" if direction == "up" else "已经是最后一行，不能再下移。")
        rows[at], rows[other] = rows[other], rows[at]
        table = TABLES[kind].table
        for position, row in enumerate(rows, start=1):
            db.execute(f"UPDATE {table} SET position = ? WHERE id = ?", (position, row.id))  # noqa: S608 (names from TABLES; values bound)
        touch(db, report["id"], user.id)
        audit.record(db, f"form.{kind}.move", actor_id=user.id, report_id=report["id"], row=row_id,
                     direction=direction)


def _save_single(db, report: dict, user: User, table: str, values: dict, version: int, action: str, current_of):
    """Save the one row of `table` for the report if still at `version`; else RowConflict."""
    with transaction(db):
        _ensure_singletons(db, report["id"])
        current = one(db, f"SELECT * FROM {table} WHERE report_id = ?", (report["id"],))  # noqa: S608 (names from TABLES; values bound)
        if current["version"] != version:
            raise RowConflict(current_of(current))
        changes = _changes(current, values)
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in values)
            db.execute(f"UPDATE {table} SET {assignments}, version = version + 1, updated_at = ?,"  # noqa: S608 (names from TABLES; values bound)
                       " updated_by = ? WHERE report_id = ?", (*values.values(), clock.now(), user.id, report["id"]))
            touch(db, report["id"], user.id)
            audit.record(db, action, actor_id=user.id, report_id=report["id"], changes=changes)


def save_header(db: sqlite_utils.Database, report: dict, user: User, fields: Mapping, version: int) -> None:
    """Save 联系人, 联系电话, 填报日期."""
    require_edit(user, report)
    header = clean_header(fields)
    values = {"contact_name": header.contact_name, "contact_phone": header.contact_phone,
              "filled_on": header.filled_on}
    _save_single(db, report, user, "form_headers", values, version, "form.header",
                 lambda row: Header(row["contact_name"], row["contact_phone"], row["filled_on"], row["version"]))


def save_goals(db: sqlite_utils.Database, report: dict, user: User, fields: Mapping, version: int) -> None:
    """Save 年度整体绩效目标, 实际完成情况, 未完成原因."""
    require_edit(user, report)
    goals = clean_goals(fields)
    values = {"target": goals.target, "actual": goals.actual, "unmet_reason": goals.unmet_reason}
    _save_single(db, report, user, "goals", values, version, "form.goals",
                 lambda row: Goals(row["target"], row["actual"], row["unmet_reason"], row["version"]))


def save_budget_weight(db: sqlite_utils.Database, report: dict, user: User, text: str, version: int) -> None:
    """Save the weight (分值) of the execution score."""
    require_edit(user, report)
    weight = clean_budget_weight(text)
    _save_single(db, report, user, "scoring_rules", {"budget_weight": plain(weight)}, version, "form.rules",
                 lambda row: Decimal(row["budget_weight"]))


def save_rules(db: sqlite_utils.Database, report: dict, user: User, fields: Mapping, version: int) -> None:
    """Save the qualitative coefficients, grade bands and over-achievement threshold (admins only)."""
    require_edit(user, report)
    if not user.is_admin:
        raise NotAllowed("评分规则（定性系数、等级分数线）只能由管理员调整。")
    rules = clean_rules(fields)
    values = {"rules": json.dumps(rules.to_dict(), ensure_ascii=False)}
    _save_single(db, report, user, "scoring_rules", values, version, "form.rules",
                 lambda row: Rules.from_dict(json.loads(row["rules"])))


# --- Computed views of the form -------------------------------------------------------------------


@dataclass
class FormState:
    """The form with everything computed from it, as the report page shows it."""

    form: Form
    score: FormScore
    checks: Checks
    values: dict[str, str]  # placeholder name → text
    # (key, text) of each placeholder the narrative uses, for updating it in place (.ph-total …)
    placeholder_updates: list[tuple[str, str]] = field(default_factory=list)


def _plain_sections(db, report_id: int) -> list[Section]:
    """Live sections with their text, numbered, without HTML or filled placeholders (for the checks)."""
    # No column the checks do not need: every save reads this for every section, and each value of each row costs a
    # hand-over of the interpreter lock between the server's threads (docs/benchmarks.md, sixth round).
    rows = all_rows(db, "SELECT id, position, level, title, markdown, version, updated_at FROM sections"
                        " WHERE report_id = ? AND deleted_at IS NULL ORDER BY position", (report_id,))
    sections = [Section(report_id=report_id, html="", updated_by_name=None, **row) for row in rows]
    for section, number in zip(sections, number_outline(s.level for s in sections), strict=True):
        section.number = number
    return sections


def form_state(db: sqlite_utils.Database, report: dict, sections: list[Section] | None = None) -> FormState:
    """Form, score, checks and placeholder values of a report now (`sections`: its live ones, if at hand)."""
    form = load_form(db, report["id"])
    score = form.score()
    if sections is None:
        sections = _plain_sections(db, report["id"])
    checks = run_checks(form, score, sections, report["year"], report.get("title", ""), report.get("preamble", ""),
                        year_traces(db, report, sections))
    used = set().union(*(names_in(s.markdown) for s in sections)) if sections else set()
    values = values_from_score(score)
    updates = [(key, values[name]) for name, key in PLACEHOLDERS.items() if name in used]
    return FormState(form, score, checks, values, updates)


def submit_errors(db: sqlite_utils.Database, report: dict) -> Checks:
    """The checks that decide whether the report may be submitted."""
    return form_state(db, report).checks


def placeholder_values(db: sqlite_utils.Database, report_id: int) -> dict[str, str]:
    """Each placeholder's live text for a report."""
    return values_from_score(load_form(db, report_id).score())


def fill_sections(db: sqlite_utils.Database, report_id: int, sections: list[Section]) -> None:
    """Replace placeholders in the sections' cached HTML with the live values (only if any are used)."""
    if not any("{{" in s.html or "｛｛" in s.html for s in sections):
        return
    values = placeholder_values(db, report_id)
    for section in sections:
        section.html = fill(section.html, values)


def form_json(db: sqlite_utils.Database, report_id: int) -> tuple[dict, dict]:
    """The report's form and score as the JSON objects of DESIGN §8."""
    form = load_form(db, report_id)
    score = form.score()
    return form_to_json(form, score), score.to_dict()



def _columns(db, table: str) -> set[str]:
    """The columns a table has in this database."""
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}  # noqa: S608 (fixed names)


def copy_for_next_year(db: sqlite_utils.Database, source_id: int, target_id: int, user_id: int | None) -> None:
    """Give a next-year copy last year's form, this year's figures empty (inside the caller's transaction)."""
    # Rows, weights, targets and rules carry over; actual values, ratings, reasons and overrides are this
    # year's to fill in. Last year's actual values are kept as 上年数 where the schema has those columns.
    form = load_form(db, source_id)
    _ensure_singletons(db, target_id)
    db.execute("UPDATE form_headers SET contact_name = ?, contact_phone = ? WHERE report_id = ?",
               (form.header.contact_name, form.header.contact_phone, target_id))
    db.execute("UPDATE goals SET target = ? WHERE report_id = ?", (form.goals.target, target_id))
    db.execute("UPDATE scoring_rules SET budget_weight = ?, rules = ? WHERE report_id = ?",
               (plain(form.budget_weight), json.dumps(form.rules.to_dict(), ensure_ascii=False), target_id))
    line_prior = "prior_executed" in _columns(db, "budget_lines")
    indicator_prior = "prior_actual" in _columns(db, "indicators")
    for position, line in enumerate(form.lines, start=1):
        row_id = _insert_row(db, "budget", target_id, position, BudgetLine(line.source), user_id)
        if line_prior:
            db.execute("UPDATE budget_lines SET prior_executed = ? WHERE id = ?", (_money(line.executed), row_id))
    for position, old in enumerate(form.indicators, start=1):
        fresh = Indicator(old.level1, old.level2, old.name, old.kind, old.direction, old.unit, old.target,
                          weight=old.weight)
        row_id = _insert_row(db, "indicators", target_id, position, fresh, user_id)
        if indicator_prior:
            prior = f"{old.actual}（{old.rating}）" if old.kind == "qualitative" and old.rating else old.actual
            db.execute("UPDATE indicators SET prior_actual = ? WHERE id = ?", (prior or None, row_id))
