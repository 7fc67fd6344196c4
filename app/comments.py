"""Review comments on a section or the whole report: reviewers and approvers write, editors reply."""

from dataclasses import dataclass, field

import sqlite_utils

from . import audit, clock, notifications
from .db import all_rows, one, transaction
from .permissions import NotAllowed, require_view
from .render import render_markdown
from .reports import InvalidInput, NotFound
from .users import User

MAX_COMMENT_CHARS = 5000
COMMENTERS = {"reviewer", "approver", "admin", "supervisor"}  # 监管人员 comment as reviewers do
REPLIERS = COMMENTERS | {"editor"}


@dataclass
class Comment:
    """A comment with its replies."""

    id: int
    report_id: int
    section_id: int | None
    parent_id: int | None
    event_id: int | None
    form_row: str | None
    author_id: int | None
    author_name: str | None
    author_role: str | None
    body: str
    body_html: str
    created_at: str
    resolved_at: str | None
    resolved_by_name: str | None
    replies: list = field(default_factory=list)


def _in_unit(user: User, report: dict) -> bool:
    """Whether the user belongs to the report's unit (admins and 监管人员 belong everywhere)."""
    return user.sees_all_units or user.unit_id == report["unit_id"]


def can_comment(user: User, report: dict) -> bool:
    """Reviewers, approvers and admins open comments, until the report is approved."""
    return _in_unit(user, report) and user.role in COMMENTERS and report["status"] != "approved"


def require_comment(user: User, report: dict) -> None:
    """Raise NotAllowed unless the user may open a comment on the report now."""
    require_view(user, report)
    if not can_comment(user, report):
        raise NotAllowed("只有审核人、审批人可以提出意见；填报人可以回复。")


def can_reply(user: User, report: dict) -> bool:
    """Editors may also reply to comments and mark them handled."""
    return _in_unit(user, report) and user.role in REPLIERS and report["status"] != "approved"


def _check_body(body: str) -> str:
    """A comment's text, or InvalidInput."""
    body = body.strip()
    if not body:
        raise InvalidInput("意见内容不能为空。")
    if len(body) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"意见过长（不超过{MAX_COMMENT_CHARS}字）。")
    return body


def _insert(db, report_id: int, section_id, parent_id, event_id, user_id: int, body: str,
            form_row: str | None = None) -> int:
    """Store one comment (inside the caller's transaction)."""
    return db.execute(
        "INSERT INTO comments (report_id, section_id, parent_id, event_id, author_id, body, body_html,"
        " created_at, form_row) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (report_id, section_id, parent_id, event_id, user_id, body, render_body(body), clock.now(), form_row),
    ).lastrowid


def render_body(body: str) -> str:
    """A comment as HTML: Markdown, with each line break of the text kept (a numbered list typed as lines)."""
    # Two trailing spaces make a Markdown line break; blank lines stay paragraph breaks.
    return render_markdown("\n".join(line + "  " if line.strip() else line for line in body.split("\n")))


def form_rows(db: sqlite_utils.Database, report_id: int) -> dict[str, str]:
    """The rows of the report's 自评表 that can be commented on: key → name (表头, 预算资金“财政拨款”, …)."""
    rows = {"header": "自评表表头"}
    rows.update({f"budget:{r[0]}": f"预算资金“{r[1]}”" for r in db.execute(
        "SELECT id, source FROM budget_lines WHERE report_id = ? ORDER BY position", (report_id,))})
    rows["goals"] = "年度总体目标"
    rows.update({f"indicator:{r[0]}": f"指标“{r[1]}”" for r in db.execute(
        "SELECT id, name FROM indicators WHERE report_id = ? ORDER BY position", (report_id,))})
    return rows


def form_row_anchor(key: str) -> str:
    """The page id of a form row: form-header, budget-3, ind-12, form-goals."""
    kind, _, row_id = key.partition(":")
    return {"header": "form-header", "goals": "form-goals", "budget": f"line-{row_id}",
            "indicator": f"ind-{row_id}"}[kind]


def _check_form_row(db, report_id: int, form_row: str | None) -> None:
    """NotFound unless the key names a row of the report's form."""
    if form_row is not None and form_row not in form_rows(db, report_id):
        raise NotFound("该自评表行不存在或已被删除，请刷新页面。")


def _check_section(db, report_id: int, section_id: int | None) -> None:
    """NotFound unless the section is a live section of the report."""
    if section_id is None:
        return
    if not one(db, "SELECT 1 AS ok FROM sections WHERE id = ? AND report_id = ? AND deleted_at IS NULL",
               (section_id, report_id)):
        raise NotFound("该部分不存在或已被删除，请刷新页面。")


