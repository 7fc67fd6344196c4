"""Mail pending when the server is killed (SIGKILL) is sent after it starts again."""

import sqlite3
import time

import pytest

from app import db as database
from app.users import create_user
from tests.livesrv import PASSWORD, Client, LiveServer, build_database
from tests.passwords import CHEAP_HASH
from tests.smtpsrv import SMTPServer

pytestmark = [pytest.mark.server, pytest.mark.smtp]


def test_mail_pending_at_a_kill_is_sent_after_the_restart(tmp_path):
    path = tmp_path / "mail.sqlite"
    report_id, _ = build_database(path, editors=1, sections=3)
    db = database.connect(str(path))
    create_user(db, "reviewer", "reviewer", PASSWORD, display_name="审核人", unit_id=1,
                email="reviewer@example.gov.cn", method=CHEAP_HASH)
    db.conn.close()
    smtp = SMTPServer()  # its port, but nobody listens yet
    server = LiveServer(path, tmp_path / "server.log")
    server.env.update({"FLASK_MAIL_SERVER": "127.0.0.1", "FLASK_MAIL_PORT": str(smtp.port),
                       "FLASK_MAIL_FROM": "jixiao@example.gov.cn", "FLASK_SITE_URL": "http://jixiao.test",
                       # Long waits between tries: only the restart can explain a prompt delivery.
                       "FLASK_MAIL_RETRY_SECONDS": "600", "FLASK_MAIL_POLL_SECONDS": "0.2"})
    server.start()
    try:
        editor = Client(server.base)
        editor.login("editor1", PASSWORD)
        reply = editor.request("POST", f"/reports/{report_id}/submit", {},
                               {"X-CSRFToken": editor.token, "HX-Request": "true"})
        assert reply.status == 200, reply.body[:300]
        check = sqlite3.connect(path)
        deadline = time.monotonic() + 15
        while check.execute("SELECT attempts FROM outbox").fetchone()[0] == 0:  # tried once, and failed
            assert time.monotonic() < deadline, server.log()[-2000:]
            time.sleep(0.05)
        server.kill()
        assert check.execute("SELECT status FROM outbox").fetchone()[0] == "pending"
        check.close()
        smtp.start()
        try:
            time.sleep(1)
            assert smtp.inbox.messages == []  # nobody sends while the server is down
            server.start()
            assert smtp.inbox.wait_for(1, timeout=20), server.log()[-2000:]
            (recipients, message), = smtp.inbox.messages
            assert recipients == ["reviewer@example.gov.cn"]
            assert "已提交，待您审核" in str(message["Subject"])
            assert f"http://jixiao.test/reports/{report_id}" in message.get_content()
        finally:
            smtp.stop()
    finally:
        server.stop()
