"""Directory logins against a real OpenLDAP server (Debian slapd, started on a free loopback port)."""

import pytest

from app import create_app
from app import db as database
from app.directory import Settings, authenticate, user_filter
from app.users import create_user, get_or_create_unit
from tests.conftest import PASSWORD, UNIT, Auth, csrf_from
from tests.ldapsrv import BASE_DN, SEARCH_DN, SEARCH_PASSWORD, STAFF, slapd  # noqa: F401 (fixture)
from tests.livesrv import free_port

pytestmark = pytest.mark.ldap


def _app(tmp_path, template_database, url: str, **extra):
    """An app over a fresh copy of the template database, with directory logins pointing at `url`."""
    import shutil

    path = tmp_path / "ldap.sqlite"
    shutil.copyfile(template_database[0], path)
    return create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "test-secret", "LDAP_URL": url,
                       "LDAP_BASE_DN": BASE_DN, **extra})


@pytest.fixture
def site(tmp_path, template_database, slapd):  # noqa: F811 (fixture)
    """The app with directory logins on, and directory accounts for zhangsan (under an old name), lisi and leaver."""
    app = _app(tmp_path, template_database, slapd.url)
    db = database.connect(app.config["DATABASE"])
    unit = get_or_create_unit(db, UNIT)
    for username, name in (("zhangsan", "旧名字"), ("lisi", "李四"), ("leaver", "离职人员"), ("wangwu", "王五")):
        create_user(db, username, "editor", "", display_name=name, unit_id=unit, directory=True,
                    email="old@example.gov.cn" if username == "zhangsan" else None)
    db.conn.close()
    return app


def login(app, username: str, password: str):
    """Post the login form as a browser would; the response."""
    client = app.test_client()
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(page.text)})


def account(app, username: str) -> dict:
    """The account's row, as stored."""
    db = database.connect(app.config["DATABASE"])
    try:
        row = db.execute("SELECT display_name, email, password_hash, failed_logins, last_login_at FROM users"
                         " WHERE username = ?", (username,)).fetchone()
    finally:
        db.conn.close()
    return dict(zip(("display_name", "email", "password_hash", "failed_logins", "last_login_at"), row, strict=True))


def test_a_directory_user_signs_in_with_the_directory_password_and_the_site_keeps_no_copy(site):
    response = login(site, "zhangsan", STAFF["zhangsan"][2])
    assert response.status_code == 303
    stored = account(site, "zhangsan")
    assert stored["password_hash"] == ""
    assert stored["last_login_at"]
    # Name and mail come from the directory at each login, the Chinese name intact.
    assert (stored["display_name"], stored["email"]) == ("张三", "zhangsan@jixiao.test")


def test_name_and_mail_are_refreshed_from_the_directory_at_each_login(site, slapd):  # noqa: F811
    assert login(site, "lisi", STAFF["lisi"][2]).status_code == 303
    slapd.modify("lisi", cn="李四（财务科）", mail="lisi.cwk@jixiao.test")
    try:
        assert login(site, "lisi", STAFF["lisi"][2]).status_code == 303
        assert account(site, "lisi")["display_name"] == "李四（财务科）"
        assert account(site, "lisi")["email"] == "lisi.cwk@jixiao.test"
    finally:
        slapd.modify("lisi", cn="李四", mail="lisi@jixiao.test")


def test_a_person_without_mail_in_the_directory_keeps_the_address_given_here(site):
    db = database.connect(site.config["DATABASE"])
    db.execute("UPDATE users SET email = 'wangwu@example.gov.cn' WHERE username = 'wangwu'")
    db.conn.close()
    assert login(site, "wangwu", STAFF["wangwu"][2]).status_code == 303
    assert account(site, "wangwu")["email"] == "wangwu@example.gov.cn"


