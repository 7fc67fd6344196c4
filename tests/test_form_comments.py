"""Comments on rows of the 自评表 (表头, budget lines, 年度总体目标, indicators): who may write, reply and resolve in
which state, who is told, the audit row, returns that name form rows, and the open count."""

import re

import pytest

from app.comments import comments_by_section
from app.users import get_user
from app.workflow import perform
from tests.conftest import Auth

PATH_TO = {"draft": [], "submitted": ["submit"], "reviewed": ["submit", "pass"],
           "approved": ["submit", "pass", "approve"]}
# Who may open a comment on a form row, state by state: as on a section.
MAY_COMMENT = {"reviewer", "approver", "admin"}
ROLES = ["editor", "reviewer", "approver", "admin", "viewer", "outsider"]


def row_key(db, report_id: int, name: str) -> str:
    """The comment key of an indicator row."""
    row_id = db.execute("SELECT id FROM indicators WHERE report_id = ? AND name = ?", (report_id, name)).fetchone()[0]
    return f"indicator:{row_id}"


def move_to(db, report_id: int, state: str) -> None:
    """Drive the report to a state as the admin."""
    for action in PATH_TO[state]:
        perform(db, report_id, get_user(db, 1), action)


@pytest.mark.parametrize("state", list(PATH_TO))
@pytest.mark.parametrize("role", ROLES)
def test_who_may_comment_on_a_form_row_in_each_state(app, db, client, state, role):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, state)
    key = row_key(db, rid, "结转结余率")
    auth = Auth(client)
    auth.login(role)
    before = db.execute("SELECT count(*) FROM comments").fetchone()[0]
    response = auth.post(f"/reports/{rid}/comments", {"body": "结转结余率偏高，\n请说明原因。", "form_row": key})
    allowed = role in MAY_COMMENT and state != "approved"
    assert response.status_code == (200 if allowed else 403)
    assert db.execute("SELECT count(*) FROM comments").fetchone()[0] == before + allowed


def test_a_form_row_comment_is_shown_by_its_row_with_line_breaks_and_markup_inert(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    key = row_key(db, rid, "结转结余率")
    auth.login("reviewer")
    body = "结转结余率偏高，\n<img src=x onerror=alert(1)>请说明原因"
    response = auth.post(f"/reports/{rid}/comments", {"body": body, "form_row": key, "panel": "1"})
    assert response.status_code == 200
    assert 'id="form-comments"' in response.text and "指标“结转结余率”" in response.text
    # The typed line break is kept: a new paragraph since Enter means one (#16), a <br> before it.
    assert re.search(r"结转结余率偏高，\s*(</p>|<br>)", response.text)
    assert "onerror" not in response.text
    assert "1 条意见未处理" in response.text  # the open count, out of band
    page = auth.get(f"/reports/{rid}").text
    row = page.split(f'id="ind-{key.split(":")[1]}"')[1].split("</tr>")[0]
    assert ">意见 1</a>" in row
    audit = db.execute("SELECT detail FROM audit_log WHERE action = 'comment.add'").fetchone()[0]
    assert f'"form_row": "{key}"' in audit


@pytest.mark.parametrize("key", ["header", "goals", "budget:{line}", "indicator:{indicator}"])
def test_each_kind_of_row_takes_comments_and_replies(app, db, client, key):
    rid = app.config["SAMPLE_ID"]
    line = db.execute("SELECT id FROM budget_lines WHERE report_id = ? ORDER BY position", (rid,)).fetchone()[0]
    indicator = db.execute("SELECT id FROM indicators WHERE report_id = ? ORDER BY position", (rid,)).fetchone()[0]
    key = key.format(line=line, indicator=indicator)
    reviewer, editor = Auth(client), None
    reviewer.login("reviewer")
    assert reviewer.post(f"/reports/{rid}/comments", {"body": "请核对", "form_row": key}).status_code == 200
    (comment,) = comments_by_section(db, rid)[key]
    editor = Auth(client)
    editor.login("editor")
    reply = editor.post(f"/reports/{rid}/comments", {"body": "已核对", "parent_id": str(comment.id)})
    assert reply.status_code == 200 and f'id="comments-{key.replace(":", "-")}"' in reply.text
    assert editor.post(f"/reports/{rid}/comments/{comment.id}/resolve").status_code == 200
    (done,) = comments_by_section(db, rid)[key]
    assert done.resolved_at and [r.body for r in done.replies] == ["已核对"]


def test_an_editor_cannot_open_a_comment_and_nobody_can_name_another_reports_row(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    auth.login("editor")
    assert auth.post(f"/reports/{rid}/comments", {"body": "x", "form_row": "header"}).status_code == 403
    auth.login("reviewer")
    for key in ("indicator:999999", "budget:abc", "footer", "section:1"):
        assert auth.post(f"/reports/{rid}/comments", {"body": "x", "form_row": key}).status_code == 404
    sid = db.execute("SELECT id FROM sections WHERE report_id = ? LIMIT 1", (rid,)).fetchone()[0]
    both = auth.post(f"/reports/{rid}/comments", {"body": "x", "form_row": "header", "section_id": str(sid)})
    assert both.status_code == 422


def test_the_rows_last_editor_is_told_of_a_comment(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    key = row_key(db, rid, "结转结余率")
    db.execute("UPDATE indicators SET updated_by = 2 WHERE id = ?", (int(key.split(":")[1]),))
    auth.login("reviewer")
    auth.post(f"/reports/{rid}/comments", {"body": "请说明结转结余率", "form_row": key})
    message, link = db.execute("SELECT message, link FROM notifications WHERE user_id = 2").fetchone()
    assert "自评表指标“结转结余率”提出意见：请说明结转结余率" in message
    assert link == f"/reports/{rid}#comments-{key.replace(':', '-')}"


def test_a_return_names_form_rows_and_resolving_its_reason_resolves_their_markers(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    move_to(db, rid, "submitted")
    key = row_key(db, rid, "结转结余率")
    auth.login("reviewer")
    page = auth.get(f"/reports/{rid}").text
    assert f'name="form_rows" value="{key}"' in page
    returned = auth.post(f"/reports/{rid}/return", {"reason": "结转结余率未说明", "form_rows": [key, "goals"]},
                         htmx=False)
    assert returned.status_code == 303
    threads = comments_by_section(db, rid)
    assert [c.body for c in threads[key]] == [c.body for c in threads["goals"]] == ["结转结余率未说明"]
    auth.login("editor")
    page = auth.get(f"/reports/{rid}").text
    assert "1 条意见未处理" in page  # the reason once, not once per marker
    (reason,) = threads[None]
    assert auth.post(f"/reports/{rid}/comments/{reason.id}/resolve").status_code == 200
    assert all(c.resolved_at for c in comments_by_section(db, rid)[key])
    assert "条意见未处理" not in auth.get(f"/reports/{rid}").text


def test_the_approval_sheet_names_the_row_of_a_comment(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    key = row_key(db, rid, "结转结余率")
    move_to(db, rid, "submitted")
    auth.login("reviewer")
    auth.post(f"/reports/{rid}/comments", {"body": "请说明结转结余率", "form_row": key})
    perform(db, rid, get_user(db, 4), "pass")
    perform(db, rid, get_user(db, 7), "approve")
    sheet = auth.get(f"/reports/{rid}/editions/1/sheet").text
    assert "自评表指标“结转结余率”" in sheet and "请说明结转结余率" in sheet
