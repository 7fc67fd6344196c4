"""Operating the site: health check, request logs and ids, reverse proxies, synthetic data, the docs."""

import logging
import re
import sqlite3
from pathlib import Path

import pytest
from flask import request

from app import create_app
from app import db as database
from app.render import render_markdown
from app.requestlog import logged_path
from app.users import create_user
from tests.conftest import PASSWORD, Auth

ROOT = Path(__file__).resolve().parents[1]


def test_healthz_reports_the_durability_settings_of_a_live_connection(client):
    answer = client.get("/healthz").get_json()
    assert answer["status"] == "ok"
    assert answer["database"] == {"journal_mode": "wal", "synchronous": "full", "busy_timeout_ms": 10_000,
                                  "foreign_keys": True, "schema_version": answer["database"]["schema_version"]}
    assert answer["database"]["schema_version"] >= 3


def test_healthz_answers_503_when_the_database_cannot_be_opened(app):
    app.config["DATABASE"] = str(Path(app.config["DATABASE"]).parent / "missing-dir" / "app.sqlite")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_every_request_is_logged_in_one_line_with_method_path_status_time_user_and_id(client, caplog):
    caplog.set_level(logging.INFO, logger="app.requests")
    auth = Auth(client)
    auth.login("editor")
    caplog.clear()
    response = client.get("/")
    [record] = [r for r in caplog.records if r.name == "app.requests"]
    line = record.getMessage()
    assert re.fullmatch(r"method=GET path=/ status=200 ms=\d+\.\d user=\d+ ip=127\.0\.0\.1 bytes=\d+", line), line
    assert record.request_id == response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{12}", record.request_id)


def test_share_tokens_never_reach_the_log(client, caplog):
    caplog.set_level(logging.INFO, logger="app.requests")
    client.get("/s/abcdefghijklmnopqrstuvwxyz012345/print")
    lines = [r.getMessage() for r in caplog.records if r.name == "app.requests"]
    assert any("path=/s/***/print" in line for line in lines)
    assert not any("abcdefghijklmnop" in line for line in lines)
    assert logged_path("/s/tok/export.pdf") == "/s/***/export.pdf"


