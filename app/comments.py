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


def _insert(db, report_id: int, section_id, parent_id, event_id, user_id: int, body: str) -> int:
    """Store one comment (inside the caller's transaction)."""
    return db.execute(
        "INSERT INTO comments (report_id, section_id, parent_id, event_id, author_id, body, body_html,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (report_id, section_id, parent_id, event_id, user_id, body, render_markdown(body), clock.now()),
    ).lastrowid


def _check_section(db, report_id: int, section_id: int | None) -> None:
    """NotFound unless the section is a live section of the report."""
    if section_id is None:
        return
    if not one(db, "SELECT 1 AS ok FROM sections WHERE id = ? AND report_id = ? AND deleted_at IS NULL",
               (section_id, report_id)):
        raise NotFound("该部分不存在或已被删除，请刷新页面。")


def add_comment(
    db: sqlite_utils.Database, report: dict, user: User, body: str,
    section_id: int | None = None, parent_id: int | None = None, mail: bool = False,
) -> int:
    """Add a comment (reviewers, approvers) or a reply to one (editors too), with its notifications and mail."""
    require_view(user, report)
    body = _check_body(body)
    with transaction(db):
        if parent_id is not None:
            if not can_reply(user, report):
                raise NotAllowed("您不能回复意见。")
            parent = one(db, "SELECT section_id FROM comments WHERE id = ? AND report_id = ? AND parent_id IS NULL",
                         (parent_id, report["id"]))
            if parent is None:
                raise NotFound("要回复的意见不存在。")
            section_id = parent["section_id"]
        elif not can_comment(user, report):
            raise NotAllowed("只有审核人、审批人可以提出意见；填报人可以回复。")
        _check_section(db, report["id"], section_id)
        comment_id = _insert(db, report["id"], section_id, parent_id, None, user.id, body)
        audit.record(db, "comment.add", actor_id=user.id, report_id=report["id"], section_id=section_id,
                     comment_id=comment_id, reply_to=parent_id)
        notifications.on_comment(db, report, user, body, section_id, parent_id, mail=mail)
    return comment_id


def add_return_comments(
    db: sqlite_utils.Database, report: dict, user: User, reason: str, section_ids, event_id: int
) -> None:
    """Record a return's reason on the report, and a marker beside each section it names.

    The report-level comment is the thread people reply to; resolving it resolves the markers.
    """
    body = _check_body(reason)
    _insert(db, report["id"], None, None, event_id, user.id, body)
    for section_id in dict.fromkeys(section_ids):
        _check_section(db, report["id"], section_id)
        _insert(db, report["id"], section_id, None, event_id, user.id, body)


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
            " (SELECT event_id FROM comments WHERE id = ? AND section_id IS NULL))",
            (clock.now(), user.id, report["id"], comment_id, comment_id),
        ).rowcount
        if not changed:
            raise NotFound("该意见不存在或已处理。")
        audit.record(db, "comment.resolve", actor_id=user.id, report_id=report["id"], comment_id=comment_id)


def comments_by_section(db: sqlite_utils.Database, report_id: int) -> dict[int | None, list[Comment]]:
    """Top-level comments with their replies, keyed by section id (None: the whole report)."""
    rows = all_rows(
        db,
        "SELECT comments.id, comments.report_id, section_id, parent_id, event_id, author_id,"
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
            grouped.setdefault(comment.section_id, []).append(comment)
        elif comment.parent_id in top:
            top[comment.parent_id].replies.append(comment)
    return grouped


def comment_place(db: sqlite_utils.Database, comment_id: int) -> tuple[int | None, int | None]:
    """(section id, workflow event id) of a comment: where its block is on the page, and the return it gives."""
    row = db.execute("SELECT section_id, event_id FROM comments WHERE id = ?", (comment_id,)).fetchone()
    return (row[0], row[1]) if row else (None, None)


def sections_of_event(db: sqlite_utils.Database, event_id: int) -> list[int]:
    """The sections a return's reasons were marked beside."""
    return [row[0] for row in db.execute(
        "SELECT DISTINCT section_id FROM comments WHERE event_id = ? AND section_id IS NOT NULL", (event_id,))]
