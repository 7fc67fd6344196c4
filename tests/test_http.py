"""The site over HTTP: login, CSRF, in-place editing, conflicts and bad input."""

import pytest

from app.sections import MAX_MARKDOWN_BYTES
from tests.conftest import PASSWORD, csrf_from


def section_id(db, title: str) -> int:
    """The id of the live section with this title."""
    return db.execute(
        "SELECT id FROM sections WHERE title = ? AND deleted_at IS NULL", (title,)
    ).fetchone()[0]


def section_row(db, sid: int) -> dict:
    """The stored row of a section."""
    return next(db.query("SELECT * FROM sections WHERE id = ?", (sid,)))


@pytest.mark.parametrize("path", ["/", "/reports/1", "/reports/import", "/reports/1/export.json",
                                  "/reports/1/sections/2/edit", "/reports/1/sections/2/history"])
def test_anonymous_visitors_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_health_check_and_login_page_are_public(client):
    assert client.get("/healthz").json["status"] == "ok"
    page = client.get("/login")
    assert page.status_code == 200 and "登录" in page.text
    assert 'name="csrf-token"' in page.text


def test_login_with_wrong_password_says_so_in_chinese(auth):
    response = auth.login("editor", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.text


def test_five_failures_lock_the_account(auth):
    for _ in range(5):
        auth.login("editor", "wrong-password")
    response = auth.login("editor", PASSWORD)
    assert response.status_code == 401 and "锁定" in response.text


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "editor", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.text
    assert client.get("/").status_code == 302


def test_home_lists_the_sample_report(auth):
    auth.login()
    page = auth.get("/")
    assert "广州市荔湾区残疾人联合会" in page.text and "2024" in page.text and "草稿" in page.text


def test_report_page_shows_numbered_outline(auth, app):
    auth.login()
    page = auth.get(f"/reports/{app.config['SAMPLE_ID']}")
    assert page.status_code == 200
    for heading in ["一、</span>绩效自评情况", "（三）</span>履职效能分析",
                    "5.</span>党建引领", "二、</span>存在的主要问题和下一步改进措施"]:
        assert heading in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_other_units_cannot_see_the_report(auth, app):
    auth.login("outsider")
    assert auth.get(f"/reports/{app.config['SAMPLE_ID']}").status_code == 403


def test_edit_fragment_then_save_renders_in_place(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    form = auth.get(f"/reports/{rid}/sections/{sid}/edit", htmx=True)
    assert "<textarea" in form.text and 'name="version" value="1"' in form.text
    response = auth.post(f"/reports/{rid}/sections/{sid}",
                         {"markdown": "**完成**了全部目标。", "version": "1", "title": "自评结论"})
    assert response.status_code == 200
    assert "<strong>完成</strong>" in response.text
    assert 'id="outline"' in response.text and 'hx-swap-oob="true"' in response.text
    row = section_row(db, sid)
    assert row["version"] == 2 and row["html"] == "<p><strong>完成</strong>了全部目标。</p>"


def test_a_save_sends_the_outline_back_only_when_the_title_changed(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    form = auth.get(f"/reports/{rid}/sections/{sid}/edit", htmx=True)
    assert 'name="shown_title" value="自评结论"' in form.text
    same = auth.post(f"/reports/{rid}/sections/{sid}",
                     {"markdown": "只改正文。", "version": "1", "title": "自评结论", "shown_title": "自评结论"})
    assert same.status_code == 200 and "只改正文" in same.text
    assert 'id="outline"' not in same.text
    assert 'id="checks"' in same.text  # the checks read the narrative: they always come back
    renamed = auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "只改正文。", "version": "2",
                                                           "title": "自评结论及得分", "shown_title": "自评结论"})
    outline = renamed.text.split('id="outline"')[1]
    assert 'hx-swap-oob="true"' in outline and "自评结论及得分</a>" in outline


def test_stale_save_gets_409_with_both_texts_and_overwrites_nothing(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    first = auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "甲的文本", "version": "1"})
    assert first.status_code == 200
    second = auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "乙的文本", "version": "1"})
    assert second.status_code == 409
    assert "未保存" in second.text and "乙的文本" in second.text and "甲的文本" in second.text
    assert section_row(db, sid)["markdown"] == "甲的文本"