def test_a_wrong_directory_password_gets_the_uniform_message_and_counts_towards_the_lock(site):
    response = login(site, "zhangsan", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.text
    assert account(site, "zhangsan")["failed_logins"] == 1
    for _ in range(4):
        login(site, "zhangsan", "not-the-password")
    locked = login(site, "zhangsan", STAFF["zhangsan"][2])
    assert locked.status_code == 401 and "锁定" in locked.text


def test_an_old_password_no_longer_works_after_the_directory_changed_it(site, slapd):  # noqa: F811
    old = STAFF["leaver"][2]
    assert login(site, "leaver", old).status_code == 303
    slapd.modify("leaver", userPassword="changed-by-it-42")
    response = login(site, "leaver", old)
    assert response.status_code == 401 and "用户名或密码不正确" in response.text


def test_unknown_users_get_the_same_answer_as_a_wrong_password(site):
    unknown = login(site, "nobody-here", "whatever-pass-42")
    wrong = login(site, "zhangsan", "whatever-pass-42")
    assert unknown.status_code == wrong.status_code == 401
    assert "用户名或密码不正确" in unknown.text and "尚未开通" not in unknown.text


def test_a_directory_user_without_an_account_here_is_told_to_ask_the_administrator(site):
    response = login(site, "newcomer", STAFF["newcomer"][2])
    assert response.status_code == 401
    assert "账号尚未开通，请联系管理员" in response.text
    db = database.connect(site.config["DATABASE"])
    assert db.execute("SELECT count(*) FROM users WHERE username = 'newcomer'").fetchone()[0] == 0
    db.conn.close()


@pytest.mark.parametrize("username", ["*", "zhang*", ")(uid=*", "*)(|(uid=*", "zhangsan)(uid=*"])
def test_filter_injection_finds_nobody(site, username):
    # With anyone's password: a wildcard must not match zhangsan (or everybody).
    response = login(site, username, STAFF["zhangsan"][2])
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.text


def test_special_characters_and_nul_never_reach_the_filter_unescaped(slapd):  # noqa: F811
    settings = Settings(url=slapd.url, base_dn=BASE_DN)
    assert user_filter(settings, ")(uid=*") == r"(uid=\29\28uid=\2a)"
    assert user_filter(settings, "a\\b") == r"(uid=a\5cb)"
    assert authenticate(settings, "zhangsan\x00", STAFF["zhangsan"][2]) is None
    assert authenticate(settings, "*", STAFF["zhangsan"][2]) is None
    # An empty password would be an anonymous bind, which the directory accepts: refused here.
    assert authenticate(settings, "zhangsan", "") is None
    assert authenticate(settings, "zhangsan", STAFF["zhangsan"][2]).name == "张三"


def test_nul_in_the_login_form_never_reaches_the_directory_filter(site):
    # Every field arrives with NUL removed (cleantext.py): "zhangsan\x00" is looked up as zhangsan, and
    # the wrong password gets the uniform failure, not a filter with a NUL in it.
    client = site.test_client()
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "zhangsan\x00", "password": "x", "csrf_token": token})
    assert response.status_code == 401


def test_search_then_bind_with_the_sites_own_account(tmp_path, template_database, slapd):  # noqa: F811
    app = _app(tmp_path, template_database, slapd.url, LDAP_BIND_DN=SEARCH_DN, LDAP_BIND_PASSWORD=SEARCH_PASSWORD,
               LDAP_USER_FILTER="(&(objectClass=inetOrgPerson)(uid={username}))")
    db = database.connect(app.config["DATABASE"])
    create_user(db, "zhangsan", "editor", "", unit_id=1, directory=True)
    db.conn.close()
    assert login(app, "zhangsan", STAFF["zhangsan"][2]).status_code == 303
    # A wrong search password is the site's fault, not the person's: reported as the directory being unusable.
    broken = create_app({**app.config, "LDAP_BIND_PASSWORD": "wrong"})
    response = login(broken, "zhangsan", STAFF["zhangsan"][2])
    assert response.status_code == 503 and "无法连接单位目录服务器" in response.text


