"""The audit trail: labels, the report's activity page, the admin log with filters and CSV, verify-audit."""

import csv
import io
import re
from pathlib import Path

import pytest

from app import audit, clock
from app.audit import ACTION_LABELS, AuditFilter, describe, parse_filter, search, to_csv
from tests.conftest import Auth

APP_DIR = Path(__file__).resolve().parent.parent / "app"
WORKFLOW_ACTIONS = {"report.submit": "提交审核", "report.pass": "审核通过", "report.return": "退回修改",
                    "report.approve": "审批定稿", "report.reopen": "重新打开", "comment.add": "添加意见",
                    "comment.resolve": "意见已处理"}


def section_id(db, title: str) -> int:
    """The id of the live section with this title."""
    return db.execute("SELECT id FROM sections WHERE title = ? AND deleted_at IS NULL", (title,)).fetchone()[0]


def user_id(db, username: str) -> int:
    """The id of the account with this username."""
    return db.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0]


def rows_of(page) -> str:
    """The table body of an audit page (the filter form names every action too)."""
    match = re.search(r"<tbody>(.*?)</tbody>", page.text, re.S)
    return match.group(1) if match else ""


def test_every_recorded_action_has_a_chinese_label():
    recorded = set()
    for path in APP_DIR.rglob("*.py"):
        recorded |= set(re.findall(r'audit\.record\(\s*db,\s*"([a-z_.]+)"', path.read_text(encoding="utf-8")))
    assert {"login", "login.failed", "section.save", "user.create", "unit.update"} <= recorded
    assert recorded <= set(ACTION_LABELS)
    assert {action: ACTION_LABELS[action] for action in WORKFLOW_ACTIONS} == WORKFLOW_ACTIONS


def test_details_read_as_chinese():
    text = describe("user.role_change", '{"user": "zhao", "old_role": "viewer", "role": "editor", '
                                        '"old_unit": "甲", "unit": "乙"}')
    assert text == "用户：zhao；原角色：只读；角色：填报人；原单位：甲；单位：乙"
    assert describe("login.failed", '{"reason": "bad password"}') == "原因：密码错误"
    assert describe("report.return", '{"reason": "bad password", "from_status": "submitted", '
                                     '"to_status": "draft", "revisions": {"1": 2, "3": 1}}') == (
        "原状态：待审核；新状态：草稿；原因：bad password；涉及修订：2 个部分")


def test_report_activity_lists_its_rows_newest_first(auth, app, db):
    auth.login("editor")
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "新的结论", "version": "1", "note": "补充数据"})
    page = auth.get(f"/reports/{rid}/activity")
    assert page.status_code == 200 and "操作记录" in page.text
    assert page.text.index("保存部分") < page.text.index("新建报告")
    assert "editor姓名" in page.text and "自评结论" in page.text and "版本：2" in page.text
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", page.text)
    assert "登录" not in page.text.split("<h1>操作记录</h1>")[1]  # only this report's rows


def test_report_activity_is_for_those_who_may_read_the_report(auth, app):
    auth.login("outsider")
    assert auth.get(f"/reports/{app.config['SAMPLE_ID']}/activity").status_code == 403
    assert auth.get("/reports/999/activity").status_code == 404
    viewer = Auth(app.test_client())
    viewer.login("viewer")
    assert viewer.get(f"/reports/{app.config['SAMPLE_ID']}/activity").status_code == 200


def test_admin_audit_page_filters_by_action_user_report_and_date(auth, app, db):
    Auth(app.test_client()).login("editor", "wrong-password")
    auth.login("admin")
    failed = auth.get("/admin/audit?action=login.failed")
    assert failed.status_code == 200 and "共 1 条" in failed.text
    assert "<td>登录失败</td>" in rows_of(failed) and "原因：密码错误" in rows_of(failed)
    assert 'value="login.failed" selected' in failed.text
    by_user = rows_of(auth.get(f"/admin/audit?user={user_id(db, 'admin')}"))
    assert "新建报告" in by_user and "登录失败" not in by_user
    by_report = rows_of(auth.get(f"/admin/audit?report={app.config['SAMPLE_ID']}"))
    assert "新建报告" in by_report and "新建账号" not in by_report
    today = clock.local(clock.now(), app.config["TIMEZONE"])[:10]
    assert "登录失败" in rows_of(auth.get(f"/admin/audit?date_from={today}&date_to={today}"))
    assert "没有符合条件的记录" in auth.get("/admin/audit?date_to=2001-01-01").text


