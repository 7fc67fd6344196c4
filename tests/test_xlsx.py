"""The 自评表 in and out of .xlsx: lossless round trip, a bureau's template, problems by cell, the confirmed
import (one change, 409 when stale), hostile workbooks refused by the sandboxed reader, real downloads."""

import io
import json
import re
import time
import urllib.request
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook

from app import db as database
from app.form_import import fingerprint, preview
from app.form_model import Form, form_from_json, form_to_json
from app.form_store import load_form
from app.reports import InvalidInput
from app.xlsx_export import form_workbook
from app.xlsx_import import Grid, read_bounded, read_cells
from tests.conftest import PASSWORD

TRICKY = {
    "contact": {"name": "陈晓敏", "phone": "020-8123 4567 转 8", "date": "2025-03-14"},
    "budget": {"weight": "12.5", "lines": [
        {"source": "财政拨款", "initial": "2100.00", "adjusted": "2162.14", "executed": "2100.05"},
        {"source": "其他资金", "initial": "0.10", "adjusted": "1234567.89", "executed": None},
        {"source": "上年结转", "initial": None, "adjusted": None, "executed": None}]},
    "goals": {"target": "第一行目标\n第二行：精准康复覆盖率不低于95%", "actual": "全面完成", "unmet_reason": ""},
    "indicators": [
        {"level1": "履职效能", "level2": "产出指标", "name": "康复资助审批人数", "kind": "quantitative",
         "direction": ">=", "unit": "人", "target": "3000", "actual": "3294", "rating": None, "weight": "10",
         "override": None, "reason": ""},
        {"level1": "履职效能", "level2": "产出指标", "name": "覆盖率", "kind": "quantitative", "direction": "<=",
         "unit": "%", "target": "0.1", "actual": "0.125", "rating": None, "weight": "7.5",
         "override": {"score": "7", "reason": "口径调整，经财政局同意"}, "reason": "数据口径变化"},
        {"level1": "履职效能", "level2": "效益指标", "name": "关爱机制", "kind": "qualitative", "direction": ">=",
         "unit": "", "target": "建立“区、街、社”三级机制", "actual": "已建立", "rating": "部分达成", "weight": "5",
         "override": None, "reason": "部分街道未覆盖"},
        {"level1": "管理效率", "level2": "预算执行", "name": "预算执行率", "kind": "quantitative", "direction": "=",
         "unit": "%", "target": "100", "actual": "97.15", "rating": None, "weight": "5", "override": None,
         "reason": "年末尾款"},
        {"level1": "履职效能", "level2": "产出指标", "name": "空的指标", "kind": "quantitative", "direction": ">=",
         "unit": "", "target": None, "actual": None, "rating": None, "weight": "0", "override": None, "reason": ""},
    ],
}


def _grid(data: bytes) -> Grid:
    """The cells of a workbook, read in this process (the worker's own function)."""
    result = read_cells(data)
    return Grid(result["sheet"], {(row, column): text for row, column, text in result["cells"]})


def test_the_exported_form_reads_back_exactly():
    form = form_from_json(TRICKY)
    data = form_workbook(form, form.score(), "广州市荔湾区残疾人联合会", 2024)
    found = preview(_grid(data), Form(), 2024, "广州市荔湾区残疾人联合会")
    assert found.problems == [] and found.warnings == []
    assert form_to_json(found.form) == form_to_json(form)  # numbers, texts and order


def test_the_sample_form_round_trips_through_the_sandboxed_reader(app, db):
    form = load_form(db, app.config["SAMPLE_ID"])
    data = form_workbook(form, form.score(), "单位", 2024)
    found = preview(read_bounded(data), form, 2024, "单位")
    assert not found.problems and not found.changed
    assert [change.mark for change in found.changes] == ["不变"] * (len(form.lines) + len(form.indicators))


