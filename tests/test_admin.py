"""系统管理 over HTTP: accounts and units, admins only, changes felt on the user's next request."""

import re

import pytest

from app.users import UserError, change_role, create_unit, set_active, update_unit
from tests.conftest import PASSWORD, Auth

SAMPLE_UNIT_ID = 1

# Every route of the admin blueprint, with sample arguments; a test below checks none is missing.
ADMIN_ROUTES = [
    ("GET", "/admin"),
    ("GET", "/admin/users"),
    ("GET", "/admin/users/new"),
    ("POST", "/admin/users"),
    ("GET", "/admin/users/<int:user_id>"),
    ("POST", "/admin/users/<int:user_id>/role"),
    ("POST", "/admin/users/<int:user_id>/password"),
    ("POST", "/admin/users/<int:user_id>/deactivate"),
    ("POST", "/admin/users/<int:user_id>/activate"),
    ("POST", "/admin/users/<int:user_id>/contact"),
    ("GET", "/admin/units"),
    ("POST", "/admin/units"),
    ("GET", "/admin/units/<int:unit_id>"),
    ("POST", "/admin/units/<int:unit_id>"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/audit.csv"),
]


def user_id(db, username: str) -> int:
    """The id of the account with this username."""
    return db.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0]


def account(db, username: str) -> dict:
    """The stored row of an account."""
    return next(db.query("SELECT * FROM users WHERE username = ?", (username,)))


def snapshot(db) -> list:
    """Everything the admin pages can change."""
    return [list(db.query("SELECT * FROM users ORDER BY id")), list(db.query("SELECT * FROM units ORDER BY id"))]


def section_id(db, title: str) -> int:
    """The id of the live section with this title."""
    return db.execute("SELECT id FROM sections WHERE title = ? AND deleted_at IS NULL", (title,)).fetchone()[0]


def second_browser(app, username: str) -> Auth:
    """Another client, logged in as someone else."""
    other = Auth(app.test_client())
    assert other.login(username).status_code == 303
    return other


def test_every_admin_route_is_in_the_403_table(app):
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules == set(ADMIN_ROUTES)


@pytest.mark.parametrize("username", ["editor", "viewer"])
@pytest.mark.parametrize("method, rule", ADMIN_ROUTES)
def test_non_admins_get_403_on_every_admin_route_and_change_nothing(auth, db, username, method, rule):
    auth.login(username)
    url = rule.replace("<int:user_id>", str(user_id(db, "viewer"))).replace("<int:unit_id>", "1")
    before = snapshot(db)
    form = {"username": "mallory", "role": "admin", "password": "x" * 12, "name": "新单位", "unit_id": "1"}
    if method == "GET":
        response = auth.get(url)
    else:
        response = auth.post(url, form, htmx=False)
    assert response.status_code == 403
    assert "管理员" in response.text
    assert snapshot(db) == before


def test_system_admin_link_is_shown_to_admins_only(auth, app):
    auth.login("editor")
    assert "系统管理" not in auth.get("/").text
    admin = second_browser(app, "admin")
    assert 'href="/admin/users">系统管理</a>' in admin.get("/").text


def test_user_list_shows_role_unit_state_and_last_login(auth):
    auth.login("admin")
    page = auth.get("/admin/users")
    assert page.status_code == 200
    assert "reviewer姓名" in page.text and "审核人" in page.text and "广州市荔湾区残疾人联合会" in page.text
    assert "从未登录" in page.text and "启用" in page.text


def test_a_generated_password_is_shown_once_and_logs_the_new_user_in(auth, app, db):
    auth.login("admin")
    assert 'name="csrf_token"' in auth.get("/admin/users/new").text
    response = auth.post("/admin/users", {"username": "zhangsan", "display_name": "张三", "role": "editor",
                                          "unit_id": str(SAMPLE_UNIT_ID), "password": ""}, htmx=False)
    assert response.status_code == 200 and "只显示这一次" in response.text
    password = re.search(r'<code class="secret">([^<]+)</code>', response.text).group(1)
    assert password not in auth.get(f"/admin/users/{user_id(db, 'zhangsan')}").text
    assert password not in auth.get("/admin/users").text
    newcomer = Auth(app.test_client())
    assert newcomer.login("zhangsan", password).status_code == 303
    home = newcomer.get("/").text
    assert "张三<span" in home and "（填报人 · 广州市荔湾区残疾人联合会）" in home
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log ORDER BY id DESC LIMIT 2")]
    assert actions == ["login", "user.create"]


def test_a_typed_password_redirects_to_the_new_account(auth, app, db):
    auth.login("admin")
    response = auth.post("/admin/users", {"username": "lisi", "display_name": "李四", "role": "viewer",
                                          "unit_id": "2", "password": "typed-password-1"}, htmx=False)
    assert response.status_code == 303
    page = auth.client.get(response.headers["Location"])
    assert "已创建账号 lisi（只读）" in page.text and "typed-password-1" not in page.text
    assert Auth(app.test_client()).login("lisi", "typed-password-1").status_code == 303


