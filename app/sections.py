"""Changing sections: conflict-safe saves, structure (add, delete, move) and revision history."""

from dataclasses import dataclass

import sqlite_utils

from . import audit, clock
from .db import all_rows, one, transaction
from .form_store import fill_sections
from .numbering import MAX_LEVEL, number_outline
from .permissions import require_edit
from .render import render_markdown
from .reports import InvalidInput, NotFound, Section, check_title, touch
from .users import User

MAX_MARKDOWN_BYTES = 200 * 1024


class TooLarge(ValueError):
    """A section text over the size limit."""


class Conflict(Exception):
    """The section changed (or went) since the editor opened it; nothing was saved."""

    def __init__(self, current: Section | None):
        super().__init__("conflict")
        self.current = current


@dataclass
class Revision:
    """One saved state of a section."""

    id: int
    section_id: int
    version: int
    title: str
    markdown: str
    note: str
    created_at: str
    created_by_name: str | None


_SECTION_SQL = (
    "SELECT sections.id, report_id, position, level, title, markdown, html, version,"
    " updated_at, users.display_name AS updated_by_name, carried_over, carried_confirmed_at,"
    " confirmer.display_name AS carried_confirmed_by FROM sections"
    " LEFT JOIN users ON users.id = sections.updated_by"
    " LEFT JOIN users AS confirmer ON confirmer.id = sections.carried_confirmed_by"
    " WHERE report_id = ? AND deleted_at IS NULL"
)


def get_sections(db: sqlite_utils.Database, report_id: int) -> list[Section]:
    """The live sections of a report in document order, numbered, placeholders ({{总分}}) filled."""
    rows = all_rows(db, _SECTION_SQL + " ORDER BY position", (report_id,))
    sections = [Section(**{**row, "carried_over": bool(row["carried_over"])}) for row in rows]
    for section, number in zip(sections, number_outline(s.level for s in sections), strict=True):
        section.number = number
    for section, following in zip(sections, sections[1:], strict=False):
        section.has_children = following.level > section.level

    fill_sections(db, report_id, sections)
    return sections


def get_section(db: sqlite_utils.Database, report_id: int, section_id: int) -> Section:
    """A live section of the report, numbered as in the whole outline; NotFound otherwise."""
    # The outline's levels give the number; only this section's text is read (a save answers with it).
    outline = db.execute("SELECT id, level FROM sections WHERE report_id = ? AND deleted_at IS NULL"
                         " ORDER BY position", (report_id,)).fetchall()
    place = next((index for index, (sid, _) in enumerate(outline) if sid == section_id), None)
    row = one(db, _SECTION_SQL + " AND sections.id = ?", (report_id, section_id)) if place is not None else None
    if row is None:
        raise NotFound("该部分不存在或已被删除。")
    section = Section(**{**row, "carried_over": bool(row["carried_over"])})
    section.number = number_outline(level for _, level in outline[:place + 1])[-1]
    section.has_children = place + 1 < len(outline) and outline[place + 1][1] > section.level
    fill_sections(db, report_id, [section])
    return section


def check_markdown(markdown: str) -> str:
    """Normalised section text, or TooLarge when over the limit."""
    if len(markdown.encode("utf-8")) > MAX_MARKDOWN_BYTES:
        raise TooLarge(f"内容过长：每个部分不超过 {MAX_MARKDOWN_BYTES // 1024} KB，请拆分为多个部分。")
    return markdown.replace("\r\n", "\n").strip("\n")


def _add_revision(db, section_id: int, version: int, title: str, markdown: str, note: str,
                  user_id: int) -> None:
    """Record a saved state of a section (inside the caller's transaction)."""
    db.execute(
        "INSERT INTO revisions (section_id, version, title, markdown, note, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (section_id, version, title, markdown, note, clock.now(), user_id),
    )


