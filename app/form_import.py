"""A 自评表 from a spreadsheet's cells (found by form_sheet): checked by the editor's input rules with every
problem named by its cell, previewed against the current form, then stored in one transaction — or
refused with 409 when the form changed since the preview. A part the file does not have (no goals, no
budget table) stays as it is.
"""

import hashlib
import json
import re
from dataclasses import dataclass

import sqlite_utils

from . import audit, clock
from .cleantext import clean
from .db import transaction
from .form_model import (
    MAX_INDICATORS,
    MAX_LINES,
    Form,
    FormInputError,
    clean_budget_weight,
    clean_goals,
    clean_header,
    clean_indicator,
    clean_line,
)
from .form_sheet import Found, find_form, guess_indicator
from .form_store import TABLES, _insert_row, _values, load_form  # the editor's own storage of a row
from .permissions import NotAllowed, require_edit
from .reports import touch
from .users import User
from .xlsx_import import Grid


def _problems(error: FormInputError, cells: dict[str, str], fallback: str) -> list[str]:
    """Each message of a refused row, named by its cell: C12：年度指标值须为数字。"""
    return [f"{cells.get(name, fallback)}：{message}" for name, message in error.errors.items()]


@dataclass
class Change:
    """One row of the preview: what a line or indicator of the form becomes."""

    kind: str  # "budget" | "indicators"
    number: int  # its place in the table, from 1
    mark: str  # 新增, 修改, 不变, 删除
    label: str
    old: str = ""
    new: str = ""


@dataclass
class Preview:
    """The form an import would make, every problem by cell, and what changes."""

    form: Form
    problems: list[str]
    warnings: list[str]
    changes: list[Change]
    fields: list[tuple[str, str, str]]  # (label, old, new) of the header, goals and budget weight that change
    fingerprint: str  # the current form's, checked again when the import is confirmed
    sheet: str = ""

    @property
    def changed(self) -> bool:
        """Whether confirming would change anything."""
        return bool(self.fields) or any(change.mark != "不变" for change in self.changes)


def fingerprint(form: Form) -> str:
    """Every row's id and version: any save, insert or delete since the preview changes it."""
    state = [form.header.version, form.goals.version, form.rules_version,
             [(line.id, line.version) for line in form.lines], [(i.id, i.version) for i in form.indicators]]
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()[:32]