def add_comment(
    db: sqlite_utils.Database, report: dict, user: User, body: str,
    section_id: int | None = None, parent_id: int | None = None, mail: bool = False, form_row: str | None = None,
) -> int:
    """Add a comment (reviewers, approvers) or a reply to one (editors too), with its notifications and mail.

    The comment is on a section, on a row of the 自评表 (`form_row`: header, goals, budget:<id>,
    indicator:<id>) or, with neither, on the whole report.
    """
    require_view(user, report)
    body = _check_body(body)
    with transaction(db):
        if parent_id is not None:
            if not can_reply(user, report):
                raise NotAllowed("您不能回复意见。")
            parent = one(db, "SELECT section_id, form_row FROM comments WHERE id = ? AND report_id = ?"
                             " AND parent_id IS NULL", (parent_id, report["id"]))
            if parent is None:
                raise NotFound("要回复的意见不存在。")
            section_id, form_row = parent["section_id"], parent["form_row"]
        else:
            require_comment(user, report)
        if section_id is not None and form_row is not None:
            raise InvalidInput("一条意见只能针对一个部分或自评表的一行。")
        _check_section(db, report["id"], section_id)
        if parent_id is None:  # a thread on a row deleted since stays open to replies
            _check_form_row(db, report["id"], form_row)
        comment_id = _insert(db, report["id"], section_id, parent_id, None, user.id, body, form_row)
        audit.record(db, "comment.add", actor_id=user.id, report_id=report["id"], section_id=section_id,
                     comment_id=comment_id, reply_to=parent_id, **({"form_row": form_row} if form_row else {}))
        notifications.on_comment(db, report, user, body, section_id, parent_id, mail=mail, form_row=form_row)
    return comment_id


def add_return_comments(
    db: sqlite_utils.Database, report: dict, user: User, reason: str, section_ids, event_id: int, rows=(),
) -> None:
    """Record a return's reason on the report, and a marker beside each section and form row it names.

    The report-level comment is the thread people reply to; resolving it resolves the markers.
    """
    body = _check_body(reason)
    _insert(db, report["id"], None, None, event_id, user.id, body)
    for section_id in dict.fromkeys(section_ids):
        _check_section(db, report["id"], section_id)
        _insert(db, report["id"], section_id, None, event_id, user.id, body)
    for form_row in dict.fromkeys(rows):
        _check_form_row(db, report["id"], form_row)
        _insert(db, report["id"], None, None, event_id, user.id, body, form_row)


def resolve_comment(db: sqlite_utils.Database, report: dict, user: User, comment_id: int) -> None:
    """Mark a comment handled (已处理)."""
    require_view(user, report)
    if not can_reply(user, report):
        raise NotAllowed("您不能处理意见。")
    with transaction(db):
        # A return reason resolves together with its markers beside the sections.
        changed = db.execute(
            "UPDATE comments SET resolved_at = ?, resolved_by = ? WHERE report_id = ?"
            " AND parent_id IS NULL AND resolved_at IS NULL AND (id = ? OR event_id ="
            " (SELECT event_id FROM comments WHERE id = ? AND section_id IS NULL AND form_row IS NULL))",
            (clock.now(), user.id, report["id"], comment_id, comment_id),
        ).rowcount
        if not changed:
            raise NotFound("该意见不存在或已处理。")
        audit.record(db, "comment.resolve", actor_id=user.id, report_id=report["id"], comment_id=comment_id)


def comments_by_section(db: sqlite_utils.Database, report_id: int) -> dict[int | str | None, list[Comment]]:
    """Top-level comments with their replies, keyed by section id, form row key (header, indicator:5 …) or None
    (the whole report)."""
    rows = all_rows(
        db,
        "SELECT comments.id, comments.report_id, section_id, parent_id, event_id, form_row, author_id,"
        " author.display_name AS author_name, author.role AS author_role, body, body_html,"
        " comments.created_at, resolved_at, resolver.display_name AS resolved_by_name"
        " FROM comments LEFT JOIN users AS author ON author.id = comments.author_id"
        " LEFT JOIN users AS resolver ON resolver.id = comments.resolved_by"
        " WHERE comments.report_id = ? ORDER BY comments.id",
        (report_id,),
    )
    top: dict[int, Comment] = {}
    grouped: dict[int | None, list[Comment]] = {}
    for row in rows:
        comment = Comment(**row)
        if comment.parent_id is None:
            top[comment.id] = comment
            grouped.setdefault(comment.form_row or comment.section_id, []).append(comment)
        elif comment.parent_id in top:
            top[comment.parent_id].replies.append(comment)
    return grouped


def open_count(threads: dict) -> int:
    """How many comments are still open (not 已处理), on sections, form rows and the report; a return reason once."""
    return sum(1 for thread in threads.values() for c in thread
               if c.resolved_at is None and not (c.event_id and (c.section_id or c.form_row)))


def comment_place(db: sqlite_utils.Database, comment_id: int) -> tuple[int | None, int | None, str | None]:
    """(section id, workflow event id, form row) of a comment: where its block is, and the return it gives."""
    row = db.execute("SELECT section_id, event_id, form_row FROM comments WHERE id = ?", (comment_id,)).fetchone()
    return (row[0], row[1], row[2]) if row else (None, None, None)


def markers_of_event(db: sqlite_utils.Database, event_id: int) -> list[int | str]:
    """Where a return's reasons were marked: the section ids and form rows beside which they show."""
    return [row[0] or row[1] for row in db.execute(
        "SELECT DISTINCT section_id, form_row FROM comments WHERE event_id = ?"
        " AND (section_id IS NOT NULL OR form_row IS NOT NULL)", (event_id,))]