def save_section(
    db: sqlite_utils.Database,
    report: dict,
    user: User,
    section_id: int,
    markdown: str,
    version: int,
    title: str | None = None,
    note: str = "保存",
) -> Section:
    """Save a section's text (and title) if nobody saved since `version`; else raise Conflict."""
    require_edit(user, report)
    markdown = check_markdown(markdown)
    html = render_markdown(markdown)  # rendered once, here; reads use the cached HTML
    with transaction(db):
        current = one(
            db,
            "SELECT title, markdown, version, carried_over FROM sections"
            " WHERE id = ? AND report_id = ? AND deleted_at IS NULL",
            (section_id, report["id"]),
        )
        if current is None or current["version"] != version:
            raise Conflict(None if current is None else get_section(db, report["id"], section_id))
        new_title = check_title(title, "章节标题") if title is not None else current["title"]
        if new_title == current["title"] and markdown == current["markdown"]:
            return get_section(db, report["id"], section_id)
        carried = current["carried_over"] and _only_years_changed(db, report, section_id, new_title, markdown)
        db.execute(
            "UPDATE sections SET title = ?, markdown = ?, html = ?, version = version + 1,"
            " updated_at = ?, updated_by = ?, carried_over = ? WHERE id = ?",
            (new_title, markdown, html, clock.now(), user.id, int(carried), section_id),
        )
        _add_revision(db, section_id, version + 1, new_title, markdown, note, user.id)
        touch(db, report["id"], user.id)
        audit.record(db, "section.save", actor_id=user.id, report_id=report["id"],
                     section_id=section_id, version=version + 1, note=note)
    return get_section(db, report["id"], section_id)


def _only_years_changed(db, report: dict, section_id: int, title: str, markdown: str) -> bool:
    """Whether a cloned section still reads as last year's once this year is put back to last year (未更新 stays)."""
    source = one(db, "SELECT year FROM reports WHERE id = ?", (report.get("cloned_from"),))
    first = one(db, "SELECT title, markdown FROM revisions WHERE section_id = ? ORDER BY version LIMIT 1",
                (section_id,))
    if source is None or first is None:
        return False
    this, last = str(report["year"]), str(source["year"])
    # Both sides with every last year made this year: what is left to differ is more than a year.
    return ([title.replace(last, this), markdown.replace(last, this)]
            == [first["title"].replace(last, this), first["markdown"].replace(last, this)])


def _subtree_end(sections: list[Section], index: int) -> int:
    """Index just past the section at `index` and everything nested under it."""
    end = index + 1
    while end < len(sections) and sections[end].level > sections[index].level:
        end += 1
    return end


def _sibling_before(sections: list[Section], index: int) -> int | None:
    """Index of the previous section on the same level under the same parent."""
    for i in range(index - 1, -1, -1):
        if sections[i].level == sections[index].level:
            return i
        if sections[i].level < sections[index].level:
            return None
    return None


def _write_order(db, report_id: int, ordered: list[Section]) -> None:
    """Store positions and levels after a structure change."""
    for position, section in enumerate(ordered, start=1):
        db.execute(
            "UPDATE sections SET position = ?, level = ? WHERE id = ? AND report_id = ?",
            (position, section.level, section.id, report_id),
        )


def add_section(
    db: sqlite_utils.Database, report: dict, user: User, title: str,
    after_id: int | None = None, child: bool = False,
) -> int:
    """Insert a new empty section after another one (and its subsections) or at the end."""
    require_edit(user, report)
    title = check_title(title, "章节标题")
    now = clock.now()
    with transaction(db):
        sections = get_sections(db, report["id"])
        level, index = 1, len(sections)
        if after_id is not None:
            at = next((i for i, s in enumerate(sections) if s.id == after_id), None)
            if at is None:
                raise NotFound("该部分不存在或已被删除，请刷新页面。")
            level = sections[at].level + (1 if child else 0)
            if level > MAX_LEVEL:
                raise InvalidInput("最多只能有四级标题（一、（一）1.（1））。")
            # A child goes first under its parent; a sibling goes after the whole subtree.
            index = at + 1 if child else _subtree_end(sections, at)
        section_id = db.execute(
            "INSERT INTO sections (report_id, position, level, title, created_at, updated_at,"
            " updated_by) VALUES (?, 0, ?, ?, ?, ?, ?)",
            (report["id"], level, title, now, now, user.id),
        ).lastrowid
        _add_revision(db, section_id, 1, title, "", "新增", user.id)
        new = Section(section_id, report["id"], 0, level, title, "", "", 1, now, None)
        _write_order(db, report["id"], sections[:index] + [new] + sections[index:])
        touch(db, report["id"], user.id)
        audit.record(db, "section.add", actor_id=user.id, report_id=report["id"],
                     section_id=section_id, title=title)
    return section_id


