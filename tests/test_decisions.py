"""Opinions on every decision: who gives one in which state, which are required, 同意 by default, line breaks
kept and markup inert on the 流转记录, the 审批单, notifications and mail."""

import re

import pytest
from markupsafe import escape

from app.users import get_user
from app.workflow import perform
from tests.conftest import Auth

USER_IDS = {"admin": 1, "editor": 2, "reviewer": 4, "approver": 7}
PATH_TO = {"draft": [], "submitted": ["submit"], "reviewed": ["submit", "pass"],
           "approved": ["submit", "pass", "approve"]}
# (state, action, role who may take it): every decision of the workflow with each role allowed to make it.
DECISIONS = [
    ("draft", "submit", "editor"), ("draft", "submit", "admin"),
    ("submitted", "pass", "reviewer"), ("submitted", "pass", "admin"),
    ("submitted", "return", "reviewer"), ("reviewed", "return", "approver"), ("reviewed", "return", "admin"),
    ("reviewed", "approve", "approver"), ("reviewed", "approve", "admin"),
    ("approved", "reopen", "admin"),
]
FIELD = {"submit": "opinion", "pass": "opinion", "approve": "opinion", "return": "reason", "reopen": "reason"}
# What an empty text becomes: None means the decision is refused (the reason is required).
WHEN_EMPTY = {"submit": "", "pass": "同意", "approve": "同意", "return": None, "reopen": None}
TWO_LINES = "1. 请补充自评得分；\n2. <script>alert('意见')</script>请核对 <b>预算执行率</b>。"


def move_to(db, report_id: int, state: str) -> None:
    """Drive the report to a state as the admin (with the default opinions)."""
    for action in PATH_TO[state]:
        perform(db, report_id, get_user(db, 1), action)


def last_event(db, report_id: int) -> dict:
    """The report's latest workflow event."""
    return next(db.query("SELECT * FROM workflow_events WHERE report_id = ? ORDER BY id DESC LIMIT 1",
                         [report_id]))


@pytest.mark.parametrize(("state", "action", "role"), DECISIONS)
@pytest.mark.parametrize("text", ["", "  ", TWO_LINES])
def test_each_decision_takes_its_opinion_or_reason(app, db, client, state, action, role, text):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, state)
    events = db.execute("SELECT count(*) FROM workflow_events").fetchone()[0]
    auth = Auth(client)
    auth.login(role)
    response = auth.post(f"/reports/{rid}/{action}", {FIELD[action]: text}, htmx=False)
    stored = text.strip() or WHEN_EMPTY[action]
    if stored is None:
        assert response.status_code == 422 and "须填写原因" in response.text
        assert db.execute("SELECT count(*) FROM workflow_events").fetchone()[0] == events
        return
    assert response.status_code == 303, response.text
    event = last_event(db, rid)
    assert (event["action"], event["actor_id"], event["reason"]) == (action, USER_IDS[role], stored)
    record = auth.get(f"/reports/{rid}/workflow").text
    if stored:
        # Escaped, with its line break, inside an element that keeps line breaks.
        escaped = str(escape(stored))
        assert re.search(r'<td class="keep-lines">[^<]*<span[^>]*>[^<]*</span>' + re.escape(escaped), record)
        assert "<script>alert" not in record and "<b>预算执行率</b>" not in record


def test_a_reason_sent_as_opinion_is_still_missing(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "submitted")
    auth.login("reviewer")
    response = auth.post(f"/reports/{rid}/return", {"opinion": "退回"}, htmx=False)
    assert response.status_code == 422
    assert db.execute("SELECT status FROM reports WHERE id = ?", (rid,)).fetchone()[0] == "submitted"


def test_an_opinion_over_5000_characters_is_refused(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "submitted")
    auth.login("reviewer")
    response = auth.post(f"/reports/{rid}/pass", {"opinion": "同" * 5001}, htmx=False)
    assert response.status_code == 422 and "审核意见过长" in response.text