def _boom_app(app):
    """The test app with a route that fails the way a bug would."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def boom():
        raise RuntimeError("deliberate failure")

    app.add_url_rule("/boom", "boom", boom)
    return app


def test_a_server_error_shows_its_request_id_and_logs_the_traceback_under_it(fresh_app, caplog):
    client = _boom_app(fresh_app).test_client()
    Auth(client).login("editor")
    caplog.set_level(logging.INFO)
    response = client.get("/boom")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert "服务器内部错误" in response.text
    assert f'错误编号：<code class="request-id">{request_id}</code>' in response.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert errors and errors[0].request_id == request_id
    assert any(r.name == "app.requests" and "status=500" in r.getMessage() and r.request_id == request_id
               for r in caplog.records)


def test_an_htmx_request_that_fails_gets_the_request_id_in_the_message(fresh_app):
    client = _boom_app(fresh_app).test_client()
    Auth(client).login("editor")
    response = client.get("/boom", headers={"HX-Request": "true"})
    assert response.status_code == 500 and response.headers["HX-Retarget"] == "#messages"
    assert response.headers["X-Request-ID"] in response.text and "错误编号" in response.text


def test_refusals_do_not_clutter_htmx_messages_with_an_id(client):
    auth = Auth(client)
    auth.login("viewer")
    response = auth.post("/reports/1/sections", {"title": "新部分"})
    assert response.status_code == 403 and "错误编号" not in response.text


@pytest.mark.parametrize("hops, expected", [(0, "127.0.0.1 http"), (1, "10.1.2.3 https")])
def test_proxy_headers_are_believed_only_when_configured(tmp_path, template_database, hops, expected):
    path = tmp_path / "proxy.sqlite"
    path.write_bytes(template_database[0].read_bytes())
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "x", "PROXY_FIX": hops})
    app.add_url_rule("/whoami-test", "whoami_test", lambda: f"{request.remote_addr} {request.scheme}")
    from app.views import _PUBLIC_ENDPOINTS

    _PUBLIC_ENDPOINTS.add("whoami_test")
    try:
        response = app.test_client().get("/whoami-test", headers={
            "X-Forwarded-For": "10.1.2.3", "X-Forwarded-Proto": "https", "X-Request-ID": "from-the-proxy-1"})
    finally:
        _PUBLIC_ENDPOINTS.discard("whoami_test")
    assert response.text == expected
    assert (response.headers["X-Request-ID"] == "from-the-proxy-1") == bool(hops)


def test_a_proxy_count_that_is_not_a_number_stops_the_start_with_a_chinese_message(tmp_path):
    with pytest.raises(RuntimeError, match="PROXY_FIX 须为反向代理的层数"):
        create_app({"TESTING": True, "DATABASE": str(tmp_path / "x.sqlite"), "SECRET_KEY": "x",
                    "PROXY_FIX": "nginx"})


@pytest.fixture
def empty_app(tmp_path):
    """An app over an empty database with only an admin."""
    path = tmp_path / "empty.sqlite"
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "x", "LOAD_SAMPLE": False})
    db = database.connect(str(path))
    create_user(db, "admin", "admin", PASSWORD)
    db.conn.close()
    return app


def test_seed_scale_builds_a_district_that_the_site_shows(empty_app):
    result = empty_app.test_cli_runner().invoke(args=[
        "seed-scale", "--units", "3", "--years", "2", "--sections", "14", "--last-year", "2024",
        "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "报告 6 份" in result.output and "部分 84 个" in result.output and "已生成 6/6 份" in result.output
    conn = sqlite3.connect(empty_app.config["DATABASE"])
    assert conn.execute("SELECT count(*) FROM reports WHERE year = 2023 AND status = 'approved'").fetchone()[0] == 3
    assert conn.execute("SELECT count(*) FROM editions").fetchone()[0] >= 3
    for markdown, html in conn.execute("SELECT markdown, html FROM sections"):
        assert markdown and html == render_markdown(markdown)
    report_id = conn.execute("SELECT id FROM reports WHERE unit_id = (SELECT unit_id FROM users"
                             " WHERE username = 'seed0002') AND year = 2024").fetchone()[0]
    client = empty_app.test_client()
    assert Auth(client).login("seed0002").status_code == 303
    assert client.get("/").status_code == 200
    page = client.get(f"/reports/{report_id}")
    assert page.status_code == 200 and page.text.count('class="section level-') == 14


def test_seed_scale_refuses_a_database_that_already_has_reports(runner):
    result = runner.invoke(args=["seed-scale", "--units", "1", "--years", "1"])
    assert result.exit_code == 1 and "只用于空的测试数据库" in result.output


@pytest.mark.parametrize("documented", ["`backup DEST", "`restore FILE", "`seed-scale", "`PROXY_FIX`",
                                        "/healthz", "jixiao.service", "X-Request-ID"])
def test_the_readme_documents_the_operator_tools(documented):
    assert documented in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_systemd_units_in_docs_exist():
    for name in ("jixiao.service", "jixiao-backup.service", "jixiao-backup.timer"):
        assert (ROOT / "docs" / "deploy" / name).is_file()


def test_a_share_view_leaves_its_connection_fully_durable_for_the_next_request(app, client, db):
    from app.reports import get_report
    from app.shares import create_share
    from app.users import get_user

    admin = get_user(db, 1)
    token = create_share(db, get_report(db, admin, app.config["SAMPLE_ID"]), admin, "", "", "Asia/Shanghai",
                         draft=True)
    assert client.get(f"/s/{token}").status_code == 200
    # Same thread, same kept connection: the view count's relaxed commit did not stay relaxed.
    assert client.get("/healthz").get_json()["database"]["synchronous"] == "full"
    app.extensions["share_views"].flush()  # as the writer thread does within seconds
    assert db.execute("SELECT view_count FROM shares").fetchone()[0] == 1


def test_a_kept_connection_sees_what_others_committed_since_its_last_request(app, client, db):
    from app.reports import get_report
    from app.sections import save_section
    from app.users import get_user

    auth = Auth(client)
    auth.login("editor")
    report_id = app.config["SAMPLE_ID"]
    assert client.get(f"/reports/{report_id}").status_code == 200
    section_id, version = db.execute("SELECT id, version FROM sections WHERE report_id = ? ORDER BY position"
                                     " LIMIT 1", (report_id,)).fetchone()
    admin = get_user(db, 1)
    save_section(db, get_report(db, admin, report_id), admin, section_id, "另一个连接刚保存的文字。", version)
    assert "另一个连接刚保存的文字。" in client.get(f"/reports/{report_id}").text


def test_waitress_queue_warnings_are_held_to_one_a_minute(monkeypatch):
    from app import requestlog

    now = [100.0]
    monkeypatch.setattr(requestlog.time, "monotonic", lambda: now[0])
    limit = requestlog.OncePerMinute()
    records = [logging.LogRecord("waitress.queue", logging.WARNING, "", 0, "Task queue depth is %d", (n,), None)
               for n in range(5)]
    assert [limit.filter(r) for r in records[:3]] == [True, False, False]
    now[0] += 61
    assert limit.filter(records[3])
    assert records[3].getMessage() == "Task queue depth is 3（此前一分钟内另有 2 条同类警告未记录）"


@pytest.fixture
def served_logging(monkeypatch):
    """The `serve` logging set-up, undone afterwards (it changes the process's root logger)."""
    import atexit

    root, app_logger, queue_logger = logging.getLogger(), logging.getLogger("app"), logging.getLogger("waitress.queue")
    saved = (root.handlers[:], root.level, app_logger.handlers[:], queue_logger.filters[:])
    monkeypatch.setattr(logging, "_srcfile", logging._srcfile)
    for flag in ("logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, flag, getattr(logging, flag))
    monkeypatch.setattr(atexit, "register", lambda function: function)  # the test stops it itself
    root.handlers = [h for h in root.handlers if not getattr(h, "_jixiao", False)]
    yield
    root.handlers, app_logger.handlers, queue_logger.filters = saved[0], saved[2], saved[3]
    root.setLevel(saved[1])


class HeldStream:
    """A stderr that cannot be written until it is let go (a full pipe, a slow disk)."""

    def __init__(self):
        import io
        import threading

        self.text, self.free = io.StringIO(), threading.Event()

    def write(self, text: str) -> int:
        self.free.wait(timeout=30)
        return self.text.write(text)

    def flush(self) -> None:
        pass


def test_a_request_thread_never_waits_for_the_log_to_be_written(served_logging):
    import threading

    from app.requestlog import configure, log_request

    stream = HeldStream()
    stop = configure(stream=stream)

    def requests():
        for n in range(200):
            log_request(f"{n:012x}", "GET", "/s/secret-token", 200, 1.5, "-", "127.0.0.1", "100")

    thread = threading.Thread(target=requests)
    thread.start()
    thread.join(timeout=10)
    # Writing is held, yet every request's line has been handed over: a request waits for no one's write.
    assert not thread.is_alive()
    assert stream.text.getvalue() == ""
    stream.free.set()
    stop()  # what exit and SIGTERM do: every queued line is written, in order
    lines = stream.text.getvalue().splitlines()
    assert len(lines) == 200
    assert re.fullmatch(r"\S+ \S+ INFO app\.requests \[000000000000\] method=GET path=/s/\*\*\* status=200 ms=1\.5 "
                        r"user=- ip=127\.0\.0\.1 bytes=100", lines[0])
    assert [line.split("[")[1][:12] for line in lines] == [f"{n:012x}" for n in range(200)]
    # After the queue has stopped (late in exit) a line is still written, directly.
    logging.getLogger("app").warning("退出时的最后一行")
    assert stream.text.getvalue().splitlines()[-1].endswith("WARNING app [-] 退出时的最后一行")


def test_a_queued_line_says_what_was_true_when_it_was_logged_and_keeps_its_traceback(served_logging):
    from app.requestlog import configure

    stream = HeldStream()
    stop = configure(stream=stream)
    sections = ["一、部门概况"]
    logging.getLogger("app").info("保存了 %s", sections)
    sections.append("之后才加的部分")  # changed while the line still waits in the queue
    try:
        {}["缺少的键"]
    except KeyError:
        logging.getLogger("app").exception("导出失败（报告 %d）", 42)
    stream.free.set()
    stop()
    lines = stream.text.getvalue().splitlines()
    assert lines[0].endswith("INFO app [-] 保存了 ['一、部门概况']")
    assert lines[1].endswith("ERROR app [-] 导出失败（报告 42）")
    assert lines[2] == "Traceback (most recent call last):" and lines[-1] == "KeyError: '缺少的键'"


def test_a_share_view_does_not_hash_the_edition_again_but_its_print_page_checks_it(app, client, db, monkeypatch):
    import app.printing as printing
    from app.reports import get_report
    from app.shares import create_share
    from app.users import get_user
    from app.workflow import perform

    admin = get_user(db, 1)
    report_id = app.config["SAMPLE_ID"]
    perform(db, report_id, admin, "submit")
    perform(db, report_id, admin, "pass")
    perform(db, report_id, admin, "approve")
    token = create_share(db, get_report(db, admin, report_id), admin, "", "", "Asia/Shanghai")
    checked = []
    monkeypatch.setattr(printing, "verify", lambda edition: checked.append(edition["id"]) or False)
    assert client.get(f"/s/{token}").status_code == 200
    assert checked == []
    page = client.get(f"/s/{token}/print")
    assert len(checked) == 1 and "（校验不一致）" in page.text


def test_the_cheap_test_password_hash_is_refused_outside_testing(tmp_path):
    config = {"DATABASE": str(tmp_path / "x.sqlite"), "SECRET_KEY": "x", "TEST_PASSWORD_HASH": "pbkdf2:sha256:1"}
    with pytest.raises(RuntimeError, match="TEST_PASSWORD_HASH"):
        create_app({**config, "TESTING": False})
    assert create_app({**config, "TESTING": True}).config["TEST_PASSWORD_HASH"]


def test_accounts_made_by_the_site_are_hashed_with_scrypt_unless_testing(memory_db):
    from app.users import create_user

    assert create_user(memory_db, "zhao", "admin", "long-enough-1")
    stored = memory_db.execute("SELECT password_hash FROM users WHERE username = 'zhao'").fetchone()[0]
    assert stored.startswith("scrypt:")
