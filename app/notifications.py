"""Notifications in the site (the bell) and the mail they cause, written in the transaction of their event.

Who hears of what: a submitted report its unit's reviewers; a passed one the approvers; a returned one
the unit's editors (with the reason); an approved or reopened one the editors and whoever submitted it;
a comment the people who edited its section; a reply the author of the comment; a share link its creator,
three days before it expires. Nobody is told of their own action. No Flask here.
"""

from datetime import timedelta

import sqlite_utils

from . import clock
from .db import all_rows, one, transaction
from .users import User

KEEP = timedelta(days=365)  # entries older than a year are removed
SHARE_WARNING = timedelta(days=3)
PAGE_SIZE = 50
NO_ADDRESS = "该用户没有电子邮件地址，未发送"
SUBJECT_PREFIX = "【绩效自评】"

_EVENTS = {
    # action: (kind, who hears, in-site message, subject's event words)
    "submit": ("submitted", "已提交审核，等待您审核", "已提交，待您审核"),
    "pass": ("passed", "已审核通过，等待您审批", "已审核通过，待您审批"),
    "return": ("returned", "已被退回修改", "被退回修改"),
    "approve": ("approved", "已审批定稿", "已审批定稿"),
    "reopen": ("reopened", "已被重新打开", "已重新打开"),
}


def _report_name(report: dict) -> str:
    """How a notification names a report: its unit and year."""
    return f"{report['unit_name']}{report['year']}年度自评报告"


def _unit_members(db: sqlite_utils.Database, unit_id: int, role: str) -> list[int]:
    """The active accounts of a unit with a role."""
    return [r[0] for r in db.execute(
        "SELECT id FROM users WHERE unit_id = ? AND role = ? AND active = 1 ORDER BY id", (unit_id, role))]


def _last_submitter(db: sqlite_utils.Database, report_id: int) -> list[int]:
    """Whoever last submitted the report (as a list: there may be nobody)."""
    row = db.execute("SELECT actor_id FROM workflow_events WHERE report_id = ? AND action = 'submit'"
                     " ORDER BY id DESC LIMIT 1", (report_id,)).fetchone()
    return [row[0]] if row and row[0] is not None else []


def workflow_recipients(db: sqlite_utils.Database, report: dict, action: str) -> list[int]:
    """Who is told of a workflow action on the report (before leaving out the actor)."""
    unit = report["unit_id"]
    if action == "submit":
        return _unit_members(db, unit, "reviewer")
    if action == "pass":
        return _unit_members(db, unit, "approver")
    if action == "return":
        return _unit_members(db, unit, "editor")
    return _unit_members(db, unit, "editor") + _last_submitter(db, report["id"])


def deliver(db: sqlite_utils.Database, user_ids, kind: str, message: str, link: str, subject: str, body: str,
            actor_id: int | None = None, mail: bool = False) -> int:
    """Notify each user once (never the actor) and, with mail on, queue their mail; inside the caller's transaction.

    Returns how many were notified. A person who turned mail off gets none; one without an address gets an
    outbox row marked skipped, so that the administrator sees whose address is missing.
    """
    now = clock.now()
    told = 0
    for user_id in dict.fromkeys(user_ids):
        if user_id is None or user_id == actor_id:
            continue
        person = one(db, "SELECT id, email, mail_enabled, active FROM users WHERE id = ?", (user_id,))
        if person is None or not person["active"]:
            continue
        db.execute("INSERT INTO notifications (user_id, kind, message, link, created_at) VALUES (?, ?, ?, ?, ?)",
                   (user_id, kind, message, link, now))
        told += 1
        if mail and person["mail_enabled"]:
            address = person["email"] or ""
            db.execute(
                "INSERT INTO outbox (user_id, recipient, subject, body, link, status, next_attempt_at, last_error,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (user_id, address, SUBJECT_PREFIX + subject, body, link, "pending" if address else "skipped", now,
                 None if address else NO_ADDRESS, now),
            )
    return told


