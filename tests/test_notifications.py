"""Notifications in the site: who is told of what, the bell, the list, marking read, expiry and clean-up."""

import re

from app import notifications
from app.users import get_user
from tests.conftest import Auth


def unread(client) -> int:
    """The number the bell shows (0 when it shows none)."""
    match = re.search(r'class="bell-count">(\d+)<', client.get("/notifications/bell", htmx=True).text)
    return int(match.group(1)) if match else 0


def as_user(app, username: str) -> Auth:
    """A client logged in as the user."""
    auth = Auth(app.test_client())
    assert auth.login(username).status_code == 303
    return auth


def test_a_submitted_report_rings_the_reviewers_bell_and_not_the_submitters(app):
    rid = app.config["SAMPLE_ID"]
    reviewer, editor = as_user(app, "reviewer"), as_user(app, "editor")
    assert unread(reviewer) == 0
    editor.post(f"/reports/{rid}/submit")
    assert unread(reviewer) == 1
    assert unread(editor) == 0
    page = reviewer.get("/notifications").text
    assert "广州市荔湾区残疾人联合会2024年度自评报告已提交审核，等待您审核" in page
    # The header of every page carries the bell with its count.
    assert 'id="bell"' in reviewer.get("/").text and 'hx-trigger="every 30' in reviewer.get("/").text


def test_a_return_tells_the_units_editors_with_the_reason(app, db):
    rid = app.config["SAMPLE_ID"]
    as_user(app, "editor").post(f"/reports/{rid}/submit")
    as_user(app, "reviewer").post(f"/reports/{rid}/return", {"reason": "预算执行率<b>与表不符</b>"})
    editor2 = as_user(app, "editor2")
    page = editor2.get("/notifications").text
    assert "已被退回修改" in page and "预算执行率&lt;b&gt;与表不符&lt;/b&gt;" in page  # escaped
    assert unread(as_user(app, "outsider")) == 0  # another unit hears nothing


def test_approval_tells_the_editors_and_whoever_submitted(app, db):
    rid = app.config["SAMPLE_ID"]
    admin = as_user(app, "admin")
    admin.post(f"/reports/{rid}/submit")  # the admin submitted this time
    as_user(app, "reviewer").post(f"/reports/{rid}/pass")
    as_user(app, "approver").post(f"/reports/{rid}/approve")
    told = {row[0] for row in db.execute("SELECT users.username FROM notifications JOIN users ON users.id = user_id"
                                         " WHERE kind = 'approved'")}
    assert told == {"editor", "editor2", "admin"}


def test_opening_a_notification_marks_it_read_and_goes_to_the_place(app):
    rid = app.config["SAMPLE_ID"]
    as_user(app, "editor").post(f"/reports/{rid}/submit")
    reviewer = as_user(app, "reviewer")
    link = re.search(r'href="(/notifications/\d+)"', reviewer.get("/notifications").text).group(1)
    response = reviewer.get(link)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/reports/{rid}")
    assert unread(reviewer) == 0
    # Someone else's notification does not exist for them.
    assert as_user(app, "approver").get(link).status_code == 404


def test_mark_all_read(app):
    rid = app.config["SAMPLE_ID"]
    as_user(app, "editor").post(f"/reports/{rid}/submit")
    as_user(app, "reviewer").post(f"/reports/{rid}/return", {"reason": "补充"})
    as_user(app, "editor").post(f"/reports/{rid}/submit")
    reviewer = as_user(app, "reviewer")
    assert unread(reviewer) == 2
    assert reviewer.post("/notifications/read-all", htmx=False).status_code == 303
    assert unread(reviewer) == 0