def _bureau_template(actual_of_first: str = "3294人") -> bytes:
    """A bureau's template: a title, merged two-row headers, merged level cells, blank rows, an extra column."""
    book = Workbook()
    sheet = book.active
    sheet.title = "附件2"
    sheet["A1"] = "2024年度部门整体支出绩效自评表"
    sheet.merge_cells("A1:J1")
    sheet.append(["单位名称：", "广州市荔湾区残疾人联合会", None, "联系人", "李四", "联系电话", "020-81234567"])
    sheet.append([])
    sheet.append(["资金来源", "年初预算数（万元）", "全年预算数（万元）", "全年执行数（万元）", "执行率", "备注"])
    sheet.append(["合计", 2100, 2162.14, 2100.5, 0.9715])
    sheet.append(["财政拨款", 2100, 2162.14, 2100.5, 0.9715, "含追加"])
    sheet.append(["其他资金", 0, 0, 0])
    sheet.append([])
    sheet.append(["绩效指标", None, None, "指标性质", "年度指标值", "实际完成值", "分值", "得分",
                  "偏差原因分析及改进措施", "备注"])
    sheet.merge_cells("A9:C9")
    for column in "DEFGHIJ":
        sheet.merge_cells(f"{column}9:{column}10")
    sheet.append(["一级指标", "二级指标", "三级指标"])
    sheet.append(["产出指标", "数量指标", "康复资助审批人数", "定量", "≥3000人", actual_of_first, 10, 10, None,
                  "按审批系统"])
    sheet.append([None, None, "辅具适配服务人数", "定量", "≥900人", "932人", 5, 5])
    sheet.append([])
    sheet.append([None, "质量指标", "精准康复覆盖率", "定量", "≥95%", "98%", 10, 10])
    sheet.append(["效益指标", "社会效益", "关爱机制建设", "定性", "建立三级关爱机制", "达成", 5, 5])
    sheet.append([None, None, "结转结余率", "定量", "≤2%", "2.5%", 4, 3.2, "年末部分项目资金结转"])
    sheet.merge_cells("A11:A14")
    sheet.merge_cells("B11:B12")
    sheet.append(["合计", None, None, None, None, None, 34, 33.2])
    sheet.append([])
    sheet.append(["年度整体绩效目标", "完善残疾人社会保障制度和关爱服务体系。"])
    sheet.append(["填表说明：金额单位为万元。"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_bureau_template_is_read_by_its_header_names():
    found = preview(_grid(_bureau_template()), Form(), 2024, "广州市荔湾区残疾人联合会")
    assert found.problems == [] and found.warnings == []
    form = found.form
    assert [(line.source, str(line.adjusted), str(line.executed)) for line in form.lines] == [
        ("财政拨款", "2162.14", "2100.50"), ("其他资金", "0.00", "0.00")]
    assert form.budget_weight == 10, "a template without 分值 in its budget table keeps the current weight"
    got = [(i.level1, i.level2, i.name, i.kind, i.direction, i.unit, i.target, i.actual, i.rating, str(i.weight))
           for i in form.indicators]
    assert got == [
        ("产出指标", "数量指标", "康复资助审批人数", "quantitative", ">=", "人", "3000", "3294", None, "10"),
        ("产出指标", "数量指标", "辅具适配服务人数", "quantitative", ">=", "人", "900", "932", None, "5"),
        ("产出指标", "质量指标", "精准康复覆盖率", "quantitative", ">=", "%", "95", "98", None, "10"),
        ("效益指标", "社会效益", "关爱机制建设", "qualitative", ">=", "", "建立三级关爱机制", "", "达成", "5"),
        ("效益指标", "社会效益", "结转结余率", "quantitative", "<=", "%", "2", "2.5", None, "4"),
    ]
    assert form.indicators[4].reason == "年末部分项目资金结转"
    assert (form.header.contact_name, form.header.contact_phone) == ("李四", "020-81234567")
    assert form.goals.target == "完善残疾人社会保障制度和关爱服务体系。"


def test_problems_are_named_by_cell_and_nothing_is_taken():
    found = preview(_grid(_bureau_template(actual_of_first="约三千")), Form(), 2023, "别的单位")
    assert any(problem.startswith("F11：") and "实际完成值" in problem for problem in found.problems), found.problems
    assert any("2024" in warning for warning in found.warnings)
    assert any("别的单位" in warning for warning in found.warnings)


def _login(client, username="editor"):
    from tests.conftest import Auth

    auth = Auth(client)
    assert auth.login(username).status_code == 303
    return auth


def test_an_upload_is_previewed_then_confirmed_as_one_change(app, client, db):
    report_id = app.config["SAMPLE_ID"]
    auth = _login(client)
    before = load_form(db, report_id)
    page = auth.get(f"/reports/{report_id}")
    assert f'href="/reports/{report_id}/form/import"' in page.text and "Excel（自评表）" in page.text
    upload = auth.post(f"/reports/{report_id}/form/import/preview",
                       {"file": (io.BytesIO(_bureau_template()), "模板.xlsx")}, htmx=False)
    assert upload.status_code == 200, upload.text
    assert "确认导入" in upload.text and "康复资助审批人数" in upload.text
    assert load_form(db, report_id).indicators == before.indicators, "a preview changes nothing"
    fields = dict(re.findall(r'name="(fingerprint|filename)" value="([^"]*)"', upload.text))
    payload = re.search(r'<textarea name="form" hidden>(.*?)</textarea>', upload.text, re.S).group(1)
    import html

    data = {"form": html.unescape(payload), **fields}
    done = auth.post(f"/reports/{report_id}/form/import", data, htmx=False)
    assert done.status_code == 303
    after = load_form(db, report_id)
    assert [i.name for i in after.indicators] == ["康复资助审批人数", "辅具适配服务人数", "精准康复覆盖率",
                                                 "关爱机制建设", "结转结余率"]
    assert after.header.contact_name == "李四"
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'form.import'").fetchone()[0] == 1
    again = auth.post(f"/reports/{report_id}/form/import", data, htmx=False)
    assert again.status_code == 409 and "已被修改" in again.text
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'form.import'").fetchone()[0] == 1
    assert fingerprint(load_form(db, report_id)) == fingerprint(after)


def test_a_reviewer_cannot_import_and_a_refused_file_says_why(app, client):
    report_id = app.config["SAMPLE_ID"]
    reviewer = _login(client, "reviewer")
    assert reviewer.post(f"/reports/{report_id}/form/import/preview",
                         {"file": (io.BytesIO(_bureau_template()), "a.xlsx")}, htmx=False).status_code == 403
    editor = _login(app.test_client())
    refused = editor.post(f"/reports/{report_id}/form/import/preview",
                          {"file": (io.BytesIO(b"just text"), "a.xlsx")}, htmx=False)
    assert refused.status_code == 422 and "不是 Excel 工作簿" in refused.text


# --- Hostile workbooks: refused by the structural checks, never by running out of time ---------------


def _with_members(replace: dict[str, bytes], extra: dict[str, bytes] | None = None) -> bytes:
    """A small real workbook with some members replaced (and others added)."""
    book = Workbook()
    book.active["A1"] = "一级指标"
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, replace.get(item.filename, source.read(item.filename)))
        for name, body in (extra or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def _sheet(rows: str, dimension: str) -> bytes:
    """A worksheet's XML."""
    return ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
            ).encode()


def _refused(data: bytes) -> str:
    """The message a hostile workbook is refused with (through the sandboxed worker)."""
    started = time.monotonic()
    with pytest.raises(InvalidInput) as refusal:
        read_bounded(data)
    message = str(refusal.value)
    assert "秒" not in message and "内存" not in message, "refused by the checks, not by a limit"
    assert time.monotonic() - started < 30
    return message


def test_a_million_rows_are_refused():
    rows = "<row><c><v>1</v></c></row>" * 1_000_000
    data = _with_members({"xl/worksheets/sheet1.xml": _sheet(rows, "A1:A1000000")})
    assert len(data) < 3 * 1024 * 1024, "small on disk: the size of the upload does not stop it"
    assert "过大" in _refused(data)


def test_rows_past_the_limit_are_refused_by_the_dimension_or_by_counting():
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 5001))
    assert "5,000 行" in _refused(_with_members({"xl/worksheets/sheet1.xml": _sheet(rows, "A1:A5000")}))
    assert "超过 2,000 行" in _refused(_with_members({"xl/worksheets/sheet1.xml": _sheet(rows, "A1")}))


