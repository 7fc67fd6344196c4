"""Sessions and login: cookie flags, a new session at login, logout that ends the session on the server,
idle and absolute timeouts, rights re-read on every request, throttling that tells nothing, safe `next`."""

import re
import shutil
import time
from datetime import UTC, datetime, timedelta

import pytest

from app import create_app
from tests.conftest import PASSWORD, Auth, csrf_from

HOSTILE_NEXT = [
    "//evil.example", "///evil.example", "/\\evil.example", "/\\/evil.example", "\\\\evil.example",
    "https://evil.example", "http:evil.example", "HTTPS://evil.example/", "javascript:alert(1)",
    "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>", "/\t/evil.example",
    "/\n/evil.example", "/%0a/evil.example".replace("%0a", "\r"), " //evil.example", "evil.example",
    "//evil.example/%2f..",
]


def login_as(app, username: str, password: str = PASSWORD, address: str = "127.0.0.1", **form):
    """A fresh client from an address; (Auth, the login response)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    auth = Auth(client)
    if form:
        token = csrf_from(client.get("/login").text)
        return auth, client.post("/login", data={"username": username, "password": password,
                                                 "csrf_token": token, **form})
    return auth, auth.login(username, password)


def cookie_header(response) -> str:
    """The Set-Cookie header of the session cookie."""
    return next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))


def session_of(app, client) -> dict:
    """The decoded contents of the client's session cookie."""
    cookie = client.get_cookie("session")
    return app.session_interface.get_signing_serializer(app).loads(cookie.value) if cookie else {}


def age_session(db, created: timedelta = timedelta(0), seen: timedelta = timedelta(0)) -> None:
    """Move every open session's start and last request back in time."""
    now = datetime.now(UTC)
    db.execute("UPDATE sessions SET created_at = ?, last_seen_at = ?",
               ((now - created).isoformat(timespec="microseconds"), (now - seen).isoformat(timespec="microseconds")))


# Cookies -------------------------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax_and_lives_no_longer_than_a_session(app):
    _, response = login_as(app, "editor")
    header = cookie_header(response)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header  # plain http unless configured
    expires = re.search(r"Expires=([^;]+)", header).group(1)
    lifetime = datetime.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(hours=11, minutes=50) < lifetime <= timedelta(hours=12)


