"""Reports: creating (new, imported), listing and reading them with their numbered sections."""

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

import sqlite_utils

from . import audit, clock
from .db import all_rows, one, report_changed, transaction
from .errors import InvalidInput, NotFound  # noqa: F401 (callers name them here)
from .form_model import default_form
from .form_store import insert_form
from .labels import STATUS_LABELS  # noqa: F401 (callers name them here)
from .outline import NO_SECTIONS, ParsedReport, ParsedSection
from .permissions import (
    ALL_UNITS,
    NotAllowed,
    can_create_in,
    can_create_reports,
    reader_scope,
    require_edit,
    require_view,
)
from .records import Section, touch  # noqa: F401 (callers name them here)
from .render import render_markdown, time_budget
from .users import User

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_TITLE_CHARS = 200
# All the Markdown of one new or imported report; past it, the remaining sections show as plain text.
IMPORT_RENDER_SECONDS = 5.0


class ReportExists(InvalidInput):
    """The unit already has a report for that year; `report_id` is the one to open instead."""

    def __init__(self, report_id: int, year: int):
        super().__init__(f"该单位{year}年度的报告已存在（编号 {report_id}），不能重复创建；"
                         "请打开已有报告修改，或选择其他年度。")
        self.report_id = report_id


def standard_outline(unit_name: str, year: int) -> ParsedReport:
    """The outline every 部门整体支出绩效自评表说明 starts from, with the default 自评表 template."""
    efficiency = ["预算编制", "预算执行", "信息公开", "绩效管理", "采购管理", "资产管理", "运行成本"]
    return ParsedReport(
        title=f"{year}年度{unit_name}部门整体支出绩效自评表说明",
        preamble="",
        sections=[
            ParsedSection(1, "绩效自评情况"),
            ParsedSection(2, "部门整体支出绩效目标"),
            ParsedSection(2, "自评结论"),
            ParsedSection(2, "履职效能分析"),
            ParsedSection(2, "管理效率分析"),
            *(ParsedSection(3, name) for name in efficiency),
            ParsedSection(1, "存在的主要问题和下一步改进措施"),
        ],
        form=default_form(),
    )


def check_year(year) -> int:
    """The year as an int, or InvalidInput."""
    try:
        year = int(str(year).strip())
    except ValueError:
        raise InvalidInput("年度须为四位数字，如 2024。") from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"年度须在{MIN_YEAR}至{MAX_YEAR}之间。")
    return year


def check_title(title: str, what: str = "标题") -> str:
    """A title without surrounding or repeated white space, or InvalidInput."""
    title = " ".join(title.split())
    if not title:
        raise InvalidInput(f"{what}不能为空。")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"{what}过长（不超过{MAX_TITLE_CHARS}字）。")
    return title


def create_report(
    db: sqlite_utils.Database,
    user: User,
    unit_id: int,
    year: int,
    parsed: ParsedReport,
    how: str = "新建",
) -> int:
    """Create a draft report with its sections and first revisions; return its id."""
    if not can_create_in(user, unit_id):
        raise NotAllowed("只有本单位填报人或管理员可以新建或导入报告。")
    year = check_year(year)
    if not parsed.sections:
        raise InvalidInput(NO_SECTIONS)
    title = check_title(parsed.title or f"{year}年度部门整体支出绩效自评表说明", "报告标题")
    # Rendered before the write lock is taken, within one time budget for the whole report.
    with time_budget(IMPORT_RENDER_SECONDS):
        preamble_html = render_markdown(parsed.preamble)
        htmls = [render_markdown(section.markdown) for section in parsed.sections]
    now = clock.now()
    with transaction(db):
        existing = one(db, "SELECT id FROM reports WHERE unit_id = ? AND year = ?", (unit_id, year))
        if existing:
            raise ReportExists(existing["id"], year)
        report_id = db.execute(
            "INSERT INTO reports (unit_id, year, title, preamble, preamble_html,"
            " created_at, created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (unit_id, year, title, parsed.preamble, preamble_html, now, user.id, now, user.id),
        ).lastrowid
        for position, (section, section_html) in enumerate(zip(parsed.sections, htmls, strict=True), start=1):
            section_title = check_title(section.title, "章节标题")
            section_id = db.execute(
                "INSERT INTO sections (report_id, position, level, title, markdown, html,"
                " created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (report_id, position, section.level, section_title, section.markdown, section_html,
                 now, now, user.id),
            ).lastrowid
            db.execute(
                "INSERT INTO revisions (section_id, version, title, markdown, note, created_at,"
                " created_by) VALUES (?, 1, ?, ?, ?, ?, ?)",
                (section_id, section_title, section.markdown, how, now, user.id),
            )

        insert_form(db, report_id, parsed.form, user.id)
        report_changed(db, report_id)  # its summary facts are made as the transaction commits
        audit.record(db, "report.create", actor_id=user.id, report_id=report_id, how=how,
                     sections=len(parsed.sections))
    return report_id


