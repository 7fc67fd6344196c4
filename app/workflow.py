"""The approval workflow: who may move a report from which state to which, with an audit row each time."""

import json
from dataclasses import dataclass

import sqlite_utils

from . import audit, clock, notifications
from .checks import blocking_message
from .comments import add_return_comments
from .db import all_rows, one, transaction
from .editions import freeze
from .form_store import submit_errors
from .permissions import NotAllowed
from .reports import STATUS_LABELS, InvalidInput, get_report
from .sections import get_sections
from .users import User


class InvalidTransition(Exception):
    """The action does not apply to the report's current state; the message says why."""


@dataclass(frozen=True)
class Transition:
    """One action: the roles that may take it from each state, and where it leads."""

    label: str
    who: dict  # from state → roles allowed (admins always are)
    to: str
    needs_reason: bool = False
    opinion: str = "意见"  # what the text is called on the dialog, the 审批单 and the 流转记录
    default: str = ""  # the opinion when none is given (an official form reads 同意)
    role: str = ""  # who decides, as the 审批单 names them


TRANSITIONS = {
    "submit": Transition("提交审核", {"draft": {"editor"}}, "submitted", opinion="报送说明", role="填报人"),
    "pass": Transition("审核通过", {"submitted": {"reviewer"}}, "reviewed", opinion="审核意见", default="同意",
                       role="审核人（财务负责人）"),
    "return": Transition("退回修改", {"submitted": {"reviewer"}, "reviewed": {"approver"}}, "draft",
                         needs_reason=True, opinion="退回原因"),
    "approve": Transition("审批定稿", {"reviewed": {"approver"}}, "approved", opinion="审批意见", default="同意",
                          role="审批人（单位负责人）"),
    "reopen": Transition("重新打开", {"approved": set()}, "draft", needs_reason=True, opinion="重新打开的原因",
                         role="管理员"),
}
# Who returned a report depends on the state it was in.
RETURN_ROLES = {"submitted": "审核人（财务负责人）", "reviewed": "审批人（单位负责人）"}
MAX_OPINION_CHARS = 5000


def check(report: dict, user: User, action: str) -> Transition:
    """The transition if the user may take it now; else NotAllowed (role) or InvalidTransition (state)."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise InvalidTransition("未知的操作。")
    in_unit = user.is_admin or user.unit_id == report["unit_id"]
    ever_allowed = set().union(*transition.who.values())
    if not in_unit or not (user.is_admin or user.role in ever_allowed):
        raise NotAllowed(f"您无权对该报告执行“{transition.label}”。")
    status = report["status"]
    if status not in transition.who:
        raise InvalidTransition(
            f"报告当前状态为“{STATUS_LABELS[status]}”，不能执行“{transition.label}”。请刷新页面查看最新状态。"
        )
    if not user.is_admin and user.role not in transition.who[status]:
        raise NotAllowed(f"报告当前状态为“{STATUS_LABELS[status]}”，应由其他角色处理，您不能执行“{transition.label}”。")
    return transition


def allowed_actions(report: dict, user: User) -> list[str]:
    """The actions the user may take on the report now (they decide which buttons render)."""
    allowed = []
    for action in TRANSITIONS:
        try:
            check(report, user, action)
        except (NotAllowed, InvalidTransition):
            continue
        allowed.append(action)
    return allowed


# The action each role is expected to take next; admins act only when they choose to.
# Each role's duty (我的待办): the state it acts on and the forward action it takes there, read off the
# table above (a return leads back to draft and is no one's duty).
DUTIES = {role: (state, action) for action, transition in TRANSITIONS.items() if transition.to != "draft"
          for state, roles in transition.who.items() for role in roles}


def waiting_for(report: dict, user: User) -> str | None:
    """What the report waits for from this user (我的待办), or None."""
    duty = DUTIES.get(user.role, (None, None))[1]
    if duty is None or duty not in allowed_actions(report, user):
        return None
    if duty == "submit":
        return "已退回，请修改后重新提交" if report.get("last_action") == "return" else "待填写并提交"
    return "待您审核" if duty == "pass" else "待您审批"


def current_revisions(db: sqlite_utils.Database, report_id: int) -> dict[str, int]:
    """{section id: version} of every live section (JSON keys are strings)."""
    rows = db.execute(
        "SELECT id, version FROM sections WHERE report_id = ? AND deleted_at IS NULL ORDER BY position",
        (report_id,),
    ).fetchall()
    return {str(section_id): version for section_id, version in rows}


def perform(
    db: sqlite_utils.Database,
    report_id: int,
    user: User,
    action: str,
    reason: str = "",
    section_ids: tuple[int, ...] = (),
    mail: bool = False,
    form_rows: tuple[str, ...] = (),
) -> int:
    """Take a workflow action in one transaction: state change, event, edition, audit, notifications (and their
    mail when `mail`); return the event id.

    `reason` is the decision's text: the reason of a return or reopen (required), the opinion of a submit,
    pass or approve (optional; pass and approve default to 同意). `section_ids` and `form_rows` are the
    places a return names.
    """
    reason = reason.replace("\r\n", "\n").strip()
    with transaction(db):
        # Read the state inside the write lock: of twenty simultaneous approvals, one wins.
        report = get_report(db, user, report_id)
        transition = check(report, user, action)
        if transition.needs_reason and not reason:
            raise InvalidInput(f"“{transition.label}”须填写原因。")
        reason = reason or transition.default
        if len(reason) > MAX_OPINION_CHARS:
            raise InvalidInput(f"{transition.opinion}过长（不超过{MAX_OPINION_CHARS}字）。")
        checks_seen = None
        if action == "submit":
            found = submit_errors(db, report)
            if not found.ok:
                raise InvalidTransition(blocking_message(found))
            checks_seen = json.dumps(found.to_dict(), ensure_ascii=False)
        revisions = current_revisions(db, report_id)
        edition_id = freeze(db, report, user.id) if action == "approve" else None
        now = clock.now()
        # updated_at/by stay: they tell who last changed the text; the event says who acted.
        db.execute(
            "UPDATE reports SET status = ? WHERE id = ? AND status = ?",
            (transition.to, report_id, report["status"]),
        )
        event_id = db.execute(
            "INSERT INTO workflow_events (report_id, action, from_status, to_status, actor_id, reason,"
            " revisions, edition_id, created_at, checks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (report_id, action, report["status"], transition.to, user.id, reason,
             json.dumps(revisions), edition_id, now, checks_seen),
        ).lastrowid
        if action == "return":
            add_return_comments(db, report, user, reason, section_ids, event_id, form_rows)
        said = {"reason": reason} if transition.needs_reason else {"opinion": reason}
        if action == "return" and form_rows:
            said["form_rows"] = list(dict.fromkeys(form_rows))
        audit.record(db, f"report.{action}", actor_id=user.id, report_id=report_id,
                     from_status=report["status"], to_status=transition.to, **said,
                     revisions=revisions, edition_id=edition_id)
        notifications.on_workflow(db, report, user, action, reason, mail=mail, said=transition.opinion)
    return event_id


def list_events(db: sqlite_utils.Database, report_id: int) -> list[dict]:
    """The report's workflow history, oldest first, with actor names."""
    rows = all_rows(
        db,
        "SELECT workflow_events.*, users.display_name AS actor_name, editions.number AS edition_number"
        " FROM workflow_events LEFT JOIN users ON users.id = workflow_events.actor_id"
        " LEFT JOIN editions ON editions.id = workflow_events.edition_id"
        " WHERE workflow_events.report_id = ? ORDER BY workflow_events.id",
        (report_id,),
    )
    for row in rows:
        transition = TRANSITIONS[row["action"]]
        row["label"] = transition.label
        row["opinion_label"] = transition.opinion
        row["role"] = RETURN_ROLES.get(row["from_status"], "") if row["action"] == "return" else transition.role
        row["revisions"] = json.loads(row["revisions"])
    return rows


