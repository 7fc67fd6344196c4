"""The approval workflow: every (state, action, role), races, frozen editions, returns and resubmission."""

import re
import threading

import pytest

from app import db as database
from app.audit import verify_chain
from app.editions import get_edition, verify
from app.reports import get_report
from app.users import get_user
from app.workflow import InvalidTransition, perform
from tests.conftest import Auth

USER_IDS = {"admin": 1, "editor": 2, "reviewer": 4, "viewer": 5, "outsider": 6, "approver": 7}
PATH_TO = {
    "draft": [],
    "submitted": ["submit"],
    "reviewed": ["submit", "pass"],
    "approved": ["submit", "pass", "approve"],
}
# Which role may take which action in which state (admins may take every one of them).
ALLOWED = {
    ("draft", "submit"): {"editor", "admin"},
    ("submitted", "pass"): {"reviewer", "admin"},
    ("submitted", "return"): {"reviewer", "admin"},
    ("reviewed", "return"): {"approver", "admin"},
    ("reviewed", "approve"): {"approver", "admin"},
    ("approved", "reopen"): {"admin"},
}
EVER = {"editor": {"submit"}, "reviewer": {"pass", "return"}, "approver": {"approve", "return"},
        "admin": {"submit", "pass", "return", "approve", "reopen"}, "viewer": set(), "outsider": set()}
STATES_FOR = {"submit": {"draft"}, "pass": {"submitted"}, "return": {"submitted", "reviewed"},
              "approve": {"reviewed"}, "reopen": {"approved"}}


def expected(state: str, action: str, role: str) -> int:
    """303 when allowed; 403 for a role that may never or not now; 409 for an action of another state."""
    if role in ALLOWED.get((state, action), set()):
        return 303
    if action not in EVER[role]:
        return 403
    return 409 if state not in STATES_FOR[action] else 403


def move_to(db, report_id: int, state: str) -> None:
    """Drive the report to a state as the admin."""
    admin = get_user(db, 1)
    for action in PATH_TO[state]:
        perform(db, report_id, admin, action)


def snapshot(db) -> dict:
    """Everything a refused request must leave untouched."""
    return {table: list(db.query(f"SELECT * FROM {table} ORDER BY id"))  # noqa: S608 (fixed names)
            for table in ("reports", "sections", "workflow_events", "editions", "comments", "audit_log")}


@pytest.mark.parametrize("state", list(PATH_TO))
@pytest.mark.parametrize("action", list(STATES_FOR))
@pytest.mark.parametrize("role", list(USER_IDS))
def test_every_state_action_role(app, client, db, state, action, role):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, state)
    auth = Auth(client)
    auth.login(role)
    before = snapshot(db)
    audit_rows = len(before["audit_log"])
    response = auth.post(f"/reports/{rid}/{action}", {"reason": "原因说明"}, htmx=False)
    assert response.status_code == expected(state, action, role), response.text
    if response.status_code == 303:
        assert db.execute("SELECT count(*) FROM audit_log WHERE action = ?",
                          (f"report.{action}",)).fetchone()[0] == PATH_TO[state].count(action) + 1
    else:
        after = snapshot(db)
        # The only row a refused request may add is none at all.
        assert len(after["audit_log"]) == audit_rows
        assert after == before


def test_return_and_reopen_need_a_reason(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "submitted")
    auth.login("reviewer")
    response = auth.post(f"/reports/{rid}/return", {"reason": "  "}, htmx=False)
    assert response.status_code == 422 and "须填写原因" in response.text
    assert get_report(db, get_user(db, 1), rid)["status"] == "submitted"


def test_twenty_simultaneous_approvals_make_one_transition(app, db):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "reviewed")
    outcomes, barrier = [], threading.Barrier(20)

    def approve():
        conn = database.connect(app.config["DATABASE"])
        barrier.wait()
        try:
            perform(conn, rid, get_user(conn, 7), "approve")
            outcomes.append("ok")
        except InvalidTransition:
            outcomes.append("refused")
        except Exception as error:  # noqa: BLE001 (any other failure is the bug we look for)
            outcomes.append(repr(error))
        finally:
            conn.conn.close()

    threads = [threading.Thread(target=approve) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * 19
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'report.approve'").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM editions").fetchone()[0] == 1


