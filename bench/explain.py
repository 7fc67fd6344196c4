"""EXPLAIN QUERY PLAN of every SQL statement the main pages run, on a given (large) database.

    python -m bench.explain --db /tmp/district.sqlite > plans.md

Requests go through the real app in-process (test client), each as on the first view after a change
(kept pages, lists and hits forgotten); every statement its connections run is recorded (with its
bound values), then explained and, for reads, timed on the database. Full
table scans are marked ⚠. Writes a Markdown section to stdout.
"""

import argparse
import re
import sqlite3
import sys
import time
from pathlib import Path

PASSWORD = "explain-pass-42"
# Transaction control, pragmas, and what SQLite runs inside triggers and FTS5 (traced as "-- …").
SKIP = re.compile(r"^\s*(PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|--)|'main'\.'", re.IGNORECASE)


def _login(client, username: str) -> str:
    """Log the test client in through the form; return the page's CSRF token."""
    token = re.search(r'csrf-token" content="([^"]+)', client.get("/login").text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    return re.search(r'csrf-token" content="([^"]+)', client.get("/").text).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="the database (e.g. from seed-scale)")
    args = parser.parse_args()

    import app.db as database
    from app import create_app
    from app.reports import get_report
    from app.search import register_functions
    from app.shares import create_share
    from app.users import create_user, get_or_create_unit, get_user
    from bench.service import forget_kept_pages

    setup = database.connect(str(args.db))
    tag = str(int(time.time()))
    admin = get_user(setup, create_user(setup, f"explain-admin-{tag}", "admin", PASSWORD))
    report_id, unit_id = setup.execute(
        "SELECT id, unit_id FROM reports WHERE status = 'draft' ORDER BY id DESC LIMIT 1").fetchone()
    create_user(setup, f"explain-editor-{tag}", "editor", PASSWORD, unit_id=unit_id)
    get_or_create_unit(setup, "—")
    approved = setup.execute("SELECT id FROM reports WHERE status = 'approved' ORDER BY id DESC LIMIT 1").fetchone()[0]
    token = create_share(setup, get_report(setup, admin, approved), admin, "", "", "Asia/Shanghai")
    section_id, version = setup.execute(
        "SELECT id, version FROM sections WHERE report_id = ? AND deleted_at IS NULL ORDER BY position DESC LIMIT 1",
        (report_id,)).fetchone()
    setup.conn.close()

    recorded: list[str] = []
    connect = database.connect

    def traced(path: str):
        db = connect(path)
        db.conn.set_trace_callback(recorded.append)
        return db

    database.connect = traced
    flask_app = create_app({"DATABASE": str(args.db), "SECRET_KEY": "explain", "LOAD_SAMPLE": False})
    editor, admin_client, anonymous = flask_app.test_client(), flask_app.test_client(), flask_app.test_client()
    csrf = _login(editor, f"explain-editor-{tag}")
    _login(admin_client, f"explain-admin-{tag}")
    pages = [
        ("首页（填报人）", lambda: editor.get("/")),
        ("首页（管理员，全区）", lambda: admin_client.get("/")),
        ("首页（管理员，单位名称含“教育”）", lambda: admin_client.get("/?unit_name=教育")),
        ("报告页", lambda: editor.get(f"/reports/{report_id}")),
        ("保存一个部分", lambda: editor.post(f"/reports/{report_id}/sections/{section_id}",
                                       data={"markdown": "康复服务覆盖率达到98%。", "version": version},
                                       headers={"HX-Request": "true", "X-CSRFToken": csrf})),
        ("分享页", lambda: anonymous.get(f"/s/{token}")),
        ("搜索“康复”（填报人）", lambda: editor.get("/search?q=康复")),
        ("搜索“康复”（管理员）", lambda: admin_client.get("/search?q=康复")),
    ]
    conn = sqlite3.connect(args.db)
    register_functions(conn)
    print(f"### 查询计划（EXPLAIN QUERY PLAN），数据库 {args.db.name}\n")
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 (fixed names)
              for t in ("units", "reports", "sections", "revisions", "editions", "audit_log", "workflow_events")}
    print("行数：" + "，".join(f"{t} {n:,}" for t, n in counts.items()) + "\n")
    for label, request in pages:
        if "保存" not in label:
            request()  # warm: templates compiled, unchanged sections kept
        forget_kept_pages(flask_app)  # but the page itself, the list or the hits as on the first view after a change
        recorded.clear()
        started = time.perf_counter()
        status = request().status_code
        elapsed = (time.perf_counter() - started) * 1000
        statements = list(dict.fromkeys(s for s in recorded if not SKIP.match(s)))
        print(f"#### {label}：HTTP {status}，进程内单次 {elapsed:.1f} ms，{len(statements)} 条不同的语句\n")
        print("```")
        for sql in statements:
            _explain(conn, sql)
        print("```\n")
    conn.close()


def _explain(conn: sqlite3.Connection, sql: str) -> None:
    """Print one statement (shortened), the time a read takes, and its plan."""
    one_line = " ".join(sql.split())
    shown = one_line if len(one_line) <= 160 else one_line[:157] + "…"
    timing = ""
    if one_line.upper().startswith(("SELECT", "WITH")):
        started = time.perf_counter()
        conn.execute(sql).fetchall()
        timing = f"  [{(time.perf_counter() - started) * 1000:.2f} ms]"
    print(shown + timing)
    try:
        plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    except sqlite3.Error as error:
        print(f"    (not explained: {error})")
        return
    for _, parent, _, detail in plan:
        scan = detail.startswith("SCAN ") and "COVERING INDEX" not in detail and "VIRTUAL TABLE" not in detail
        print(f"    {'⚠ ' if scan else ''}{'  ' if parent else ''}{detail}")


if __name__ == "__main__":
    sys.exit(main())