@pytest.mark.parametrize("query, message", [
    ("date_from=2025-13-01", "起始日期“2025-13-01”无效"),
    ("date_to=yesterday", "截止日期“yesterday”无效"),
    ("date_from=2025/03/18", "请按 年-月-日 填写"),
    ("date_from=2025-03-18&date_to=2025-03-01", "起始日期不能晚于截止日期"),
    ("report=abc", "报告编号须为正整数"),
    ("report=-3", "报告编号须为正整数"),
    ("report=99999999999999999999999", "报告编号须为正整数"),
    ("user=%E5%BC%A0", "操作人无效"),
    ("action=" + "x" * 60, "操作类型无效"),
])
def test_bad_filters_get_a_chinese_message_never_a_500(auth, query, message):
    auth.login("admin")
    page = auth.get(f"/admin/audit?{query}")
    assert page.status_code == 422 and message in page.text
    exported = auth.get(f"/admin/audit.csv?{query}")
    assert exported.status_code == 422 and message in exported.text


def test_audit_pages_show_50_rows_a_page(auth, app, db):
    auth.login("editor")
    rid, sid = app.config["SAMPLE_ID"], section_id(db, "自评结论")
    for version in range(1, 56):
        auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": f"第{version}次", "version": str(version)})
    auth.login("admin")
    first = auth.get("/admin/audit?action=section.save")
    assert "第 1 / 2 页，共 55 条" in first.text and first.text.count("<td>保存部分</td>") == 50
    assert "page=2" in first.text and "action=section.save" in first.text
    second = auth.get("/admin/audit?action=section.save&page=2")
    assert second.text.count("<td>保存部分</td>") == 5 and "上一页" in second.text
    assert auth.get("/admin/audit?action=section.save&page=abc").status_code == 200
    activity = auth.get(f"/reports/{rid}/activity?page=2")
    assert "第 2 / 2 页" in activity.text and f"/reports/{rid}/activity?page=1" in activity.text


def test_csv_export_has_bom_chinese_headers_and_the_filtered_rows(auth, app):
    auth.login("admin")
    response = auth.get(f"/admin/audit.csv?report={app.config['SAMPLE_ID']}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["序号", "时间", "操作人", "用户名", "操作", "操作代码", "报告编号", "部分编号",
                       "部分标题", "详情"]
    assert [row[4] for row in rows[1:]] == ["新建报告"]
    assert rows[1][2] == "admin姓名" and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", rows[1][1])


def test_csv_cells_never_start_a_spreadsheet_formula(auth, app):
    Auth(app.test_client()).login("=HYPERLINK(\"http://evil\")", "x")
    auth.login("admin")
    body = auth.get("/admin/audit.csv?action=login.failed").data.decode("utf-8-sig")
    detail = list(csv.reader(io.StringIO(body)))[1][-1]
    assert detail.startswith("用户：=HYPERLINK")  # the label comes first; a bare value would be escaped
    assert audit._cell("=1+1") == "'=1+1" and audit._cell("-5") == "'-5" and audit._cell("正常") == "正常"


def test_date_filters_are_whole_days_in_the_office_time_zone(memory_db, monkeypatch):
    # 17:30 UTC on 17 March is 01:30 on 18 March in Guangzhou.
    monkeypatch.setattr(clock, "now", lambda: "2025-03-17T17:30:00.000000+00:00")
    audit.record(memory_db, "login", actor_id=None)

    def count(**dates):
        return search(memory_db, parse_filter(dates), "Asia/Shanghai").total

    assert count(date_from="2025-03-18", date_to="2025-03-18") == 1
    assert count(date_to="2025-03-17") == 0
    assert count(date_from="2025-03-19") == 0
    assert search(memory_db, AuditFilter(date_to=parse_filter({"date_to": "2025-03-17"}).date_to), "UTC").total == 1
    assert "2025-03-18 01:30:00" in to_csv(memory_db, AuditFilter(), "Asia/Shanghai")


def test_verify_audit_passes_on_a_fresh_database(runner, db):
    total = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 0, result.output
    assert f"审计日志完整：共 {total} 条" in result.output


def test_verify_audit_fails_with_the_first_broken_row_after_tampering(runner, db):
    db.execute("DROP TRIGGER audit_log_no_update")
    row = db.execute("SELECT min(id) FROM audit_log WHERE action = 'user.create'").fetchone()[0]
    db.execute("UPDATE audit_log SET detail = '{\"user\": \"nobody\"}' WHERE id = ?", (row,))
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 1
    assert f"第 {row} 号记录" in result.output and "校验失败" in result.output