def test_approved_report_refuses_every_change(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "approved")
    auth.login("editor")
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    before = snapshot(db)
    attempts = [
        (f"/reports/{rid}/sections/{sid}", {"markdown": "改", "version": "1"}),
        (f"/reports/{rid}/sections", {"title": "新部分"}),
        (f"/reports/{rid}/sections/{sid}/delete", {}),
        (f"/reports/{rid}/sections/{sid}/move", {"direction": "down"}),
        (f"/reports/{rid}/header", {"title": "改", "preamble": "", "version": "1"}),
        (f"/reports/{rid}/comments", {"body": "意见", "section_id": str(sid)}),
    ]
    for url, data in attempts:
        assert auth.post(url, data).status_code == 403, url
    assert snapshot(db) == before
    with pytest.raises(Exception, match="immutable"):
        db.execute("UPDATE editions SET html = 'x'")


def test_edition_freezes_text_and_hash_and_survives_reopen(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "approved")
    first = get_edition(db, rid, 1)
    assert verify(first) and "自评结论" in first["html"]
    perform(db, rid, get_user(db, 1), "reopen", "补充材料")
    report = get_report(db, get_user(db, 1), rid)
    assert report["status"] == "draft"
    auth.login("editor")
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "重新打开后的修改", "version": "1"})
    for action in ["submit", "pass", "approve"]:
        perform(db, rid, get_user(db, 1), action)
    assert get_edition(db, rid, 1)["content_hash"] == first["content_hash"]
    second = get_edition(db, rid, 2)
    assert "重新打开后的修改" in second["html"] and second["content_hash"] != first["content_hash"]
    page = auth.get(f"/reports/{rid}/editions/1")
    assert "第 1 版" in page.text and first["content_hash"] in page.text and "校验一致" in page.text


def test_return_reasons_show_beside_sections_and_changes_are_listed(client, app, db):
    rid = app.config["SAMPLE_ID"]
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    editor, reviewer = Auth(client), Auth(app.test_client())
    editor.login("editor")
    reviewer.login("reviewer")
    assert editor.post(f"/reports/{rid}/submit", {}).status_code == 200
    returned = reviewer.post(f"/reports/{rid}/return",
                             {"reason": "自评结论与得分不一致", "section_ids": [str(sid)]})
    assert returned.status_code == 200 and "草稿" in returned.text
    page = editor.get(f"/reports/{rid}")
    block = page.text[page.text.index(f'id="comments-{sid}"'):]
    assert "退回原因" in block[:2000] and "自评结论与得分不一致" in block[:2000]
    assert "已退回，请修改后重新提交" in editor.get("/").text
    editor.post(f"/reports/{rid}/sections/{sid}", {"markdown": "修改后的自评结论", "version": "1"})
    editor.post(f"/reports/{rid}/submit", {})
    report_page = reviewer.get(f"/reports/{rid}")
    assert "查看退回后的修改" in report_page.text
    changes = reviewer.get(f"/reports/{rid}/changes")
    assert "（二）自评结论" in changes.text and "已修改" in changes.text
    diff = changes.text[changes.text.index('class="diff"'):]
    assert "修改后的自评结论" in diff and "diff-removed" in diff
    assert "部门整体支出绩效目标" not in changes.text


def test_comments_reply_and_resolve(client, app, db):
    rid = app.config["SAMPLE_ID"]
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    editor, reviewer = Auth(client), Auth(app.test_client())
    editor.login("editor")
    reviewer.login("reviewer")
    made = reviewer.post(f"/reports/{rid}/comments", {"body": "请补充**数据来源**", "section_id": str(sid)})
    assert made.status_code == 200 and "<strong>数据来源</strong>" in made.text
    assert editor.post(f"/reports/{rid}/comments", {"body": "编辑不能发起意见"}).status_code == 403
    cid = db.execute("SELECT id FROM comments").fetchone()[0]
    reply = editor.post(f"/reports/{rid}/comments", {"body": "已补充", "parent_id": str(cid)})
    assert reply.status_code == 200 and "已补充" in reply.text
    resolved = editor.post(f"/reports/{rid}/comments/{cid}/resolve")
    assert "已处理" in resolved.text
    viewer = Auth(app.test_client())
    viewer.login("viewer")
    assert viewer.post(f"/reports/{rid}/comments", {"body": "x", "parent_id": str(cid)}).status_code == 403