def test_a_comment_tells_whoever_edited_the_section_and_a_reply_tells_the_commenter(app, db):
    rid = app.config["SAMPLE_ID"]
    section = db.execute("SELECT id, version, markdown FROM sections WHERE report_id = ? AND deleted_at IS NULL"
                         " ORDER BY position LIMIT 1 OFFSET 1", (rid,)).fetchone()
    editor2 = as_user(app, "editor2")
    assert editor2.post(f"/reports/{rid}/sections/{section[0]}",
                        {"markdown": section[2] + "\n\n补充一句。", "version": section[1]}).status_code == 200
    reviewer = as_user(app, "reviewer")
    reviewer.post(f"/reports/{rid}/comments", {"body": "请补充数据来源。", "section_id": str(section[0])})
    assert unread(editor2) == 1
    assert "对广州市荔湾区残疾人联合会2024年度自评报告" in editor2.get("/notifications").text
    comment_id = db.execute("SELECT max(id) FROM comments").fetchone()[0]
    editor2.post(f"/reports/{rid}/comments", {"body": "已补充。", "parent_id": str(comment_id)})
    assert unread(reviewer) == 1
    assert "回复了您对" in reviewer.get("/notifications").text
    assert unread(editor2) == 1  # not told of their own reply


def test_a_share_link_expiring_within_three_days_is_announced_once(app, db):
    rid = app.config["SAMPLE_ID"]
    admin = get_user(db, 1)
    db.execute("INSERT INTO shares (report_id, token_hash, note, created_by, created_at, expires_at) VALUES"
               " (?, 'a', '给财政局', ?, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-20 days'),"
               " strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '+2 days'))", (rid, admin.id))
    # One made for a single day is not worth a warning; one far from expiry neither.
    db.execute("INSERT INTO shares (report_id, token_hash, note, created_by, created_at, expires_at) VALUES"
               " (?, 'b', '一天', ?, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'),"
               " strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '+1 days'))", (rid, admin.id))
    db.execute("INSERT INTO shares (report_id, token_hash, note, created_by, created_at, expires_at) VALUES"
               " (?, 'c', '很久', ?, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-1 days'),"
               " strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '+30 days'))", (rid, admin.id))
    assert notifications.warn_expiring_shares(db) == 1
    assert notifications.warn_expiring_shares(db) == 0
    page = as_user(app, "admin").get("/notifications").text
    assert "分享链接（给财政局）将于三天内过期" in page


def test_notifications_older_than_a_year_are_removed(db):
    db.execute("INSERT INTO notifications (user_id, kind, message, link, created_at) VALUES"
               " (2, 'comment', '旧', '/', '2000-01-01T00:00:00.000000+00:00'),"
               " (2, 'comment', '新', '/', strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-300 days'))")
    assert notifications.purge_old(db) == 1
    assert [r[0] for r in db.execute("SELECT message FROM notifications")] == ["新"]


def test_the_bell_refreshing_itself_does_not_keep_an_idle_session_alive(app, db):
    reviewer = as_user(app, "reviewer")
    db.execute("UPDATE sessions SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '-10 minutes')")
    before = db.execute("SELECT last_seen_at FROM sessions").fetchone()[0]
    assert reviewer.get("/notifications/bell", htmx=True).status_code == 200
    assert db.execute("SELECT last_seen_at FROM sessions").fetchone()[0] == before
    reviewer.get("/")  # a person at work does
    assert db.execute("SELECT last_seen_at FROM sessions").fetchone()[0] > before
    # Once idle too long, the bell's next refresh sends the page to the login form.
    db.execute("UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00.000000+00:00'")
    response = reviewer.get("/notifications/bell", htmx=True)
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_turning_mail_off_and_on(app, db):
    editor = as_user(app, "editor")
    editor.post("/notifications/mail", {"enabled": "0"}, htmx=False)
    assert db.execute("SELECT mail_enabled FROM users WHERE username = 'editor'").fetchone()[0] == 0
    assert "开启邮件提醒" in editor.get("/notifications").text
    editor.post("/notifications/mail", {"enabled": "1"}, htmx=False)
    assert db.execute("SELECT mail_enabled FROM users WHERE username = 'editor'").fetchone()[0] == 1
