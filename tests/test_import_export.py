"""Import and export: CLI contracts, upload form, round trips, first run."""

import html
import json
import re

import pytest

from app import SAMPLE_REPORT
from app import db as database
from app.bootstrap import first_run
from app.schema import migrate
from tests.conftest import SAMPLE_TEXT, csrf_from
from tests.test_outline import SAMPLE_OUTLINE


def import_via_cli(runner, path, unit="测试单位", year="2023"):
    """Run import-report and return (result, new id)."""
    result = runner.invoke(args=["import-report", str(path), "--unit", unit, "--year", year])
    return result, result.output.strip().splitlines()[-1]


def test_import_report_prints_the_new_id_alone_on_the_last_line(runner, tmp_path):
    result, last = import_via_cli(runner, SAMPLE_REPORT)
    assert result.exit_code == 0, result.output
    assert last.isdigit()


def test_export_json_has_the_contract_shape(runner, app):
    result = runner.invoke(args=["export-report", str(app.config["SAMPLE_ID"]), "--format", "json"])
    data = json.loads(result.output)
    assert set(data) >= {"id", "unit", "year", "title", "status", "preamble", "sections",
                         "form", "score"}
    assert data["unit"] == "广州市荔湾区残疾人联合会" and data["year"] == 2024
    assert data["status"] == "draft"
    assert [(s["level"], s["number"], s["title"]) for s in data["sections"]] == SAMPLE_OUTLINE
    assert set(data["sections"][0]) == {"id", "level", "number", "title", "markdown", "version"}


@pytest.mark.parametrize("fmt", ["md", "json"])
def test_export_then_import_gives_the_same_outline_and_text(runner, app, tmp_path, fmt):
    sample_id = str(app.config["SAMPLE_ID"])
    exported = tmp_path / f"report.{fmt}"
    runner.invoke(args=["export-report", sample_id, "--format", fmt, "-o", str(exported)])
    result, new_id = import_via_cli(runner, exported)
    assert result.exit_code == 0, result.output

    def sections(report_id):
        out = runner.invoke(args=["export-report", report_id, "--format", "json"]).output
        data = json.loads(out)
        return data["title"], [(s["level"], s["number"], s["title"], s["markdown"])
                               for s in data["sections"]]

    assert sections(new_id) == sections(sample_id)


def test_list_reports_json(runner, app):
    result = runner.invoke(args=["list-reports", "--format", "json"])
    rows = json.loads(result.output)
    assert rows == [{"id": app.config["SAMPLE_ID"], "unit": "广州市荔湾区残疾人联合会",
                     "year": 2024, "title": "2024年度广州市荔湾区残疾人联合会 部门整体支出绩效自评表说明",
                     "status": "draft"}]


def test_import_of_an_existing_unit_year_fails_clearly(runner):
    result, _ = import_via_cli(runner, SAMPLE_REPORT, unit="广州市荔湾区残疾人联合会", year="2024")
    assert result.exit_code != 0 and "已存在" in result.output


def test_create_user_cli_generates_password_when_none_given(runner):
    result = runner.invoke(args=["create-user", "zhang", "--role", "reviewer", "--unit", "某局"])
    assert result.exit_code == 0 and "初始密码" in result.output
    bad = runner.invoke(args=["create-user", "zhang", "--role", "reviewer", "--unit", "某局"])
    assert bad.exit_code != 0 and "已被使用" in bad.output


def test_upload_form_imports_pasted_plain_text(auth):
    auth.login()
    page = auth.get("/reports/import")
    text = "2023年度残联部门整体支出绩效自评报告\n一、绩效自评情况\n（一）自评结论\n总体良好。\n二、问题\n无。"
    preview = auth.client.post("/reports/import", data={
        "csrf_token": csrf_from(page.text), "text": text, "year": "2023", "unit_id": "1",
        "format": "auto"})
    assert preview.status_code == 200 and "确认导入" in preview.text
    assert "（一）自评结论" in preview.text
    response = auth.client.post("/reports/import", data={
        "csrf_token": csrf_from(page.text), "text": text, "year": "2023", "unit_id": "1",
        "format": "auto", "confirm": "1"})
    assert response.status_code == 303
    report = auth.get(response.headers["Location"])
    assert "（一）</span>自评结论" in report.text and "总体良好。" in report.text


def test_upload_form_with_file_and_gbk_encoding(auth):
    from io import BytesIO

    auth.login()
    page = auth.get("/reports/import")
    data = "一、情况\n（一）目标\n完成。\n".encode("gb18030")
    response = auth.client.post("/reports/import", data={
        "csrf_token": csrf_from(page.text), "year": "2022", "unit_id": "1", "confirm": "1",
        "file": (BytesIO(data), "2022.txt")}, content_type="multipart/form-data")
    assert response.status_code == 303


def test_upload_without_headings_keeps_the_text_and_says_why(auth):
    auth.login()
    page = auth.get("/reports/import")
    response = auth.client.post("/reports/import", data={
        "csrf_token": csrf_from(page.text), "text": "没有编号的一段话。", "year": "2023",
        "unit_id": "1"})
    assert response.status_code == 422
    assert "没有识别出任何章节标题" in response.text and "没有编号的一段话。" in response.text


def test_new_report_from_standard_outline(auth, db):
    auth.login()
    page = auth.get("/")
    response = auth.client.post("/reports", data={
        "csrf_token": csrf_from(page.text), "unit_id": "1", "year": "2025"})
    assert response.status_code == 303
    report = auth.get(response.headers["Location"])
    for heading in ["一、</span>绩效自评情况", "（四）</span>管理效率分析", "7.</span>运行成本",
                    "二、</span>存在的主要问题和下一步改进措施"]:
        assert heading in report.text


