"""Notification mail through the outbox, delivered to a real SMTP server (aiosmtpd) on a loopback port."""

import shutil
import time

import pytest

from app import create_app, mail
from app import db as database
from tests.conftest import Auth
from tests.smtpsrv import SMTPServer

pytestmark = pytest.mark.smtp
SITE = "https://jixiao.example.gov.cn"
ADDRESSES = {"editor": "editor@example.gov.cn", "editor2": "editor2@example.gov.cn",
             "reviewer": "reviewer@example.gov.cn", "approver": "approver@example.gov.cn",
             "admin": "admin@example.gov.cn"}


@pytest.fixture
def smtp():
    """A running SMTP server."""
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


def site_for(tmp_path, template_database, port: int, **extra):
    """The app over a fresh copy of the template database, mailing through 127.0.0.1:port; users have addresses."""
    path = tmp_path / "mail.sqlite"
    shutil.copyfile(template_database[0], path)
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "test-secret",
                      "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_FROM": "jixiao@example.gov.cn",
                      "SITE_URL": SITE, **extra})
    app.config["SAMPLE_ID"] = template_database[1]
    db = database.connect(str(path))
    for username, address in ADDRESSES.items():
        db.execute("UPDATE users SET email = ? WHERE username = ?", (address, username))
    db.conn.close()
    return app


def as_user(app, username: str) -> Auth:
    """A client logged in as the user."""
    auth = Auth(app.test_client())
    assert auth.login(username).status_code == 303
    return auth


def outbox(app) -> list[tuple]:
    """(recipient, status, last_error) of every outbox row, oldest first."""
    db = database.connect(app.config["DATABASE"])
    try:
        return db.execute("SELECT recipient, status, last_error FROM outbox ORDER BY id").fetchall()
    finally:
        db.conn.close()


def send_now(app) -> dict:
    """One round of the sender, as the server's thread runs it."""
    db = database.connect(app.config["DATABASE"])
    try:
        return mail.send_due(db, mail.settings_from(app.config))
    finally:
        db.conn.close()


def subjects(smtp, who: str) -> list[str]:
    """The subjects delivered to a user's address."""
    return [str(m["Subject"]) for m in smtp.inbox.to(ADDRESSES[who])]


def test_submit_pass_return_approve_mails_the_right_people(tmp_path, template_database, smtp):
    app = site_for(tmp_path, template_database, smtp.port)
    rid = app.config["SAMPLE_ID"]
    editor, reviewer, approver = as_user(app, "editor"), as_user(app, "reviewer"), as_user(app, "approver")
    assert editor.post(f"/reports/{rid}/submit").status_code == 200
    assert reviewer.post(f"/reports/{rid}/pass").status_code == 200
    assert approver.post(f"/reports/{rid}/return", {"reason": "请补充康复服务的数据来源"}).status_code == 200
    assert editor.post(f"/reports/{rid}/submit").status_code == 200
    assert reviewer.post(f"/reports/{rid}/pass").status_code == 200
    assert approver.post(f"/reports/{rid}/approve").status_code == 200
    assert all(status == "pending" for _, status, _ in outbox(app))
    assert send_now(app)["sent"] == len(outbox(app))

    year_unit = "广州市荔湾区残疾人联合会 2024年度自评报告"
    assert subjects(smtp, "reviewer") == [f"【绩效自评】{year_unit}已提交，待您审核"] * 2
    assert subjects(smtp, "approver") == [f"【绩效自评】{year_unit}已审核通过，待您审批"] * 2
    for who in ("editor", "editor2"):  # the unit's editors; the editor who submitted is told once
        assert subjects(smtp, who) == [f"【绩效自评】{year_unit}被退回修改", f"【绩效自评】{year_unit}已审批定稿"]
    assert subjects(smtp, "admin") == []  # not of this unit's workflow
    returned = smtp.inbox.to(ADDRESSES["editor"])[0]
    body = returned.get_content()
    assert "请补充康复服务的数据来源" in body
    assert f"{SITE}/reports/{rid}" in body
    assert returned["From"] == "jixiao@example.gov.cn"
    assert returned.get_content_type() == "text/plain"