def test_a_huge_shared_strings_table_is_refused():
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
               '2006/main" count="400000" uniqueCount="400000">' + "<si><t>字</t></si>" * 400_000 + "</sst>").encode()
    data = _with_members({}, {"xl/sharedStrings.xml": strings})
    assert "文字" in _refused(data)


def test_formulas_without_results_are_refused_and_saved_results_are_taken():
    book = Workbook()
    book.active["A1"] = 2
    book.active["B1"] = "=A1*5"
    out = io.BytesIO()
    book.save(out)
    message = _refused(out.getvalue())
    assert "公式" in message and "B1" in message
    with zipfile.ZipFile(out) as source:
        sheet = source.read("xl/worksheets/sheet1.xml").replace(b"<f>A1*5</f><v></v>", b"<f>A1*5</f><v>10</v>")
    cached = _with_members({"xl/worksheets/sheet1.xml": sheet})
    assert _grid(cached).get(1, 2) == "10"


def test_a_zip_bomb_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_with_members({}))) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, source.read(item.filename))
        with target.open("xl/media/image1.png", "w") as bomb:
            chunk = bytes(1024 * 1024)
            for _ in range(200):
                bomb.write(chunk)
    assert len(out.getvalue()) < 1024 * 1024
    assert "解压后过大" in _refused(out.getvalue())