def test_preview_renders_without_saving(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    before = section_row(db, sid)
    response = auth.post(f"/reports/{rid}/preview", {"markdown": "# 预览\n\n<script>x</script>"})
    assert "<h1>预览</h1>" in response.text and "<script" not in response.text
    assert section_row(db, sid) == before


def test_post_without_csrf_token_changes_nothing(client, auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    before = section_row(db, sid)
    response = client.post(f"/reports/{rid}/sections/{sid}", data={"markdown": "x", "version": "1"})
    assert response.status_code == 400
    assert section_row(db, sid) == before


def test_body_over_the_limit_is_413_and_changes_nothing(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    before = section_row(db, sid)
    response = auth.post(f"/reports/{rid}/sections/{sid}",
                         {"markdown": "字" * (MAX_MARKDOWN_BYTES // 3 + 10), "version": "1"})
    assert response.status_code == 413
    assert "内容过长" in response.text
    assert response.headers["HX-Retarget"] == "#messages"
    assert section_row(db, sid) == before


def test_request_over_the_upload_limit_is_413(auth, app):
    auth.login()
    response = auth.post(f"/reports/{app.config['SAMPLE_ID']}/preview",
                         {"markdown": "x" * (4 * 1024 * 1024)})
    assert response.status_code == 413


def test_nul_is_removed_from_a_save_never_emptying_the_section(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    version = db.execute("SELECT version FROM sections WHERE id = ?", (sid,)).fetchone()[0]
    response = auth.client.post(
        f"/reports/{rid}/sections/{sid}", data=f"markdown=abc%00def&version={version}".encode(),
        content_type="application/x-www-form-urlencoded",
        headers={"X-CSRFToken": auth.token, "HX-Request": "true"})
    assert response.status_code == 200
    assert db.execute("SELECT markdown FROM sections WHERE id = ?", (sid,)).fetchone()[0] == "abcdef"


@pytest.mark.parametrize("body", [b"markdown=%FF%FE&version=1", b"markdown=%C0%AF&version=1"])
def test_invalid_utf8_is_400_and_never_empties_the_section(auth, app, db, body):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    before = section_row(db, sid)
    response = auth.client.post(
        f"/reports/{rid}/sections/{sid}", data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-CSRFToken": auth.token, "HX-Request": "true"})
    assert response.status_code == 400
    assert section_row(db, sid) == before


def test_save_without_markdown_field_changes_nothing(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    before = section_row(db, sid)
    response = auth.post(f"/reports/{rid}/sections/{sid}", {"version": "1"})
    assert response.status_code == 422
    assert section_row(db, sid) == before


@pytest.mark.parametrize("username", ["viewer", "reviewer", "outsider"])
def test_only_editors_of_the_unit_may_save(auth, app, db, username):
    auth.login(username)
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    before = section_row(db, sid)
    response = auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "改", "version": "1"})
    assert response.status_code == 403
    assert section_row(db, sid) == before


def test_logout_needs_post_and_ends_the_session(auth):
    auth.login()
    assert auth.client.get("/logout").status_code == 405
    page = auth.get("/")
    auth.client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    assert auth.client.get("/").status_code == 302


def test_non_htmx_save_redirects_back_to_the_section(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    response = auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "新", "version": "1"},
                         htmx=False)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#section-{sid}")


def test_history_lists_versions_compares_and_restores(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    original = section_row(db, sid)["markdown"]
    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "第二版正文", "version": "1"})
    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "第三版正文", "version": "2"})
    page = auth.get(f"/reports/{rid}/sections/{sid}/history")
    assert "第 3 版（当前）" in page.text and "第 1 版" in page.text
    assert "<del>二</del><ins>三</ins>" in page.text
    first = db.execute("SELECT id FROM revisions WHERE section_id = ? AND version = 1", (sid,)).fetchone()[0]
    compared = auth.get(f"/reports/{rid}/sections/{sid}/history?a={first}&b={first}")
    assert "两个版本的正文相同" in compared.text
    response = auth.post(f"/reports/{rid}/sections/{sid}/restore",
                         {"revision": str(first), "version": "3"}, htmx=False)
    assert response.status_code == 303
    row = section_row(db, sid)
    assert row["markdown"] == original and row["version"] == 4


def test_restore_from_a_stale_history_page_changes_nothing(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "新的", "version": "1"})
    first = db.execute("SELECT id FROM revisions WHERE section_id = ? AND version = 1", (sid,)).fetchone()[0]
    response = auth.post(f"/reports/{rid}/sections/{sid}/restore",
                         {"revision": str(first), "version": "1"}, htmx=False)
    assert response.status_code == 422 and "已被修改" in response.text
    assert section_row(db, sid)["markdown"] == "新的"


def test_structure_changes_return_the_renumbered_document(auth, app, db):
    auth.login()
    rid = app.config["SAMPLE_ID"]
    parent = section_id(db, "管理效率分析")
    added = auth.post(f"/reports/{rid}/sections", {"title": "预算编制", "after": str(parent), "child": "1"})
    assert added.status_code == 200 and 'id="document"' in added.text
    assert "1.</span>预算编制" in added.text
    moved = auth.post(f"/reports/{rid}/sections/{parent}/move", {"direction": "up"})
    assert "（三）</span>管理效率分析" in moved.text and "（四）</span>履职效能分析" in moved.text
    refused = auth.post(f"/reports/{rid}/sections/{section_id(db, '绩效自评情况')}/move",
                        {"direction": "up"})
    assert refused.status_code == 422 and "不能再上移" in refused.text
    assert refused.headers["HX-Retarget"] == "#messages"
    deleted = auth.post(f"/reports/{rid}/sections/{parent}/delete")
    assert "管理效率分析" not in deleted.text and "预算编制" not in deleted.text


def test_title_and_preamble_can_be_edited(auth, app, db):
    auth.login()
    rid = app.config["SAMPLE_ID"]
    page = auth.get(f"/reports/{rid}/header")
    assert 'name="version" value="1"' in page.text
    response = auth.post(f"/reports/{rid}/header", {"title": "新标题", "preamble": "前言**文字**",
                                                    "version": "1"}, htmx=False)
    assert response.status_code == 303
    report = auth.get(f"/reports/{rid}")
    assert "新标题" in report.text and "<strong>文字</strong>" in report.text
    stale = auth.post(f"/reports/{rid}/header", {"title": "再改", "preamble": "", "version": "1"},
                      htmx=False)
    assert stale.status_code == 409 and "已被他人修改" in stale.text


def test_edit_link_without_htmx_opens_the_editor_in_the_page(auth, app, db):
    auth.login()
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    page = auth.get(f"/reports/{rid}/sections/{sid}/edit")
    assert "<textarea" in page.text and "目录" in page.text