def test_export_download_is_an_attachment(auth, app):
    auth.login()
    response = auth.get(f"/reports/{app.config['SAMPLE_ID']}/export.md")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.text.startswith("# 2024年度广州市荔湾区残疾人联合会")


def test_first_run_creates_admin_once_and_loads_the_sample(tmp_path):
    db = database.connect(str(tmp_path / "fresh.sqlite"))
    migrate(db)
    done = first_run(db, SAMPLE_REPORT, None)
    assert len(done["admin_password"]) >= 12 and done["report_id"] == 1
    assert first_run(db, SAMPLE_REPORT, None) == {"admin_password": None, "report_id": None}
    title = db.execute("SELECT title FROM reports").fetchone()[0]
    assert title.startswith("2024年度广州市荔湾区残疾人联合会")
    db.conn.close()


def test_sample_text_in_tests_is_the_shipped_sample():
    assert SAMPLE_TEXT.startswith("\n\n# 2024年度") or SAMPLE_TEXT.lstrip().startswith("# 2024年度")


def test_first_run_accepts_a_numeric_admin_password_from_the_environment(tmp_path):
    from app import create_app

    # FLASK_ADMIN_PASSWORD=12345678 reaches the config as an int (from_prefixed_env reads JSON).
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "fresh.sqlite"),
                      "SECRET_KEY": "x", "ADMIN_PASSWORD": 12345678, "LOAD_SAMPLE": False})
    result = app.test_cli_runner().invoke(args=["first-run"])
    assert result.exit_code == 0, result.output
    assert "初始密码" not in result.output
    client = app.test_client()
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "admin", "password": "12345678",
                                           "csrf_token": token})
    assert response.status_code == 303


def test_first_run_on_an_instance_with_users_but_no_admin_still_creates_one(tmp_path):
    db = database.connect(str(tmp_path / "fresh.sqlite"))
    migrate(db)
    from app.users import create_user, get_or_create_unit

    create_user(db, "li", "editor", "password1", unit_id=get_or_create_unit(db, "某局"))
    done = first_run(db, SAMPLE_REPORT, None)
    assert done["admin_password"] and done["report_id"]
    db.conn.close()


def make_docx() -> bytes:
    """A Word report with a title, heading styles, a bold numbered paragraph, a list-like line and a table."""
    from io import BytesIO

    from docx import Document

    document = Document()
    document.add_paragraph("2023年度某局部门整体支出绩效自评报告", style="Title")
    document.add_heading("一、绩效自评情况", level=1)
    document.add_heading("部门整体支出绩效目标", level=2)  # a heading style without a typed number
    document.add_paragraph("目标正文。")
    document.add_paragraph().add_run("（二）自评结论").bold = True
    document.add_paragraph("(1) 预算编制：年初预算编制科学合理。")
    table = document.add_table(rows=2, cols=2)
    for (row, col), text in {(0, 0): "指标", (0, 1): "完成值", (1, 0): "康复资助审批人数", (1, 1): "3294"}.items():
        table.cell(row, col).text = text
    document.add_heading("二、存在的问题", level=1)
    document.add_paragraph("暂无。")
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_word_import_previews_the_outline_then_creates_it(auth, db):
    from io import BytesIO

    auth.login()
    page = auth.get("/reports/import")
    preview = auth.client.post("/reports/import", data={
        "csrf_token": csrf_from(page.text), "year": "2023", "unit_id": "1",
        "file": (BytesIO(make_docx()), "2023年报告.docx")}, content_type="multipart/form-data")
    assert preview.status_code == 200
    for line in ["一、绩效自评情况", "（一）部门整体支出绩效目标", "（二）自评结论", "二、存在的问题"]:
        assert line in preview.text
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == 1  # nothing created yet
    text = re.search(r'<textarea name="text" hidden>(.*?)</textarea>', preview.text, re.S).group(1)
    response = auth.client.post("/reports/import", data={
        "csrf_token": csrf_from(page.text), "year": "2023", "unit_id": "1", "confirm": "1",
        "format": "markdown", "text": html.unescape(text)})
    assert response.status_code == 303
    report = auth.get(response.headers["Location"]).text
    assert "<td>康复资助审批人数</td>" in report and "<td>3294</td>" in report
    assert "（1）</span>" not in report and "预算编制：年初预算编制科学合理。" in report


def test_word_import_from_the_cli(runner, tmp_path):
    path = tmp_path / "report.docx"
    path.write_bytes(make_docx())
    result = runner.invoke(args=["import-report", str(path), "--unit", "某局", "--year", "2023"])
    assert result.exit_code == 0, result.output
    exported = json.loads(runner.invoke(args=["export-report", result.output.split()[-1],
                                              "--format", "json"]).output)
    assert [s["title"] for s in exported["sections"]] == [
        "绩效自评情况", "部门整体支出绩效目标", "自评结论", "存在的问题"]


def test_a_broken_word_file_is_refused_clearly(auth):
    from io import BytesIO

    auth.login()
    page = auth.get("/reports/import")
    response = auth.client.post("/reports/import", data={
        "csrf_token": csrf_from(page.text), "year": "2023", "unit_id": "1",
        "file": (BytesIO(b"not a zip"), "x.docx")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "无法读取该 Word 文件" in response.text