def test_the_dialogs_offer_同意_for_pass_and_approve_and_require_a_reason_to_return(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "submitted")
    auth.login("reviewer")
    page = auth.get(f"/reports/{rid}").text
    assert re.search(r'<textarea name="opinion"[^>]*>同意</textarea>', page)
    assert re.search(r'<textarea name="reason"[^>]*required', page)
    auth.login("editor")  # no decision of theirs on a submitted report
    assert 'name="opinion"' not in auth.get(f"/reports/{rid}").text


def test_the_approval_sheet_lists_every_decision_with_its_opinion_in_order(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    editor, reviewer, approver = get_user(db, 2), get_user(db, 4), get_user(db, 7)
    perform(db, rid, editor, "submit", "请审核。")
    perform(db, rid, reviewer, "return", "一、自评结论缺少得分；\n二、请核对<i>执行率</i>。")
    perform(db, rid, editor, "submit", "已按意见修改。")
    perform(db, rid, reviewer, "pass", "同意，请按意见修改后报送")
    perform(db, rid, approver, "approve")
    auth.login("viewer")
    sheet = auth.get(f"/reports/{rid}/editions/1/sheet").text
    rows = re.findall(r'<tr class="decision-(\w+)"><td>([^<]+)</td><td>([^<]*)</td><td>([^<]+)</td><td>[^<]+</td>\s*'
                      r'<td class="keep-lines">([^<]*)</td>', sheet)
    assert rows == [
        ("submit", "提交审核", "填报人", "editor姓名", "报送说明：请审核。"),
        ("return", "退回修改", "审核人（财务负责人）", "reviewer姓名",
         "退回原因：一、自评结论缺少得分；\n二、请核对&lt;i&gt;执行率&lt;/i&gt;。"),
        ("submit", "提交审核", "填报人", "editor姓名", "报送说明：已按意见修改。"),
        ("pass", "审核通过", "审核人（财务负责人）", "reviewer姓名", "审核意见：同意，请按意见修改后报送"),
        ("approve", "审批定稿", "审批人（单位负责人）", "approver姓名", "审批意见：同意"),
    ]
    opinion = r'<th>{}</th><td colspan="3" class="keep-lines opinion">{}</td>'
    assert re.search(opinion.format("审核意见", "同意，请按意见修改后报送"), sheet)
    assert re.search(opinion.format("审批意见", "同意"), sheet)


def test_a_later_round_starts_a_new_sheet(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "approved")
    admin = get_user(db, 1)
    perform(db, rid, admin, "reopen", "补充数据")
    perform(db, rid, get_user(db, 2), "submit")
    perform(db, rid, get_user(db, 4), "pass", "第二轮同意")
    perform(db, rid, get_user(db, 7), "approve", "同意定稿")
    auth.login("viewer")
    second = auth.get(f"/reports/{rid}/editions/2/sheet").text
    assert "第二轮同意" in second and "同意定稿" in second and "补充数据" not in second
    assert "第二轮同意" not in auth.get(f"/reports/{rid}/editions/1/sheet").text


def test_notifications_and_mail_carry_the_opinion_with_its_line_breaks(app, db):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "submitted")
    perform(db, rid, get_user(db, 4), "pass", "同意。\n请审批人关注结转结余率。", mail=True)
    bell = db.execute("SELECT message FROM notifications WHERE user_id = 7 ORDER BY id DESC").fetchone()[0]
    assert "已审核通过" in bell and "同意。" in bell
    body = db.execute("SELECT body FROM outbox WHERE user_id = 7 ORDER BY id DESC").fetchone()[0]
    assert "审核意见：\n同意。\n请审批人关注结转结余率。\n" in body
    perform(db, rid, get_user(db, 7), "return", "1. 补充\n2. 核对", mail=True)
    body = db.execute("SELECT body FROM outbox WHERE user_id = 2 ORDER BY id DESC").fetchone()[0]
    assert "退回原因：\n1. 补充\n2. 核对\n" in body


def test_the_audit_log_records_the_opinion(app, db):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "submitted")
    perform(db, rid, get_user(db, 4), "pass", "同意")
    detail = db.execute("SELECT detail FROM audit_log WHERE action = 'report.pass'").fetchone()[0]
    assert '"opinion": "同意"' in detail