@pytest.mark.parametrize("form, message", [
    ({"username": "editor", "role": "editor", "unit_id": "1"}, "已被使用"),
    ({"username": "EDITOR", "role": "editor", "unit_id": "1"}, "已被使用"),
    ({"username": "wang wu", "role": "editor", "unit_id": "1"}, "不能含空格"),
    ({"username": "wangwu", "role": "editor", "unit_id": ""}, "须属于一个单位"),
    ({"username": "wangwu", "role": "editor", "unit_id": "999"}, "所选单位不存在"),
    ({"username": "wangwu", "role": "boss", "unit_id": "1"}, "角色"),
    ({"username": "wangwu", "role": "editor", "unit_id": "1", "password": "short"}, "密码至少8位"),
])
def test_bad_new_user_input_is_refused_in_chinese_and_creates_nothing(auth, db, form, message):
    auth.login("admin")
    before = snapshot(db)
    response = auth.post("/admin/users", {"display_name": "王五", **form}, htmx=False)
    assert response.status_code == 422 and message in response.text
    assert 'value="王五"' in response.text
    assert snapshot(db) == before


def test_deactivated_user_is_sent_to_login_on_the_next_request(auth, app, db):
    editor = second_browser(app, "editor")
    assert editor.get("/").status_code == 200
    auth.login("admin")
    response = auth.post(f"/admin/users/{user_id(db, 'editor')}/deactivate", htmx=False)
    assert response.status_code == 303
    assert "已停用该账号" in auth.client.get(response.headers["Location"]).text
    refused = editor.get("/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    login_page = editor.client.get(refused.headers["Location"])
    assert "该账号已停用，请联系管理员。" in login_page.text
    assert editor.get("/").status_code == 302  # the session is gone, not merely refused once
    assert editor.login("editor").status_code == 401
    assert account(db, "editor")["active"] == 0


def test_deactivated_user_gets_401_with_hx_redirect_on_an_htmx_request(auth, app, db):
    editor = second_browser(app, "editor")
    auth.login("admin")
    auth.post(f"/admin/users/{user_id(db, 'editor')}/deactivate", htmx=False)
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    before = next(db.query("SELECT * FROM sections WHERE id = ?", (sid,)))
    response = editor.post(f"/reports/{rid}/sections/{sid}", {"markdown": "停用后保存", "version": "1"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert next(db.query("SELECT * FROM sections WHERE id = ?", (sid,))) == before


def test_reactivated_user_can_log_in_again(auth, app, db):
    auth.login("admin")
    uid = user_id(db, "viewer")
    auth.post(f"/admin/users/{uid}/deactivate", htmx=False)
    assert Auth(app.test_client()).login("viewer").status_code == 401
    auth.post(f"/admin/users/{uid}/activate", htmx=False)
    assert Auth(app.test_client()).login("viewer").status_code == 303
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log WHERE action LIKE 'user.%'")]
    assert actions[-2:] == ["user.deactivate", "user.activate"]


def test_role_change_takes_effect_on_the_next_request(auth, app, db):
    viewer = second_browser(app, "viewer")
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    assert viewer.post(f"/reports/{rid}/sections/{sid}", {"markdown": "只读时", "version": "1"}).status_code == 403
    assert viewer.get("/admin/users").status_code == 403
    auth.login("admin")
    response = auth.post(f"/admin/users/{user_id(db, 'viewer')}/role",
                         {"role": "editor", "unit_id": str(SAMPLE_UNIT_ID)}, htmx=False)
    assert response.status_code == 303
    saved = viewer.post(f"/reports/{rid}/sections/{sid}", {"markdown": "改为填报人后", "version": "1"})
    assert saved.status_code == 200
    assert "（填报人 · " in viewer.get("/").text
    auth.post(f"/admin/users/{user_id(db, 'viewer')}/role", {"role": "admin", "unit_id": ""}, htmx=False)
    assert viewer.get("/admin/users").status_code == 200


def test_moving_a_user_to_another_unit_hides_the_old_units_reports(auth, app, db):
    editor = second_browser(app, "editor")
    rid = app.config["SAMPLE_ID"]
    assert editor.get(f"/reports/{rid}").status_code == 200
    auth.login("admin")
    auth.post(f"/admin/users/{user_id(db, 'editor')}/role", {"role": "editor", "unit_id": "2"}, htmx=False)
    assert editor.get(f"/reports/{rid}").status_code == 403


def test_admin_cannot_deactivate_or_demote_themselves(auth, db):
    auth.login("admin")
    me = user_id(db, "admin")
    page = auth.get(f"/admin/users/{me}")
    assert "不能停用自己的账号" in page.text and "停用此账号" not in page.text
    refused = auth.post(f"/admin/users/{me}/deactivate", htmx=False)
    assert refused.status_code == 422 and "不能停用自己的账号" in refused.text
    demoted = auth.post(f"/admin/users/{me}/role", {"role": "editor", "unit_id": "1"}, htmx=False)
    assert demoted.status_code == 422 and "不能取消自己的管理员角色" in demoted.text
    row = account(db, "admin")
    assert row["active"] == 1 and row["role"] == "admin"
    assert auth.get("/admin/users").status_code == 200


def test_password_reset_shows_a_new_password_once_and_lifts_the_lock(auth, app, db):
    locked = Auth(app.test_client())
    for _ in range(5):
        locked.login("reviewer", "wrong-password")
    assert locked.login("reviewer").status_code == 401
    auth.login("admin")
    uid = user_id(db, "reviewer")
    assert "登录锁定中" in auth.get("/admin/users").text
    response = auth.post(f"/admin/users/{uid}/password", {"password": ""}, htmx=False)
    assert response.status_code == 200 and "密码已重置" in response.text
    password = re.search(r'<code class="secret">([^<]+)</code>', response.text).group(1)
    assert locked.login("reviewer", PASSWORD).status_code == 401
    assert locked.login("reviewer", password).status_code == 303
    detail = db.execute("SELECT detail FROM audit_log WHERE action = 'user.password_reset'").fetchone()[0]
    assert password not in detail and "reviewer" in detail


def test_a_typed_password_reset_is_checked_and_redirects(auth, app, db):
    auth.login("admin")
    uid = user_id(db, "viewer")
    short = auth.post(f"/admin/users/{uid}/password", {"password": "1234"}, htmx=False)
    assert short.status_code == 422 and "密码至少8位" in short.text
    done = auth.post(f"/admin/users/{uid}/password", {"password": "new-password-9"}, htmx=False)
    assert done.status_code == 303
    assert Auth(app.test_client()).login("viewer", "new-password-9").status_code == 303


def test_units_are_created_renamed_and_given_a_budget_code(auth, db):
    auth.login("admin")
    page = auth.get("/admin/units")
    assert "广州市荔湾区教育局" in page.text and 'name="csrf_token"' in page.text
    created = auth.post("/admin/units", {"name": " 广州市荔湾区  民政局 ", "code": "101001"}, htmx=False)
    assert created.status_code == 303
    assert "已新建单位“广州市荔湾区 民政局”" in auth.client.get(created.headers["Location"]).text
    unit = next(db.query("SELECT * FROM units WHERE code = '101001'"))
    assert unit["name"] == "广州市荔湾区 民政局"
    duplicate = auth.post("/admin/units", {"name": "广州市荔湾区教育局", "code": ""}, htmx=False)
    assert duplicate.status_code == 422 and "已存在" in duplicate.text
    renamed = auth.post(f"/admin/units/{unit['id']}", {"name": "广州市荔湾区民政局", "code": "101002"},
                        htmx=False)
    assert renamed.status_code == 303
    assert "广州市荔湾区民政局" in auth.get("/admin/units").text
    bad_code = auth.post(f"/admin/units/{unit['id']}", {"name": "广州市荔湾区民政局", "code": "一〇一"},
                         htmx=False)
    assert bad_code.status_code == 422 and "预算编码只能由数字、字母" in bad_code.text
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log WHERE action LIKE 'unit.%' ORDER BY id")]
    assert actions == ["unit.create", "unit.update"]


def test_unknown_accounts_and_units_are_404(auth):
    auth.login("admin")
    assert auth.get("/admin/users/999").status_code == 404
    assert auth.get("/admin/units/999").status_code == 404
    assert auth.post("/admin/users/999/deactivate", htmx=False).status_code == 404


def test_admin_forms_without_csrf_token_change_nothing(auth, db):
    auth.login("admin")
    before = snapshot(db)
    response = auth.client.post(f"/admin/users/{user_id(db, 'viewer')}/deactivate")
    assert response.status_code == 400
    assert snapshot(db) == before


# The domain functions, without HTTP.


def test_role_change_records_old_and_new_role_and_unit(memory_db):
    from app.users import create_user

    other = create_unit(memory_db, "甲单位", "", actor_id=None)
    uid = create_user(memory_db, "zhao", "viewer", PASSWORD, unit_id=other)
    assert change_role(memory_db, uid, "viewer", other, actor_id=None) is False
    assert change_role(memory_db, uid, "approver", other, actor_id=None) is True
    detail = memory_db.execute("SELECT detail FROM audit_log WHERE action = 'user.role_change'").fetchone()[0]
    assert '"old_role": "viewer"' in detail and '"role": "approver"' in detail and "甲单位" in detail


def test_the_last_admin_cannot_lock_themselves_out(memory_db):
    from app.users import create_user

    me = create_user(memory_db, "root", "admin", PASSWORD)
    with pytest.raises(UserError, match="不能停用自己的账号"):
        set_active(memory_db, me, False, actor_id=me)
    with pytest.raises(UserError, match="不能取消自己的管理员角色"):
        change_role(memory_db, me, "viewer", None, actor_id=me)


def test_two_units_cannot_share_a_budget_code(memory_db):
    first = create_unit(memory_db, "甲单位", "101")
    second = create_unit(memory_db, "乙单位")
    with pytest.raises(UserError, match="已由“甲单位”使用"):
        update_unit(memory_db, second, "乙单位", "101")
    update_unit(memory_db, first, "甲单位", "101")  # unchanged: no error, no audit row
    assert memory_db.execute("SELECT count(*) FROM audit_log WHERE action = 'unit.update'").fetchone()[0] == 0