def on_workflow(db: sqlite_utils.Database, report: dict, actor: User, action: str, reason: str,
                mail: bool = False, said: str = "原因") -> int:
    """Tell the right people of a workflow action (inside perform's transaction); `said` names the text
    (原因, 审核意见, 审批意见 …), which the mail carries whole, line breaks kept."""
    kind, message, event_words = _EVENTS[action]
    name = _report_name(report)
    text = f"{name}{message}（{actor.display_name}）"
    body = f"{name}{message}。\n\n操作人：{actor.display_name}\n"
    if reason:
        text += f"：{reason[:200]}"
        body += f"{said}：\n{reason}\n"
    subject = f"{report['unit_name']} {report['year']}年度自评报告{event_words}"
    return deliver(db, workflow_recipients(db, report, action), kind, text, f"/reports/{report['id']}",
                   subject, body, actor_id=actor.id, mail=mail)


def on_comment(db: sqlite_utils.Database, report: dict, actor: User, body: str, section_id: int | None,
               parent_id: int | None, mail: bool = False, form_row: str | None = None) -> int:
    """Tell the section's (or form row's) editors of a new comment, or the comment's author of a reply (inside its
    transaction)."""
    name = _report_name(report)
    anchor = f"section-{section_id}" if section_id else f"comments-{form_row.replace(':', '-')}" if form_row \
        else "report-comments"
    link = f"/reports/{report['id']}#{anchor}"
    section = one(db, "SELECT title FROM sections WHERE id = ?", (section_id,)) if section_id else None
    where = f"“{section['title']}”" if section else f"自评表{_form_row_name(db, form_row)}" if form_row else "报告"
    excerpt = body if len(body) <= 100 else body[:100] + "…"
    told = 0
    if parent_id is not None:
        author = one(db, "SELECT author_id FROM comments WHERE id = ?", (parent_id,))
        told += deliver(db, [author["author_id"]] if author else [], "reply",
                        f"{actor.display_name}回复了您对{name}{where}的意见：{excerpt}", link,
                        f"{report['unit_name']} {report['year']}年度自评报告：您的意见有新回复",
                        f"{actor.display_name}回复了您对{name}{where}的意见：\n\n{body}\n", actor.id, mail)
    elif section_id is not None:
        editors = [r[0] for r in db.execute(
            "SELECT DISTINCT created_by FROM revisions WHERE section_id = ? AND created_by IS NOT NULL",
            (section_id,))]
        told += deliver(db, editors, "comment", f"{actor.display_name}对{name}{where}提出意见：{excerpt}", link,
                        f"{report['unit_name']} {report['year']}年度自评报告：您编辑的部分有新意见",
                        f"{actor.display_name}对{name}{where}提出意见：\n\n{body}\n", actor.id, mail)
    elif form_row is not None:
        told += deliver(db, _form_row_editors(db, report, form_row), "comment",
                        f"{actor.display_name}对{name}{where}提出意见：{excerpt}", link,
                        f"{report['unit_name']} {report['year']}年度自评报告：自评表有新意见",
                        f"{actor.display_name}对{name}{where}提出意见：\n\n{body}\n", actor.id, mail)
    return told


_FORM_TABLES = {"header": ("form_headers", "report_id"), "goals": ("goals", "report_id"),
                "budget": ("budget_lines", "id"), "indicator": ("indicators", "id")}


def _form_row_name(db: sqlite_utils.Database, form_row: str) -> str:
    """How a notification names a form row: 表头, 指标“结转结余率” …"""
    kind, _, row_id = form_row.partition(":")
    if kind == "budget":
        row = one(db, "SELECT source FROM budget_lines WHERE id = ?", (row_id,))
        return f"预算资金“{row['source']}”" if row else "预算资金"
    if kind == "indicator":
        row = one(db, "SELECT name FROM indicators WHERE id = ?", (row_id,))
        return f"指标“{row['name']}”" if row else "指标"
    return "表头" if kind == "header" else "年度总体目标"