def test_session_cookie_is_secure_when_configured_for_https(tmp_path, template_database):
    path = tmp_path / "https.sqlite"
    shutil.copyfile(template_database[0], path)
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "x", "SESSION_COOKIE_SECURE": True})
    client = app.test_client()
    page = client.get("https://localhost/login")
    # Over HTTPS Flask-WTF also wants a same-site Referer.
    response = client.post("https://localhost/login", data={
        "username": "editor", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        headers={"Referer": "https://localhost/login"})
    assert response.status_code == 303
    assert "Secure" in cookie_header(response)


# A new session at login; nothing left after logout -------------------------------------------------


def test_the_session_changes_at_login(app):
    client = app.test_client()
    token = csrf_from(client.get("/login").text)
    before = client.get_cookie("session").value
    planted = session_of(app, client)
    response = client.post("/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    after = session_of(app, client)
    assert client.get_cookie("session").value != before
    assert after["sid"] and after.get("csrf_token") != planted.get("csrf_token")
    # Logging in again (another browser) gets another server-side session.
    other, _ = login_as(app, "editor")
    assert session_of(app, other.client)["sid"] != after["sid"]


def test_a_cookie_planted_before_login_is_worth_nothing_afterwards(app):
    attacker = app.test_client()
    attacker.get("/login")
    planted = attacker.get_cookie("session").value
    victim = app.test_client()
    victim.set_cookie("session", planted)
    assert Auth(victim).login("editor").status_code == 303
    assert attacker.get("/").status_code == 302  # the attacker's copy never became a login


def test_the_old_cookie_is_useless_after_logout(app, db):
    auth, _ = login_as(app, "editor")
    stolen = auth.client.get_cookie("session").value
    assert auth.post("/logout", htmx=False).status_code == 303
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    refused = thief.get("/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert "登录已失效" in thief.get(refused.headers["Location"]).text
    # Nor can it post with the token it carried.
    thief.set_cookie("session", stolen)
    response = thief.post(f"/reports/{app.config['SAMPLE_ID']}/comments", data={"body": "x"},
                          headers={"X-CSRFToken": auth.token})
    assert response.status_code == 302
    assert db.execute("SELECT count(*) FROM sessions WHERE ended_at IS NULL").fetchone()[0] == 0


# Timeouts ------------------------------------------------------------------------------------------


def test_a_session_idle_for_longer_than_the_idle_timeout_ends(app, db):
    auth, _ = login_as(app, "editor")
    age_session(db, created=timedelta(minutes=119), seen=timedelta(minutes=119))
    assert auth.get("/").status_code == 200  # just inside: the request counts as activity
    seen = db.execute("SELECT last_seen_at FROM sessions WHERE ended_at IS NULL").fetchone()[0]
    assert datetime.fromisoformat(seen) > datetime.now(UTC) - timedelta(minutes=1)
    age_session(db, created=timedelta(minutes=130), seen=timedelta(minutes=121))
    refused = auth.get("/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert "长时间未操作" in auth.client.get(refused.headers["Location"]).text
    assert auth.get("/").status_code == 302


def test_a_session_ends_at_the_absolute_timeout_however_busy(app, db):
    auth, _ = login_as(app, "editor")
    age_session(db, created=timedelta(hours=12, minutes=1), seen=timedelta(seconds=5))
    refused = auth.get("/", htmx=True)
    assert refused.status_code == 401 and refused.headers["HX-Redirect"].startswith("/login")
    assert "登录时间已到上限" in auth.client.get("/login").text


def test_the_timeouts_are_configuration(tmp_path, template_database):
    path = tmp_path / "short.sqlite"
    shutil.copyfile(template_database[0], path)
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "x",
                      "SESSION_IDLE_MINUTES": 5, "SESSION_MAX_HOURS": 1})
    auth, response = login_as(app, "editor")
    assert "Expires=" in cookie_header(response)
    from app import db as database

    db = database.connect(str(path))
    age_session(db, seen=timedelta(minutes=6), created=timedelta(minutes=6))
    assert auth.get("/").status_code == 302
    auth, _ = login_as(app, "editor")
    age_session(db, seen=timedelta(minutes=1), created=timedelta(minutes=61))
    assert auth.get("/").status_code == 302
    db.conn.close()


# Rights are read on every request --------------------------------------------------------------------


def test_a_role_change_takes_effect_on_the_next_request(app, db):
    editor, _ = login_as(app, "editor")
    rid = app.config["SAMPLE_ID"]
    sid = db.execute("SELECT id FROM sections WHERE report_id = ? ORDER BY position LIMIT 1", (rid,)).fetchone()[0]
    assert editor.get(f"/reports/{rid}/sections/{sid}/edit", htmx=True).status_code == 200
    admin, _ = login_as(app, "admin")
    assert admin.post("/admin/users/2/role", {"role": "viewer", "unit_id": "1"}, htmx=False).status_code == 303
    assert editor.get(f"/reports/{rid}/sections/{sid}/edit", htmx=True).status_code == 403
    assert admin.post("/admin/users/2/role", {"role": "editor", "unit_id": "2"}, htmx=False).status_code == 303
    assert editor.get(f"/reports/{rid}").status_code == 403  # another unit now


def test_deactivation_ends_every_session_at_once_and_reactivation_does_not_revive_them(app, db):
    editor, _ = login_as(app, "editor")
    admin, _ = login_as(app, "admin")
    admin.post("/admin/users/2/deactivate", htmx=False)
    refused = editor.get("/")
    assert refused.status_code == 302
    assert "该账号已停用" in editor.client.get(refused.headers["Location"]).text
    admin.post("/admin/users/2/activate", htmx=False)
    assert editor.get("/").status_code == 302


def test_a_password_reset_logs_the_account_out_everywhere(app):
    editor, _ = login_as(app, "editor")
    admin, _ = login_as(app, "admin")
    admin.post("/admin/users/2/password", {"password": "brand-new-pass-1"}, htmx=False)
    assert editor.get("/").status_code == 302
    assert login_as(app, "editor", "brand-new-pass-1")[1].status_code == 303


# Login throttling ----------------------------------------------------------------------------------


def _message(response) -> str:
    return re.search(r'<p class="message error" role="alert">([^<]*)</p>', response.text).group(1)


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(app, db):
    _, unknown = login_as(app, "nobody-here", "wrong-password", address="10.1.0.1")
    _, wrong = login_as(app, "editor", "wrong-password", address="10.1.0.2")
    assert unknown.status_code == wrong.status_code == 401
    assert _message(unknown) == _message(wrong) == "用户名或密码不正确。"
    strip = re.compile(r'(value|content)="[^"]*"')  # the typed username and the CSRF token
    assert strip.sub("", unknown.text) == strip.sub("", wrong.text)
    # A deactivated account answers a wrong password the same way too.
    db.execute("UPDATE users SET active = 0 WHERE username = 'viewer'")
    _, inactive = login_as(app, "viewer", "wrong-password", address="10.1.0.3")
    assert _message(inactive) == "用户名或密码不正确。"


def test_unknown_users_lock_like_real_ones_after_five_failures(app):
    answers = {}
    for username in ("editor", "ghost"):
        for attempt in range(5):
            login_as(app, username, "wrong-password", address=f"10.2.{attempt}.1")
        _, answers[username] = login_as(app, username, PASSWORD, address="10.2.9.9")
    assert answers["editor"].status_code == answers["ghost"].status_code == 401
    assert _message(answers["editor"]) == _message(answers["ghost"]) and "锁定" in _message(answers["ghost"])


def test_an_unknown_user_costs_as_much_time_as_a_wrong_password(app):
    def timed(username: str) -> float:
        started = time.perf_counter()
        login_as(app, username, "wrong-password", address=f"10.3.{len(username)}.1")
        return time.perf_counter() - started

    timed("warm-up-unknown")
    known = min(timed("editor") for _ in range(3))
    unknown = min(timed(f"ghost{i}") for i in range(3))
    # Without the dummy hash an unknown name answered in a few ms against ~100 ms for a real account.
    assert unknown > known * 0.5, (unknown, known)


def test_one_address_gets_429_after_ten_failures_whatever_the_accounts(app):
    for attempt in range(10):
        login_as(app, f"user{attempt}", "wrong-password", address="10.4.0.1")
    _, refused = login_as(app, "editor", PASSWORD, address="10.4.0.1")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in refused.text
    assert login_as(app, "editor", PASSWORD, address="10.4.0.2")[1].status_code == 303  # others are not held


def test_the_account_lock_stands_whichever_address_the_attempts_come_from(app):
    for attempt in range(5):
        login_as(app, "reviewer", "wrong-password", address=f"10.5.{attempt}.1")
    _, locked = login_as(app, "reviewer", PASSWORD, address="10.5.9.1")
    assert locked.status_code == 401 and "锁定" in locked.text


# Where a login leads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_never_leads_off_the_site(app, target):
    _, response = login_as(app, "editor", next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/", target


@pytest.mark.parametrize("target", ["/reports/1", "/reports/1?tab=form#section-3", "/search?q=%E5%BA%B7%E5%A4%8D"])
def test_next_leads_to_a_page_of_the_site(app, target):
    _, response = login_as(app, "editor", next=target)
    assert response.headers["Location"] == target


def test_the_login_page_carries_next_from_a_refused_page_into_its_form(app):
    client = app.test_client()
    refused = client.get("/reports/1?x=1")
    page = client.get(refused.headers["Location"])
    assert 'name="next" value="/reports/1?x=1"' in page.text


@pytest.mark.parametrize("key", ["SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS", "LOGIN_FAILURES_PER_ADDRESS",
                                 "SHARE_MISSES_PER_ADDRESS", "SESSION_COOKIE_SECURE", "## 安全"])
def test_the_readme_documents_the_security_settings(key):
    from pathlib import Path

    assert key in (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
