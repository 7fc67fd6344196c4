"""Next year from last year: copy a report's outline, text and form, and flag what is stale."""

import re

import sqlite_utils

from . import audit, clock
from .db import one, report_changed, transaction
from .editions import get_edition, list_editions
from .form_store import copy_for_next_year
from .outline import ParsedReport, ParsedSection
from .permissions import NotAllowed, can_create_in, require_edit
from .reports import InvalidInput, check_year, create_report, get_report
from .sections import get_section, get_sections, save_section
from .traces import YearReference, kept_contexts, year_references
from .users import User


def _source(db: sqlite_utils.Database, report: dict) -> ParsedReport:
    """What to copy: the latest edition if there is one, else the current text."""
    editions = list_editions(db, report["id"])
    if editions:
        content = get_edition(db, report["id"], editions[0]["number"])["content"]
        return ParsedReport(content["title"], content.get("preamble", ""),
                            [ParsedSection(s["level"], s["title"], s["markdown"].split("\n"))
                             for s in content["sections"]])
    return ParsedReport(report["title"], report["preamble"],
                        [ParsedSection(s.level, s.title, s.markdown.split("\n"))
                         for s in get_sections(db, report["id"])])


def clone_report(db: sqlite_utils.Database, user: User, source_id: int, year) -> int:
    """A new draft for `year` holding last year's outline, text and form; returns its id."""
    source = get_report(db, user, source_id)
    if not can_create_in(user, source["unit_id"]):
        raise NotAllowed("只有本单位填报人或管理员可以新建下一年度报告。")
    year = check_year(year)
    if year <= source["year"]:
        raise InvalidInput(f"新报告的年度须晚于{source['year']}年。")
    parsed = _source(db, source)
    # The title says which year it covers; the text is left alone and flagged instead.
    parsed.title = re.sub(rf"(?<!\d){source['year']}(?=\s*年)", str(year), parsed.title, count=1)
    with transaction(db):
        new_id = create_report(db, user, source["unit_id"], year, parsed, how=f"由{source['year']}年度复制")
        db.execute("UPDATE reports SET cloned_from = ? WHERE id = ?", (source_id, new_id))
        db.execute("UPDATE sections SET carried_over = 1 WHERE report_id = ?", (new_id,))
        copy_form(db, source_id, new_id, user.id)
        audit.record(db, "report.clone", actor_id=user.id, report_id=new_id, source=source_id,
                     source_year=source["year"], year=year)
    return new_id


def copy_form(db: sqlite_utils.Database, source_id: int, target_id: int, user_id: int) -> None:
    """Copy the form; last year's actual values become this year's 上年数 and the actuals start empty."""
    copy_for_next_year(db, source_id, target_id, user_id)


def stale_sections(db: sqlite_utils.Database, report: dict) -> dict[int, list[YearReference]]:
    """For a cloned report: section id → old-year mentions, for sections flagged 未更新 or with mentions."""
    if not report.get("cloned_from"):
        return {}
    source = one(db, "SELECT year FROM reports WHERE id = ?", (report["cloned_from"],))
    if source is None:
        return {}
    kept = kept_contexts(db, report["id"])
    return {s.id: year_references(s.markdown, source["year"], kept.get(s.id, frozenset()))
            for s in get_sections(db, report["id"])}


def mark_year(db: sqlite_utils.Database, report: dict, user: User, section_id: int, start: int,
              keep: bool = True) -> None:
    """Mark the mention of last year at `start` 有意保留 (or take the mark back); recorded in the audit log."""
    require_edit(user, report)
    source = one(db, "SELECT year FROM reports WHERE id = ?", (report.get("cloned_from"),))
    if source is None:
        raise InvalidInput("该报告不是由上一年度复制而来。")
    with transaction(db):
        section = get_section(db, report["id"], section_id)
        ref = next((r for r in year_references(section.markdown, source["year"]) if r.start == start), None)
        if ref is None:
            raise InvalidInput("该处文字已经改变，请刷新页面后再试。")
        if keep:
            db.execute("INSERT OR IGNORE INTO year_keeps (report_id, section_id, context, created_by, created_at)"
                       " VALUES (?, ?, ?, ?, ?)", (report["id"], section_id, ref.context, user.id, clock.now()))
        else:
            db.execute("DELETE FROM year_keeps WHERE section_id = ? AND context = ?", (section_id, ref.context))
        report_changed(db, report["id"])  # a kept mention is no longer counted by the checks
        audit.record(db, "section.keep_year" if keep else "section.unkeep_year", actor_id=user.id,
                     report_id=report["id"], section_id=section_id, mention=ref.context)


def confirm_carried(db: sqlite_utils.Database, report: dict, user: User, section_id: int) -> None:
    """确认无需修改: a 未更新 section's text stays as last year's on purpose; recorded in the audit log."""
    require_edit(user, report)
    with transaction(db):
        changed = db.execute(
            "UPDATE sections SET carried_confirmed_by = ?, carried_confirmed_at = ? WHERE id = ? AND report_id = ?"
            " AND deleted_at IS NULL AND carried_over = 1 AND carried_confirmed_at IS NULL",
            (user.id, clock.now(), section_id, report["id"]),
        ).rowcount
        if not changed:
            raise InvalidInput("该部分已不是“未更新”状态（可能已被修改或已确认），请刷新页面。")
        report_changed(db, report["id"])  # a confirmed section is no longer a warning
        audit.record(db, "section.confirm_carried", actor_id=user.id, report_id=report["id"], section_id=section_id)


def replace_year(
    db: sqlite_utils.Database, report: dict, user: User, section_id: int, start: int, version: int
) -> None:
    """Replace one mention of the old year, at `start`, by the report's year (a new revision)."""
    require_edit(user, report)  # before looking at the text: a reader learns nothing from the answer
    source = one(db, "SELECT year FROM reports WHERE id = ?", (report.get("cloned_from"),))
    if source is None:
        raise InvalidInput("该报告不是由上一年度复制而来。")
    section = get_section(db, report["id"], section_id)
    old = str(source["year"])
    if not any(ref.start == start for ref in year_references(section.markdown, source["year"])):
        raise InvalidInput("该处文字已经改变，请刷新页面后再试。")
    markdown = section.markdown[:start] + str(report["year"]) + section.markdown[start + len(old):]
    save_section(db, report, user, section_id, markdown, version,
                 note=f"将“{old}”改为“{report['year']}”")