# --- Downloads from the real server ------------------------------------------------------------------


@pytest.mark.server
def test_the_workbooks_download_from_the_real_server(tmp_path):
    from app.users import create_user
    from tests.livesrv import Client, LiveServer, build_database

    path = tmp_path / "live.sqlite"
    report_id, _ = build_database(path, editors=1, sections=2)
    conn = database.connect(str(path))
    create_user(conn, "supervisor", "supervisor", PASSWORD, display_name="监管")
    conn.conn.close()
    server = LiveServer(path, tmp_path / "server.log")
    server.start()
    try:
        client = Client(server.base)
        client.login("supervisor", PASSWORD)
        for url, name in ((f"/reports/{report_id}/export.xlsx", "自评表.xlsx"),
                          ("/summary/export.xlsx?year=2024", "汇总.xlsx")):
            with client.opener.open(urllib.request.Request(server.base + url), timeout=30) as response:  # noqa: S310
                assert response.status == 200
                header = response.headers["Content-Disposition"]
                body = response.read()
            assert header.startswith("attachment; filename=\"") and "filename*=UTF-8''" in header
            assert urllib.parse.quote(name) in header and header.isascii()
            book = openpyxl.load_workbook(io.BytesIO(body))
            assert book.sheetnames[0] in ("自评表", "汇总")
    finally:
        server.stop()


def test_the_cli_exports_the_summary_and_imports_a_form(app, runner, tmp_path, db):
    report_id = app.config["SAMPLE_ID"]
    summary = tmp_path / "汇总.xlsx"
    result = runner.invoke(args=["export-summary", "--year", "2024", "-o", str(summary)])
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(summary).sheetnames == ["汇总", "指标明细"]
    exported = tmp_path / "form.xlsx"
    assert runner.invoke(args=["export-report", str(report_id), "--format", "xlsx", "-o", str(exported)]).exit_code == 0
    template = tmp_path / "template.xlsx"
    template.write_bytes(_bureau_template(actual_of_first="一些字"))
    refused = runner.invoke(args=["import-form", str(report_id), str(template), "--yes"])
    assert refused.exit_code == 1 and "F11：" in refused.output
    template.write_bytes(_bureau_template())
    cancelled = runner.invoke(args=["import-form", str(report_id), str(template)], input="n\n")
    assert cancelled.exit_code == 1 and len(load_form(db, report_id).indicators) > 5
    done = runner.invoke(args=["import-form", str(report_id), str(template), "--yes"])
    assert done.exit_code == 0, done.output
    assert len(load_form(db, report_id).indicators) == 5
    back = runner.invoke(args=["import-form", str(report_id), str(exported), "--yes"])
    assert back.exit_code == 0
    assert json.dumps(form_to_json(load_form(db, report_id))) == json.dumps(
        form_to_json(preview(_grid(exported.read_bytes()), Form(), 2024, "").form))
    assert Path(exported).exists()


def test_xml_entities_are_refused():
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
              b'<c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    assert "XML 实体" in _refused(_with_members({"xl/worksheets/sheet1.xml": laughs}))
