"""The editors over HTTP (#16): paste conversion, 格式说明, who else is editing, labels and fields."""

from pathlib import Path

import pytest

from app.presence import EXPIRY_SECONDS, Presence
from tests.conftest import Auth

FIXTURES = Path(__file__).parent / "fixtures" / "clipboard"


def first_section(db, report_id):
    return db.execute("SELECT id FROM sections WHERE report_id = ? AND deleted_at IS NULL ORDER BY id LIMIT 1",
                      (report_id,)).fetchone()[0]


def test_paste_turns_word_html_into_markdown_and_counts_pictures(auth):
    auth.login("editor")
    response = auth.post("/paste", {"html": (FIXTURES / "word.html").read_text(encoding="utf-8"), "text": "x"})
    assert response.status_code == 200
    assert "| 康复项目 | 执行数 | 1,150.50 |" in response.json["markdown"]
    assert response.json["notes"] == ["有 1 张图片未粘贴：正文只保存文字和表格，图片请另行报送。"]


def test_paste_of_excel_text_is_a_table_but_plain_text_is_left_alone(auth):
    auth.login("editor")
    tsv = (FIXTURES / "excel.tsv").read_text(encoding="utf-8")
    assert auth.post("/paste", {"text": tsv}).json["markdown"].startswith("| 资金来源 | 年初预算数 |")
    assert auth.post("/paste", {"text": tsv, "mode": "plain"}).json["markdown"] == tsv
    assert auth.post("/paste", {"text": "第一段\n第二段"}).json["markdown"] == "第一段\n第二段"


def test_paste_refuses_a_clipboard_too_large_and_needs_the_csrf_token(auth, client):
    auth.login("editor")
    assert auth.post("/paste", {"html": "<p>" + "甲" * 2_100_000}).status_code in (413, 422)
    assert client.post("/paste", data={"html": "<p>甲</p>"}, headers={"HX-Request": "true"}).status_code == 400


def test_format_help_shows_examples_rendered_beside_them(auth):
    auth.login("viewer")
    page = auth.get("/format-help", htmx=True).text
    assert "<th>这样输入</th>" in page and "<strong>加粗的文字</strong>" in page
    assert "<th>项目</th>" in page and "先按 Esc 再按 Tab" in page


def test_editor_fields_have_toolbar_hooks_and_plain_label(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    sid = first_section(db, rid)
    auth.login("editor")
    page = auth.get(f"/reports/{rid}/sections/{sid}/edit", htmx=True).text
    assert ">正文\n" in page and "Markdown" not in page
    assert 'data-editor="markdown"' in page and f'data-draft-key="draft:2:{rid}:{sid}"' in page
    assert 'hx-trigger="load, every 30s"' in page
    assert 'data-editor="markdown"' in auth.get(f"/reports/{rid}/header").text
    goals = auth.get(f"/reports/{rid}/form/goals/edit", htmx=True).text
    assert goals.count('data-editor="plain"') == 3


def test_someone_editing_is_seen_by_others_and_told_to_the_next_editor(app, db):
    rid = app.config["SAMPLE_ID"]
    sid = first_section(db, rid)
    first, second, reader = Auth(app.test_client()), Auth(app.test_client()), Auth(app.test_client())
    first.login("editor")
    second.login("editor2")
    reader.login("reviewer")
    assert first.post(f"/reports/{rid}/sections/{sid}/presence").text.strip() == ""
    marks = reader.get(f"/reports/{rid}/presence", htmx=True).text
    assert f'<li data-section-id="{sid}">editor姓名正在编辑</li>' in marks
    # The second editor is told before typing, and on every heartbeat.
    assert "editor姓名正在编辑此部分" in second.get(f"/reports/{rid}/sections/{sid}/edit", htmx=True).text
    assert "editor姓名正在编辑此部分" in second.post(f"/reports/{rid}/sections/{sid}/presence").text
    # Nobody sees their own mark; leaving takes it away for everyone.
    assert "editor姓名" not in first.get(f"/reports/{rid}/presence", htmx=True).text
    assert first.post(f"/reports/{rid}/sections/{sid}/presence/leave").status_code == 204
    assert "editor姓名" not in reader.get(f"/reports/{rid}/presence", htmx=True).text


def test_saving_takes_the_mark_away(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    sid = first_section(db, rid)
    auth.login("editor")
    auth.post(f"/reports/{rid}/sections/{sid}/presence")
    version = db.execute("SELECT version FROM sections WHERE id = ?", (sid,)).fetchone()[0]
    saved = auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "新正文\n第二段", "version": version})
    assert saved.status_code == 200
    reader = Auth(app.test_client())
    reader.login("reviewer")
    assert "data-section-id" not in reader.get(f"/reports/{rid}/presence", htmx=True).text


def test_report_page_polls_for_editors_only_in_draft(auth, app):
    rid = app.config["SAMPLE_ID"]
    auth.login("viewer")
    assert f'hx-get="/reports/{rid}/presence"' in auth.get(f"/reports/{rid}").text


def test_a_mark_expires_without_heartbeat():
    now = [1000.0]
    marks = Presence(clock=lambda: now[0])
    marks.beat(1, 7, user_id=2, name="张三")
    assert marks.report(1, user_id=9) == {7: ["张三"]}
    now[0] += EXPIRY_SECONDS - 1
    marks.beat(1, 7, user_id=3, name="李四")
    assert [m.name for m in marks.others(1, 7, user_id=9)] == ["张三", "李四"]
    now[0] += 2
    assert marks.report(1, user_id=9) == {7: ["李四"]}


@pytest.mark.parametrize("role", ["viewer", "reviewer", "outsider"])
def test_only_editors_of_the_draft_send_heartbeats(app, db, role):
    rid = app.config["SAMPLE_ID"]
    sid = first_section(db, rid)
    user = Auth(app.test_client())
    user.login(role)
    assert user.post(f"/reports/{rid}/sections/{sid}/presence").status_code == 403