def test_while_the_directory_is_down_directory_users_are_told_so_and_local_accounts_still_work(
        tmp_path, template_database):
    app = _app(tmp_path, template_database, f"ldap://127.0.0.1:{free_port()}")
    db = database.connect(app.config["DATABASE"])
    create_user(db, "zhangsan", "editor", "", unit_id=1, directory=True)
    db.conn.close()
    response = login(app, "zhangsan", STAFF["zhangsan"][2])
    assert response.status_code == 503
    assert "无法连接单位目录服务器" in response.text
    assert account(app, "zhangsan")["failed_logins"] == 0  # nothing else changes
    # The administrator (a local account) is never locked out by the directory.
    assert login(app, "admin", PASSWORD).status_code == 303
    assert login(app, "editor", PASSWORD).status_code == 303


def test_a_directory_account_cannot_be_entered_with_an_empty_or_local_password(site):
    assert login(site, "zhangsan", "").status_code == 401
    assert login(site, "zhangsan", PASSWORD).status_code == 401


def test_create_user_directory_from_the_command_line(runner, db):
    result = runner.invoke(args=["create-user", "zhaoliu", "--role", "reviewer", "--unit", UNIT, "--directory",
                                 "--email", "zhaoliu@example.gov.cn"])
    assert result.exit_code == 0, result.output
    assert "密码" not in result.output
    row = db.execute("SELECT directory, password_hash, email FROM users WHERE username = 'zhaoliu'").fetchone()
    assert row == (1, "", "zhaoliu@example.gov.cn")
    refused = runner.invoke(args=["create-user", "x1", "--role", "editor", "--unit", UNIT, "--email", "a@b\nBcc: c"])
    assert refused.exit_code != 0 and "格式不正确" in refused.output


def test_admin_turns_a_local_account_into_a_directory_account(site):
    auth = Auth(site.test_client())
    assert auth.login("admin").status_code == 303
    db = database.connect(site.config["DATABASE"])
    viewer = db.execute("SELECT id FROM users WHERE username = 'viewer'").fetchone()[0]
    response = auth.post(f"/admin/users/{viewer}/contact", {"email": "viewer@example.gov.cn", "mail_enabled": "1",
                                                           "directory": "1"}, htmx=False)
    assert response.status_code == 303
    assert db.execute("SELECT directory, password_hash, email FROM users WHERE id = ?", (viewer,)).fetchone() == \
        (1, "", "viewer@example.gov.cn")
    db.conn.close()
    # Its old local password is gone.
    assert login(site, "viewer", PASSWORD).status_code == 401


@pytest.mark.parametrize("setting", ["FLASK_LDAP_URL", "FLASK_LDAP_STARTTLS", "FLASK_LDAP_BASE_DN",
                                     "FLASK_LDAP_USER_FILTER", "FLASK_LDAP_BIND_DN", "FLASK_LDAP_BIND_PASSWORD",
                                     "FLASK_LDAP_NAME_ATTR", "FLASK_LDAP_MAIL_ATTR", "FLASK_MAIL_SERVER",
                                     "FLASK_MAIL_PORT", "FLASK_MAIL_FROM", "FLASK_MAIL_USERNAME",
                                     "FLASK_MAIL_PASSWORD", "FLASK_MAIL_STARTTLS", "FLASK_SITE_URL",
                                     "sAMAccountName={username}", "displayName", "--directory", "--email"])
def test_the_readme_documents_every_directory_and_mail_setting(setting):
    from pathlib import Path

    assert setting in (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_admin_opens_a_directory_account_with_an_address_and_no_password(app, auth, db):
    auth.login("admin")
    assert "单位目录账号" in auth.get("/admin/users/new").text
    response = auth.post("/admin/users", {"username": "zhangsan", "display_name": "张三", "role": "reviewer",
                                          "unit_id": "1", "email": "zhangsan@example.gov.cn", "directory": "1",
                                          "password": ""}, htmx=False)
    assert response.status_code == 303  # no one-time password page: there is no password
    row = db.execute("SELECT directory, password_hash, email FROM users WHERE username = 'zhangsan'").fetchone()
    assert row == (1, "", "zhangsan@example.gov.cn")
    listing = auth.get("/admin/users").text
    assert "zhangsan@example.gov.cn" in listing and "目录账号" in listing
