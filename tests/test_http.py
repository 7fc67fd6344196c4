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
    assert client.get("/healthz").json == {"status": "ok"}
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


@pytest.mark.parametrize("body", [b"markdown=%FF%FE&version=1", b"markdown=abc%00def&version=1"])
def test_invalid_utf8_or_nul_is_400_and_never_empties_the_section(auth, app, db, body):
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