def _texts(found: dict[str, tuple[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    """(field → cleaned text, field → cell) of a found row."""
    return ({name: clean(text) for name, (text, _) in found.items()}, {name: cell for name, (_, cell) in found.items()})


def build(found: Found, current: Form, year: int, unit: str) -> tuple[Form, list[str], list[str]]:
    """The new form (current values where the file is silent), the problems by cell, and warnings."""
    problems, warnings = [], []
    form = Form(current.header, current.goals, current.budget_weight, current.lines, current.indicators, current.rules,
                current.rules_version)
    if found.lines is None and found.indicators is None:
        problems.append("表格中没有找到“资金来源”预算表，也没有找到含“三级指标”“年度指标值”等列的指标表。"
                        "请确认上传的是自评表（表头须有这些列名）。")
    if found.year and found.year[0][:4] != str(year):
        warnings.append(f"{found.year[1]}：表格的年度为“{found.year[0]}”，本报告为 {year} 年度，请核对是否选错了文件。")
    if found.unit and found.unit[0] != unit:
        warnings.append(f"{found.unit[1]}：表格的单位为“{found.unit[0]}”，本报告属于“{unit}”，请核对。")
    if found.header:
        values, cells = _texts(found.header)
        merged = {"contact_name": current.header.contact_name, "contact_phone": current.header.contact_phone,
                  "filled_on": current.header.filled_on, **values}
        try:
            form.header = clean_header(merged)
        except FormInputError as error:
            problems += _problems(error, cells, "表头")
    if found.goals:
        values, cells = _texts(found.goals)
        merged = {"target": current.goals.target, "actual": current.goals.actual,
                  "unmet_reason": current.goals.unmet_reason, **values}
        try:
            form.goals = clean_goals(merged)
        except FormInputError as error:
            problems += _problems(error, cells, "年度总体目标")
    if found.budget_weight:
        try:
            form.budget_weight = clean_budget_weight(clean(found.budget_weight[0]))
        except FormInputError as error:
            problems += _problems(error, {"budget_weight": found.budget_weight[1]}, "预算执行分值")
    if found.lines is not None:
        form.lines = _rows(found.lines, clean_line, MAX_LINES, "预算资金", problems, None)
    if found.indicators is not None:
        form.indicators = _rows(found.indicators, clean_indicator, MAX_INDICATORS, "绩效指标", problems,
                                guess_indicator)
    return form, problems, warnings


def _rows(found: list[dict], clean_row, limit: int, label: str, problems: list[str], guess) -> list:
    """Each found row through the editor's rules; problems by cell."""
    if len(found) > limit:
        problems.append(f"{label}不超过 {limit} 行，表格中有 {len(found)} 行。")
        return []
    rows = []
    for row in found:
        values, cells = _texts(row)
        if guess is not None:
            guess(values)
        try:
            rows.append(clean_row(values))
        except FormInputError as error:
            line = next(iter(cells.values()), "")
            problems += _problems(error, cells, f"第 {re.sub(r'^[A-Z]+', '', line)} 行")
    return rows


def _line_text(line) -> str:
    """A budget line in one phrase for the preview."""
    return f"{line.source}：年初 {line.initial or '—'}，全年 {line.adjusted or '—'}，执行 {line.executed or '—'}"


def _indicator_text(indicator) -> str:
    """An indicator in one phrase for the preview."""
    values = _values("indicators", indicator)
    shown = [values["target"] or "", values["actual"] or "", values["rating"] or "", f"{values['weight']}分"]
    return " ｜ ".join(part for part in shown if part)


def _compare(kind: str, old: list, new: list, label, text) -> list[Change]:
    """Row by row, in order: what each place of the table becomes."""
    changes = []
    for number in range(1, max(len(old), len(new)) + 1):
        before = old[number - 1] if number <= len(old) else None
        after = new[number - 1] if number <= len(new) else None
        if after is None:
            changes.append(Change(kind, number, "删除", label(before), text(before)))
        elif before is None:
            changes.append(Change(kind, number, "新增", label(after), "", text(after)))
        else:
            same = _values(kind, before) == _values(kind, after)
            changes.append(Change(kind, number, "不变" if same else "修改", label(after), text(before), text(after)))
    return changes


def preview(grid: Grid, current: Form, year: int, unit: str) -> Preview:
    """What importing the sheet would do to the form, with every problem; nothing is written."""
    new, problems, warnings = build(find_form(grid), current, year, unit)
    changes = _compare("budget", current.lines, new.lines, lambda line: line.source, _line_text)
    changes += _compare("indicators", current.indicators, new.indicators, lambda i: i.name, _indicator_text)
    fields = []
    for label, before, after in (
        ("联系人", current.header.contact_name, new.header.contact_name),
        ("联系电话", current.header.contact_phone, new.header.contact_phone),
        ("填报日期", current.header.filled_on, new.header.filled_on),
        ("年度整体绩效目标", current.goals.target, new.goals.target),
        ("实际完成情况", current.goals.actual, new.goals.actual),
        ("未完成原因", current.goals.unmet_reason, new.goals.unmet_reason),
        ("预算执行分值", format(current.budget_weight.normalize(), "f"), format(new.budget_weight.normalize(), "f")),
    ):
        if before != after:
            fields.append((label, before, after))
    return Preview(new, problems, warnings, changes, fields, fingerprint(current), grid.sheet)


class ImportConflict(Exception):
    """The form changed since the preview; nothing was imported."""


def apply(db: sqlite_utils.Database, report: dict, user: User, form: Form, seen: str, filename: str = "") -> int:
    """Store an imported form as one change (one audit entry): rows updated in place, added or removed;
    ImportConflict when anything changed since the preview (`seen` is its fingerprint). Returns rows changed."""
    require_edit(user, report)
    with transaction(db):
        status = db.execute("SELECT status FROM reports WHERE id = ?", (report["id"],)).fetchone()
        if status is None or status[0] != "draft":
            raise NotAllowed("报告已提交或定稿，不能再导入自评表；如需修改请先退回。")
        current = load_form(db, report["id"])
        if fingerprint(current) != seen:
            raise ImportConflict("自评表在您预览之后已被修改（他人保存了某一行或表头），未导入任何内容。"
                                 "请重新上传文件，核对后再确认。")
        changed = _store_rows(db, report["id"], "budget", current.lines, form.lines, user.id)
        changed += _store_rows(db, report["id"], "indicators", current.indicators, form.indicators, user.id)
        now = clock.now()
        h, g = form.header, form.goals
        if (h.contact_name, h.contact_phone, h.filled_on) != (current.header.contact_name, current.header.contact_phone,
                                                               current.header.filled_on):
            db.execute("UPDATE form_headers SET contact_name = ?, contact_phone = ?, filled_on = ?,"
                       " version = version + 1 WHERE report_id = ?", (h.contact_name, h.contact_phone, h.filled_on,
                                                                      report["id"]))
            changed += 1
        if (g.target, g.actual, g.unmet_reason) != (current.goals.target, current.goals.actual,
                                                    current.goals.unmet_reason):
            db.execute("UPDATE goals SET target = ?, actual = ?, unmet_reason = ?, version = version + 1"
                       " WHERE report_id = ?", (g.target, g.actual, g.unmet_reason, report["id"]))
            changed += 1
        if form.budget_weight != current.budget_weight:
            db.execute("UPDATE scoring_rules SET budget_weight = ?, version = version + 1 WHERE report_id = ?",
                       (format(form.budget_weight.normalize(), "f"), report["id"]))
            changed += 1
        if changed:
            touch(db, report["id"], user.id)
            score = form.score()
            audit.record(db, "form.import", actor_id=user.id, report_id=report["id"], file=filename[:200],
                         rows_changed=changed, lines=len(form.lines), indicators=len(form.indicators),
                         total=format(score.total, "f"), grade=score.grade, at=now)
    return changed


def _store_rows(db, report_id: int, kind: str, old: list, new: list, user_id: int) -> int:
    """Rows in place where a row was, added after, surplus removed; how many rows changed."""
    spec, changed = TABLES[kind], 0
    for position, row in enumerate(new, start=1):
        values = _values(kind, row)
        if position <= len(old):
            before = old[position - 1]
            if _values(kind, before) == values and before.position == position:
                continue
            assignments = ", ".join(f"{column} = ?" for column in values)
            db.execute(f"UPDATE {spec.table} SET {assignments}, position = ?, version = version + 1,"  # noqa: S608 (names from TABLES; values bound)
                       " updated_at = ?, updated_by = ? WHERE id = ?",
                       (*values.values(), position, clock.now(), user_id, before.id))
        else:
            _insert_row(db, kind, report_id, position, row, user_id)
        changed += 1
    for surplus in old[len(new):]:
        db.execute(f"DELETE FROM {spec.table} WHERE id = ?", (surplus.id,))  # noqa: S608 (names from TABLES; values bound)
        changed += 1
    return changed