def test_dashboard_shows_my_todo_per_role(app, db):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "submitted")
    reviewer, approver = Auth(app.test_client()), Auth(app.test_client())
    reviewer.login("reviewer")
    approver.login("approver")
    assert "我的待办" in reviewer.get("/").text and "待您审核" in reviewer.get("/").text
    assert "我的待办" not in approver.get("/").text
    perform(db, rid, get_user(db, 4), "pass")
    assert "待您审批" in approver.get("/").text


def test_approval_sheet_names_everyone_and_the_hash(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    perform(db, rid, get_user(db, 2), "submit")
    perform(db, rid, get_user(db, 4), "pass")
    perform(db, rid, get_user(db, 7), "approve")
    auth.login("viewer")
    sheet = auth.get(f"/reports/{rid}/editions/1/sheet")
    assert sheet.status_code == 200
    for text in ["审批单", "editor姓名", "reviewer姓名", "approver姓名", "第 1 版", "2024",
                 get_edition(db, rid, 1)["content_hash"]]:
        assert text in sheet.text
    assert verify_chain(db) is None


def test_workflow_history_page_lists_events(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    perform(db, rid, get_user(db, 2), "submit")
    perform(db, rid, get_user(db, 4), "return", "数据有误")
    auth.login("viewer")
    page = auth.get(f"/reports/{rid}/workflow")
    assert "提交审核" in page.text and "退回修改" in page.text and "数据有误" in page.text


def test_a_sections_comment_form_opens_on_request_in_place_or_as_a_page_of_its_own(client, app, db):
    rid = app.config["SAMPLE_ID"]
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    reviewer = Auth(client)
    reviewer.login("reviewer")
    link = f"/reports/{rid}/comments/new?section_id={sid}"
    page = reviewer.get(f"/reports/{rid}").text
    # Each section carries a 提意见 link, not a form of its own (the report's own thread keeps its form).
    assert f'href="{link}"' in page and f'name="section_id" value="{sid}"' not in page
    assert 'name="section_id" value=""' in page

    in_place = reviewer.get(link, htmx=True)
    assert in_place.status_code == 200
    assert '<details class="add-comment" open>' in in_place.text and "autofocus" in in_place.text
    assert f'hx-target="#comments-{sid}"' in in_place.text and f'name="section_id" value="{sid}"' in in_place.text

    alone = reviewer.get(link)  # without scripts the link opens a page with the form
    assert alone.status_code == 200 and "对“" in alone.text and "自评结论”提意见" in alone.text
    main = alone.text.split("<main", 1)[-1]
    assert f'href="/reports/{rid}#section-{sid}"' in alone.text and "hx-post" not in main
    assert "<summary" not in main and f'href="/reports/{rid}#section-{sid}">取消</a>' in main  # a plain form
    posted = reviewer.post(f"/reports/{rid}/comments", {"body": "页面上写的意见", "section_id": str(sid)}, htmx=False)
    assert posted.status_code == 303 and posted.headers["Location"].endswith(f"/reports/{rid}#section-{sid}")
    page = reviewer.get(f"/reports/{rid}").text
    # With a thread and without one, a section's block ends with the same link to its own form.
    block = page.split(f'<div id="comments-{sid}" class="comments"', 1)[1].split("</section>", 1)[0]
    assert "页面上写的意见" in block and f'href="{link}" hx-get="{link}" hx-target="this"' in block
    empty = re.findall(r'<div id="comments-(\d+)" class="comments"><a class="small button add-comment" '
                       r'href="([^"]+)" hx-get="([^"]+)"', page)
    assert len(empty) > 5 and all(href == get == f"/reports/{rid}/comments/new?section_id={section}"
                                  for section, href, get in empty)

    other_sid = db.execute("SELECT id FROM sections WHERE report_id != ? LIMIT 1", (rid,)).fetchone()
    for bad in ("abc", "", "99999999999999999999999", "0", *([str(other_sid[0])] if other_sid else [])):
        missing = reviewer.get(f"/reports/{rid}/comments/new?section_id={bad}")
        assert missing.status_code == 404 and "该部分不存在" in missing.text, bad
    editor = Auth(app.test_client())
    editor.login("editor")
    refused = editor.get(link)
    assert refused.status_code == 403 and "只有审核人、审批人可以提出意见" in refused.text
    assert f"/comments/new?section_id={sid}" not in editor.get(f"/reports/{rid}").text