def _form_row_editors(db: sqlite_utils.Database, report: dict, form_row: str) -> list[int]:
    """Who filled in a form row (its last editor), else the unit's editors: they fill the form."""
    kind, _, row_id = form_row.partition(":")
    table, key = _FORM_TABLES[kind]
    row = one(db, f"SELECT updated_by FROM {table} WHERE {key} = ?",  # noqa: S608 (names from the constant above)
              (report["id"] if key == "report_id" else row_id,))
    if row and row["updated_by"] is not None:
        return [row["updated_by"]]
    return _unit_members(db, report["unit_id"], "editor")


def warn_expiring_shares(db: sqlite_utils.Database, mail: bool = False) -> int:
    """Tell each creator of a link that expires within three days, once; links made that short are left alone."""
    now = clock.parse(clock.now())
    soon = (now + SHARE_WARNING).isoformat(timespec="microseconds")
    told = 0
    with transaction(db):
        rows = all_rows(
            db,
            "SELECT shares.id, shares.report_id, shares.created_by, shares.created_at, shares.expires_at, shares.note,"
            " reports.year, units.name AS unit_name FROM shares JOIN reports ON reports.id = shares.report_id"
            " JOIN units ON units.id = reports.unit_id WHERE shares.expiry_noticed_at IS NULL"
            " AND shares.revoked_at IS NULL AND shares.expires_at IS NOT NULL AND shares.expires_at > ?"
            " AND shares.expires_at <= ?", (now.isoformat(timespec="microseconds"), soon),
        )
        for row in rows:
            db.execute("UPDATE shares SET expiry_noticed_at = ? WHERE id = ?", (clock.now(), row["id"]))
            if clock.parse(row["expires_at"]) - clock.parse(row["created_at"]) <= SHARE_WARNING:
                continue  # made to last three days or less: its creator knows
            name = f"{row['unit_name']}{row['year']}年度自评报告"
            note = f"（{row['note']}）" if row["note"] else ""
            when = clock.parse(row["expires_at"]).strftime("%Y-%m-%d %H:%M UTC")
            told += deliver(
                db, [row["created_by"]], "share_expiring", f"您创建的{name}分享链接{note}将于三天内过期",
                f"/reports/{row['report_id']}/shares",
                f"{row['unit_name']} {row['year']}年度自评报告：分享链接即将过期",
                f"您创建的{name}分享链接{note}将于 {when} 过期。如仍需分享，请新建链接。\n", mail=mail)
    return told


def purge_old(db: sqlite_utils.Database) -> int:
    """Remove notifications older than a year; how many were removed."""
    cutoff = (clock.parse(clock.now()) - KEEP).isoformat(timespec="microseconds")
    with transaction(db):
        return db.execute("DELETE FROM notifications WHERE created_at < ?", (cutoff,)).rowcount


def unread_count(db: sqlite_utils.Database, user_id: int) -> int:
    """How many of the user's notifications are unread (the bell's number)."""
    return db.execute("SELECT count(*) FROM notifications WHERE user_id = ? AND read_at IS NULL",
                      (user_id,)).fetchone()[0]


def list_for(db: sqlite_utils.Database, user_id: int, page: int = 1) -> tuple[list[dict], bool]:
    """A page of the user's notifications, newest first, and whether there are more."""
    rows = all_rows(db, "SELECT * FROM notifications WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
                    (user_id, PAGE_SIZE + 1, (max(page, 1) - 1) * PAGE_SIZE))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def open_one(db: sqlite_utils.Database, user_id: int, notification_id: int) -> str | None:
    """Mark one of the user's notifications read; its link, or None if it is not theirs (or gone)."""
    with transaction(db):
        row = one(db, "SELECT link, read_at FROM notifications WHERE id = ? AND user_id = ?",
                  (notification_id, user_id))
        if row is None:
            return None
        if row["read_at"] is None:
            db.execute("UPDATE notifications SET read_at = ? WHERE id = ?", (clock.now(), notification_id))
    return row["link"]


def mark_all_read(db: sqlite_utils.Database, user_id: int) -> int:
    """Mark every notification of the user read; how many were unread."""
    with transaction(db):
        return db.execute("UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL",
                          (clock.now(), user_id)).rowcount