_REPORT_SQL = (
    "SELECT reports.*, units.name AS unit_name, updater.display_name AS updated_by_name"
    " FROM reports JOIN units ON units.id = reports.unit_id"
    " LEFT JOIN users AS updater ON updater.id = reports.updated_by"
)
_LAST_ACTION_SQL = (
    " LEFT JOIN (SELECT report_id, action AS last_action FROM workflow_events"
    "  WHERE id IN (SELECT max(id) FROM workflow_events GROUP BY report_id)) AS last"
    " ON last.report_id = reports.id"
)


def get_report(db: sqlite_utils.Database, user: User, report_id: int) -> dict:
    """The report with unit and last editor, if the user may see it."""
    report = one(db, _REPORT_SQL + " WHERE reports.id = ?", (report_id,))
    if report is None:
        raise NotFound("报告不存在或已被删除。")
    require_view(user, report)
    report["status_label"] = STATUS_LABELS[report["status"]]
    return report


def list_reports(db: sqlite_utils.Database, user: User) -> list[dict]:
    """The reports the user may see, most recently changed first."""
    scope = reader_scope(user)
    where, params = ("", ()) if scope == ALL_UNITS else (" WHERE reports.unit_id = ?", (scope,))
    sql = _REPORT_SQL.replace(" FROM reports", ", last.last_action FROM reports", 1) + _LAST_ACTION_SQL
    rows = all_rows(db, sql + where + " ORDER BY reports.updated_at DESC", params)
    for row in rows:
        row["status_label"] = STATUS_LABELS[row["status"]]
    return rows


class UnitChoice(NamedTuple):
    """A unit as a choice list shows it."""

    id: int
    name: str


def year_to_report() -> int:
    """The year a report written now is about: each spring's 自评 covers the year just past."""
    return date.today().year - 1


def unit_choices(db: sqlite_utils.Database) -> tuple[UnitChoice, ...]:
    """Every unit by name, as plain tuples: a district has a thousand."""
    return tuple(UnitChoice(*row) for row in db.execute("SELECT id, name FROM units ORDER BY name"))


def visible_units(user: User, all_units: Sequence[UnitChoice]) -> Sequence[UnitChoice]:
    """The units (of `all_units`, from unit_choices) whose reports the user may list: all, or their own."""
    own = reader_scope(user)  # once: `user` may be a proxy, slow to ask a thousand times
    if own == ALL_UNITS:
        return all_units  # the kept tuple itself, not a copy of a thousand
    return tuple(unit for unit in all_units if unit.id == own)


def units_for_new_reports(user: User, all_units: Sequence[UnitChoice]) -> Sequence[UnitChoice]:
    """The units (of `all_units`, from unit_choices) the user may create or import reports for."""
    return visible_units(user, all_units) if can_create_reports(user) else ()




def update_header(
    db: sqlite_utils.Database, report: dict, user: User, title: str, preamble: str, version: int
) -> None:
    """Change the report's title and preamble, refusing a stale version."""
    require_edit(user, report)
    title = check_title(title, "报告标题")
    with transaction(db):
        changed = db.execute(
            "UPDATE reports SET title = ?, preamble = ?, preamble_html = ?, version = version + 1"
            " WHERE id = ? AND version = ?",
            (title, preamble, render_markdown(preamble), report["id"], version),
        ).rowcount
        if not changed:
            raise InvalidInput("报告信息已被他人修改，请刷新页面后再改。")
        touch(db, report["id"], user.id)
        audit.record(db, "report.header", actor_id=user.id, report_id=report["id"])