def checks_at_submission(db: sqlite_utils.Database, report_id: int) -> dict | None:
    """The last submission's time, person and the 提交前检查 it saw ({"errors", "warnings", "confirmed"}), or None."""
    row = one(
        db,
        "SELECT workflow_events.created_at, workflow_events.checks, users.display_name AS actor_name"
        " FROM workflow_events LEFT JOIN users ON users.id = workflow_events.actor_id"
        " WHERE report_id = ? AND action = 'submit' ORDER BY workflow_events.id DESC LIMIT 1",
        (report_id,),
    )
    if row is None:
        return None
    row["checks"] = json.loads(row["checks"]) if row["checks"] else None
    return row


def last_return(db: sqlite_utils.Database, report_id: int) -> dict | None:
    """The latest return event of the report, if it was ever returned."""
    row = one(
        db,
        "SELECT * FROM workflow_events WHERE report_id = ? AND action = 'return' ORDER BY id DESC LIMIT 1",
        (report_id,),
    )
    if row:
        row["revisions"] = json.loads(row["revisions"])
    return row


def changes_since_return(db: sqlite_utils.Database, report_id: int) -> tuple[dict | None, list[dict]]:
    """(the last return, the sections changed since: kind 'changed' | 'added' | 'deleted', old and new text)."""
    returned = last_return(db, report_id)
    if returned is None:
        return None, []
    then = {int(k): v for k, v in returned["revisions"].items()}
    # Pick, per section, the revision that was current at the return.
    old_text = {}
    for section_id, version in then.items():
        row = one(db, "SELECT title, markdown FROM revisions WHERE section_id = ? AND version = ?",
                  (section_id, version))
        if row:
            old_text[section_id] = row
    changes = []
    current = get_sections(db, report_id)
    for section in current:
        if section.id not in then:
            changes.append({"kind": "added", "heading": section.heading, "section_id": section.id,
                            "old": "", "new": section.markdown, "old_title": "", "new_title": section.title})
        elif section.version != then[section.id]:
            old = old_text.get(section.id, {"title": "", "markdown": ""})
            changes.append({"kind": "changed", "heading": section.heading, "section_id": section.id,
                            "old": old["markdown"], "new": section.markdown,
                            "old_title": old["title"], "new_title": section.title})
    live = {s.id for s in current}
    for section_id in then:
        if section_id not in live and section_id in old_text:
            old = old_text[section_id]
            changes.append({"kind": "deleted", "heading": old["title"], "section_id": section_id,
                            "old": old["markdown"], "new": "", "old_title": old["title"], "new_title": ""})
    return returned, changes