def test_mail_waits_out_a_mail_server_outage_and_loses_nothing(tmp_path, template_database):
    smtp = SMTPServer()  # not started yet: the mail server is down
    app = site_for(tmp_path, template_database, smtp.port, MAIL_RETRY_SECONDS=0.5, MAIL_POLL_SECONDS=0.1)
    rid = app.config["SAMPLE_ID"]
    worker = mail.start_background(app.config["DATABASE"], app.config)
    try:
        editor = as_user(app, "editor")
        started = time.monotonic()
        assert editor.post(f"/reports/{rid}/submit").status_code == 200  # the request does not wait for mail
        assert time.monotonic() - started < 5
        deadline = time.monotonic() + 10
        while not any(error for _, _, error in outbox(app)):
            assert time.monotonic() < deadline, outbox(app)
            time.sleep(0.05)
        assert outbox(app)[0][1] == "pending" and "Connection refused" in outbox(app)[0][2]
        time.sleep(2)  # the outage goes on; retries keep failing
        smtp.start()
        try:
            assert smtp.inbox.wait_for(1, timeout=20)
            assert subjects(smtp, "reviewer") == [
                "【绩效自评】广州市荔湾区残疾人联合会 2024年度自评报告已提交，待您审核"]
            deadline = time.monotonic() + 5
            while outbox(app)[0][1] != "sent":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            smtp.stop()
    finally:
        worker.stop()
        worker.join(timeout=10)


def test_a_recipient_without_an_address_is_skipped_and_shown_in_the_outbox(tmp_path, template_database, smtp):
    app = site_for(tmp_path, template_database, smtp.port)
    db = database.connect(app.config["DATABASE"])
    db.execute("UPDATE users SET email = NULL WHERE username = 'reviewer'")
    db.conn.close()
    rid = app.config["SAMPLE_ID"]
    assert as_user(app, "editor").post(f"/reports/{rid}/submit").status_code == 200
    assert outbox(app) == [("", "skipped", "该用户没有电子邮件地址，未发送")]
    assert send_now(app)["sent"] == 0 and smtp.inbox.messages == []
    admin = as_user(app, "admin")
    page = admin.get("/admin/outbox").text
    assert "reviewer姓名" in page and "没有电子邮件地址" in page and "未发送" in page
    # Once the address is filled in, 重新发送 sends it.
    db = database.connect(app.config["DATABASE"])
    db.execute("UPDATE users SET email = 'reviewer.new@example.gov.cn' WHERE username = 'reviewer'")
    db.conn.close()
    assert admin.post("/admin/outbox/1/resend", htmx=False).status_code == 303
    assert send_now(app)["sent"] == 1
    assert len(smtp.inbox.to("reviewer.new@example.gov.cn")) == 1


def test_a_person_who_turned_mail_off_gets_none_but_still_sees_the_notification(tmp_path, template_database, smtp):
    app = site_for(tmp_path, template_database, smtp.port)
    reviewer = as_user(app, "reviewer")
    assert reviewer.post("/notifications/mail", {"enabled": "0"}, htmx=False).status_code == 303
    assert as_user(app, "editor").post(f"/reports/{app.config['SAMPLE_ID']}/submit").status_code == 200
    assert outbox(app) == []
    assert "已提交审核，等待您审核" in reviewer.get("/notifications").text


def test_a_mail_the_server_refuses_for_good_is_marked_failed_with_its_error(tmp_path, template_database, smtp):
    app = site_for(tmp_path, template_database, smtp.port)

    async def refuse(server, session, envelope, address, rcpt_options):
        return "550 5.1.1 no such mailbox"

    smtp.inbox.handle_RCPT = refuse
    smtp.stop()
    smtp.start()
    assert as_user(app, "editor").post(f"/reports/{app.config['SAMPLE_ID']}/submit").status_code == 200
    assert send_now(app)["failed"] == 1
    (recipient, status, error), = outbox(app)
    assert status == "failed" and "550" in error
    assert "发送失败" in as_user(app, "admin").get("/admin/outbox?status=failed").text


def test_without_a_mail_server_nothing_is_queued(app, auth):
    auth.login("editor")
    assert auth.post(f"/reports/{app.config['SAMPLE_ID']}/submit").status_code == 200
    db = database.connect(app.config["DATABASE"])
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM notifications").fetchone()[0] == 1  # the reviewer's bell
    db.conn.close()