def delete_section(db: sqlite_utils.Database, report: dict, user: User, section_id: int) -> int:
    """Delete a section with its subsections (kept for the record); return how many went."""
    require_edit(user, report)
    now = clock.now()
    with transaction(db):
        sections = get_sections(db, report["id"])
        at = next((i for i, s in enumerate(sections) if s.id == section_id), None)
        if at is None:
            raise NotFound("该部分不存在或已被删除，请刷新页面。")
        doomed = sections[at:_subtree_end(sections, at)]
        for section in doomed:
            db.execute(
                "UPDATE sections SET deleted_at = ?, deleted_by = ? WHERE id = ?",
                (now, user.id, section.id),
            )
        _write_order(db, report["id"], [s for s in sections if s not in doomed])
        touch(db, report["id"], user.id)
        audit.record(db, "section.delete", actor_id=user.id, report_id=report["id"],
                     section_id=section_id, titles=[s.heading for s in doomed])
    return len(doomed)


MOVES = {"up": "上移", "down": "下移", "indent": "降为下级", "outdent": "升为上级"}


def move_section(
    db: sqlite_utils.Database, report: dict, user: User, section_id: int, direction: str
) -> None:
    """Move a section with its subsections up, down, one level deeper or one level up."""
    require_edit(user, report)
    if direction not in MOVES:
        raise InvalidInput("未知的移动方式。")
    with transaction(db):
        sections = get_sections(db, report["id"])
        at = next((i for i, s in enumerate(sections) if s.id == section_id), None)
        if at is None:
            raise NotFound("该部分不存在或已被删除，请刷新页面。")
        end = _subtree_end(sections, at)
        block = sections[at:end]
        if direction == "up":
            before = _sibling_before(sections, at)
            if before is None:
                raise InvalidInput("已经是同级第一项，不能再上移。")
            ordered = sections[:before] + block + sections[before:at] + sections[end:]
        elif direction == "down":
            if end >= len(sections) or sections[end].level != block[0].level:
                raise InvalidInput("已经是同级最后一项，不能再下移。")
            next_end = _subtree_end(sections, end)
            ordered = sections[:at] + sections[end:next_end] + block + sections[next_end:]
        else:
            step = 1 if direction == "indent" else -1
            if step == 1 and _sibling_before(sections, at) is None:
                raise InvalidInput("前面没有同级部分，不能降为下级。")
            if not all(1 <= s.level + step <= MAX_LEVEL for s in block):
                raise InvalidInput("标题级别须在一级（一、）到四级（（1））之间。")
            for s in block:
                s.level += step
            ordered = sections
        _write_order(db, report["id"], ordered)
        touch(db, report["id"], user.id)
        audit.record(db, "section.move", actor_id=user.id, report_id=report["id"],
                     section_id=section_id, direction=direction)


def list_revisions(db: sqlite_utils.Database, section_id: int) -> list[Revision]:
    """Every saved state of a section, newest first."""
    rows = all_rows(
        db,
        "SELECT revisions.id, section_id, version, title, markdown, note, revisions.created_at,"
        " users.display_name AS created_by_name FROM revisions"
        " LEFT JOIN users ON users.id = revisions.created_by"
        " WHERE section_id = ? ORDER BY version DESC",
        (section_id,),
    )
    return [Revision(**row) for row in rows]


def restore_revision(
    db: sqlite_utils.Database, report: dict, user: User, section_id: int, revision_id: int,
    version: int,
) -> Section:
    """Bring back an earlier state as a new revision (history is never rewritten)."""
    revision = next((r for r in list_revisions(db, section_id) if r.id == revision_id), None)
    if revision is None:
        raise NotFound("该历史版本不存在。")
    return save_section(db, report, user, section_id, revision.markdown, version,
                        title=revision.title, note=f"恢复自第 {revision.version} 版")
