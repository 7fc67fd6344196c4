"""The 自评表 over HTTP: rows edited in place with out-of-band totals, conflicts, refusals, checks, editions."""

import json
import re

import pytest

from app.editions import get_edition
from app.importer import parse_upload
from app.reports import create_report
from app.users import get_user
from app.workflow import perform
from tests.conftest import Auth
from tests.test_workflow import move_to, snapshot

FORM_TABLES = ("form_headers", "goals", "scoring_rules", "budget_lines", "indicators")


def indicator(db, name: str) -> dict:
    """The stored row of the sample's indicator with this name."""
    return next(db.query("SELECT * FROM indicators WHERE name = ? AND report_id = 1", (name,)))


def line(db, source: str) -> dict:
    """The stored row of the sample's budget line for this fund source."""
    return next(db.query("SELECT * FROM budget_lines WHERE source = ? AND report_id = 1", (source,)))


def fields(row: dict, **changes) -> dict:
    """An indicator's edit form as the browser would send it, with some fields changed."""
    data = {name: row[name] or "" for name in ("level1", "level2", "name", "kind", "direction", "unit", "target",
                                                "actual", "rating", "weight", "override_score", "override_reason",
                                                "reason")}
    data["version"] = str(row["version"])
    data.update(changes)
    return data


def form_rows(db) -> dict:
    """Every row of the form tables, to prove a refused request changed nothing."""
    return {table: list(db.query(f"SELECT * FROM {table} ORDER BY rowid")) for table in FORM_TABLES}  # noqa: S608


def oob(html: str, element_id: str) -> str:
    """The out-of-band element with this id in a response, up to the next one ("" when absent)."""
    match = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*hx-swap-oob="true".*?(?=</template>|$)', html, re.S)
    return match.group(0) if match else ""


def test_report_page_shows_the_form_score_and_checks(auth):
    auth.login()
    page = auth.get("/reports/1").text
    badge = page[page.index('id="score-badge"'):][:300]
    assert "98.78" in badge and "优" in badge
    assert 'id="form"' in page and "预算资金执行情况" in page and "绩效指标完成情况" in page
    assert 'id="checks"' in page and "提交前检查" in page
    row = page[page.index(f'id="ind-{1}"'):][:2000]
    assert "康复资助审批人数" in row and "≥3000人" in row and "3294人" in row and "10.00" in row
    assert "97.15%" in page and "9.72" in page and "2162.14" in page
    assert 'href="#form"' in page  # the outline and the badge lead to it


def test_changing_an_actual_value_rescores_the_row_total_grade_and_checks(auth, db):
    auth.login()
    row = indicator(db, "康复资助审批人数")
    response = auth.post(f"/reports/1/form/indicators/{row['id']}", fields(row, actual="2,700人"))
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="ind-{row["id"]}"')
    assert '<b>9.00</b>' in response.text.split("</tr>")[0]
    assert "97.78" in oob(response.text, "score-badge") and "优" in oob(response.text, "score-badge")
    assert "97.78" in oob(response.text, "form-total")
    assert "康复资助审批人数”未完成年度指标值" in oob(response.text, "checks")
    stored = indicator(db, "康复资助审批人数")
    assert stored["actual"] == "2700" and stored["version"] == row["version"] + 1
    audit = db.execute("SELECT detail FROM audit_log WHERE action = 'form.indicators.save'").fetchone()[0]
    assert json.loads(audit)["changes"] == {"actual": ["3294", "2700"]}


def test_a_grade_change_shows_in_the_badge(auth, db):
    auth.login()
    row = indicator(db, "服务对象满意度")
    response = auth.post(f"/reports/1/form/indicators/{row['id']}",
                         fields(row, actual="0", reason="调查未开展"))
    assert "88.78" in oob(response.text, "score-badge") and "良" in oob(response.text, "score-badge")


def test_a_stale_row_gets_409_and_nothing_is_overwritten(auth, db):
    auth.login()
    row = indicator(db, "新增残疾人就业人数")
    assert auth.post(f"/reports/1/form/indicators/{row['id']}", fields(row, actual="1250")).status_code == 200
    stale = auth.post(f"/reports/1/form/indicators/{row['id']}", fields(row, actual="1300"))
    assert stale.status_code == 409
    assert "此行已被他人修改" in stale.text and "未保存" in stale.text
    assert "1250" in stale.text and "1300" in stale.text  # theirs and mine, side by side
    assert f'name="version" value="{row["version"] + 1}"' in stale.text  # saving again is a deliberate choice
    assert indicator(db, "新增残疾人就业人数")["actual"] == "1250"


@pytest.mark.parametrize("change, field, message", [
    ({"actual": "abc"}, "actual", "实际完成值须为数字"),
    ({"actual": "NaN"}, "actual", "须为数字"),
    ({"target": "98%"}, "target", "不能填写百分数"),
    ({"weight": "-5"}, "weight", "分值不能为负数"),
    ({"weight": ""}, "weight", "请填写分值"),
    ({"name": " "}, "name", "请填写三级指标名称"),
    ({"override_score": "8"}, "override_reason", "须写明调整理由"),
    ({"override_score": "11", "override_reason": "x"}, "override_score", "不能超过分值 10"),
])
def test_invalid_input_is_422_beside_the_field_and_stores_nothing(auth, db, change, field, message):
    auth.login()
    row = indicator(db, "康复资助审批人数")
    before = form_rows(db)
    response = auth.post(f"/reports/1/form/indicators/{row['id']}", fields(row, **change))
    assert response.status_code == 422
    slot = re.search(rf'id="ind-{row["id"]}-err-{field}"[^>]*>([^<]*)<', response.text).group(1)
    assert message in slot
    assert 'aria-invalid="true"' in response.text
    assert form_rows(db) == before


def test_a_budget_line_change_updates_rate_and_execution_score(auth, db):
    auth.login()
    row = line(db, "财政拨款")
    response = auth.post(f"/reports/1/form/budget/{row['id']}",
                         {"source": "财政拨款", "initial": "2100", "adjusted": "2162.14",
                          "executed": "１，６４３．２６", "version": str(row["version"])})
    assert response.status_code == 200
    total = oob(response.text, "budget-total")
    assert "76.00%" in total and "7.60" in total and "1643.26" in total
    assert line(db, "财政拨款")["executed"] == "1643.26"


def test_money_with_three_decimals_is_refused(auth, db):
    auth.login()
    row = line(db, "财政拨款")
    before = form_rows(db)
    response = auth.post(f"/reports/1/form/budget/{row['id']}",
                         {"source": "财政拨款", "initial": "2100", "adjusted": "2162.145", "executed": "-1",
                          "version": str(row["version"])})
    assert response.status_code == 422
    assert "最多保留两位小数" in response.text and "全年执行数不能为负数" in response.text
    assert form_rows(db) == before


@pytest.mark.parametrize("username", ["viewer", "reviewer", "approver", "outsider"])
def test_only_the_units_editors_may_change_the_form(auth, db, username):
    auth.login(username)
    row = indicator(db, "康复资助审批人数")
    before = form_rows(db)
    for url, data in [
        (f"/reports/1/form/indicators/{row['id']}", fields(row, actual="1")),
        ("/reports/1/form/indicators", fields(row)),
        (f"/reports/1/form/indicators/{row['id']}/delete", {"version": str(row["version"])}),
        (f"/reports/1/form/indicators/{row['id']}/move", {"direction": "down"}),
        ("/reports/1/form/header", {"contact_name": "x", "version": "1"}),
        ("/reports/1/form/goals", {"target": "x", "version": "1"}),
        ("/reports/1/form/budget-weight", {"budget_weight": "20", "version": "1"}),
        ("/reports/1/form/indicators/preview", fields(row)),
    ]:
        assert auth.post(url, data).status_code == 403, url
    assert auth.get(f"/reports/1/form/indicators/{row['id']}/edit", htmx=True).status_code == 403
    assert form_rows(db) == before


def test_read_only_users_see_the_form_without_edit_buttons(auth):
    auth.login("viewer")
    page = auth.get("/reports/1").text
    form = page[page.index('id="form"'):]
    assert "98.78" in form and "编辑表头" not in form and "添加指标" not in form


def test_a_submitted_report_refuses_form_changes(auth, db):
    move_to(db, 1, "submitted")
    auth.login("editor")
    row = indicator(db, "康复资助审批人数")
    response = auth.post(f"/reports/1/form/indicators/{row['id']}", fields(row, actual="1"))
    assert response.status_code == 403 and "不能再修改" in response.text
    assert indicator(db, "康复资助审批人数")["actual"] == "3294"


def test_submit_is_refused_while_the_checks_find_errors(auth, db):
    auth.login()
    row = indicator(db, "康复资助审批人数")
    auth.post(f"/reports/1/form/indicators/{row['id']}", fields(row, weight="15"))
    before = snapshot(db)
    response = auth.post("/reports/1/submit", {})
    assert response.status_code == 409
    assert "提交前检查发现 1 个错误" in response.text and "分值合计为 105 分" in response.text
    assert response.headers["HX-Retarget"] == "#messages"
    assert snapshot(db) == before
    row = indicator(db, "康复资助审批人数")
    auth.post(f"/reports/1/form/indicators/{row['id']}", fields(row, weight="10"))
    assert auth.post("/reports/1/submit", {}).status_code == 200


def test_warnings_do_not_block_submitting(auth, db):
    auth.login()
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    auth.post(f"/reports/1/sections/{sid}", {"markdown": "2023年度自评得分95分。", "version": "1"})
    page = auth.get("/reports/1").text
    assert "写的得分为 95 分" in page and "“（二）自评结论”中出现“2023年”" in page
    assert auth.post("/reports/1/submit", {}).status_code == 200


def test_saving_a_section_refreshes_the_checks(auth, db):
    auth.login()
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    response = auth.post(f"/reports/1/sections/{sid}", {"markdown": "等级为“良”。", "version": "1"})
    assert "写的等级为“良”，按自评表计算为“优”" in oob(response.text, "checks")


def test_adding_inserting_moving_and_deleting_rows(auth, db):
    auth.login()
    anchor = indicator(db, "康复资助审批人数")
    blank = auth.get(f"/reports/1/form/indicators/new?after={anchor['id']}", htmx=True)
    assert blank.status_code == 200 and 'value="产出指标"' in blank.text  # the row above's categories
    added = auth.post("/reports/1/form/indicators", {
        "level1": "履职效能", "level2": "产出指标", "name": "上门评残服务人数", "kind": "quantitative",
        "direction": ">=", "unit": "人", "target": "150", "actual": "156", "weight": "0",
        "after": str(anchor["id"]), "key": "ind-new-ab12"})
    assert added.status_code == 200 and "上门评残服务人数" in added.text
    names = [r["name"] for r in db.query("SELECT name FROM indicators WHERE report_id = 1 ORDER BY position")]
    assert names[:3] == ["康复资助审批人数", "上门评残服务人数", "辅具适配服务人数"]
    new = indicator(db, "上门评残服务人数")
    moved = auth.post(f"/reports/1/form/indicators/{new['id']}/move", {"direction": "up"})
    assert moved.status_code == 200 and moved.text.startswith('<tbody id="indicator-rows">')
    names = [r["name"] for r in db.query("SELECT name FROM indicators WHERE report_id = 1 ORDER BY position")]
    assert names[:2] == ["上门评残服务人数", "康复资助审批人数"]
    assert auth.post(f"/reports/1/form/indicators/{new['id']}/move", {"direction": "up"}).status_code == 422
    stale = auth.post(f"/reports/1/form/indicators/{new['id']}/delete", {"version": "0"})
    assert stale.status_code == 409 and indicator(db, "上门评残服务人数")
    deleted = auth.post(f"/reports/1/form/indicators/{new['id']}/delete", {"version": str(new["version"])})
    assert deleted.status_code == 200 and "98.78" in oob(deleted.text, "score-badge")
    assert not list(db.query("SELECT 1 FROM indicators WHERE name = '上门评残服务人数'"))
    detail = json.loads(db.execute("SELECT detail FROM audit_log WHERE action = 'form.indicators.delete'")
                        .fetchone()[0])
    assert detail["values"]["actual"] == "156"  # what was deleted stays on record


def test_a_refused_new_row_comes_back_with_its_messages(auth, db):
    auth.login()
    before = form_rows(db)
    response = auth.post("/reports/1/form/budget", {"source": "", "initial": "abc", "key": "line-new-1f"})
    assert response.status_code == 422
    assert 'id="line-new-1f"' in response.text and "请填写资金来源" in response.text
    assert form_rows(db) == before


def test_preview_scores_while_typing_and_stores_nothing(auth, db):
    auth.login()
    row = indicator(db, "结转结余率")
    before = form_rows(db)
    data = fields(row, actual="4", key=f"ind-{row['id']}", row_id=str(row["id"]))
    response = auth.post("/reports/1/form/indicators/preview", data)
    assert response.status_code == 200
    assert "本行得分 <b>2.00</b>" in response.text and "保存后总分 <b>97.58</b>" in response.text
    bad = auth.post("/reports/1/form/indicators/preview", {**data, "actual": "四"})
    assert "须为数字" in oob(bad.text, f"ind-{row['id']}-err-actual") and "有 1 处需要修改" in bad.text
    assert form_rows(db) == before


def test_header_goals_and_execution_weight(auth, db):
    auth.login()
    assert auth.post("/reports/1/form/header", {"contact_name": "李四", "contact_phone": "020-8888 6666",
                                                 "filled_on": "2025年3月20日", "version": "1"}).status_code == 200
    header = next(db.query("SELECT * FROM form_headers WHERE report_id = 1"))
    assert (header["contact_name"], header["filled_on"], header["version"]) == ("李四", "2025-03-20", 2)
    stale = auth.post("/reports/1/form/header", {"contact_name": "王五", "version": "1"})
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    bad = auth.post("/reports/1/form/header", {"contact_phone": "电话号码", "version": "2"})
    assert bad.status_code == 422 and "联系电话只能包含数字" in bad.text
    goals = auth.post("/reports/1/form/goals", {"target": "目标", "actual": "完成", "unmet_reason": "无",
                                                "version": "1"})
    assert goals.status_code == 200 and "目标" in goals.text
    weight = auth.post("/reports/1/form/budget-weight", {"budget_weight": "20", "version": "1"})
    assert weight.status_code == 200 and weight.text.lstrip().startswith('<tbody id="budget-total"')
    assert "分值合计为 110 分" in oob(weight.text, "checks")
    assert auth.post("/reports/1/form/budget-weight", {"budget_weight": "x", "version": "2"}).status_code == 422


def test_only_admins_change_the_scoring_rules(auth, db, client, app):
    auth.login("editor")
    page = auth.get("/reports/1/form/rules")
    assert page.status_code == 200 and "部分达成" in page.text and 'name="coef_达成"' not in page.text
    values = {"coef_达成": "100", "coef_部分达成": "50", "coef_未达成": "0", "grade_优": "85", "grade_良": "75",
              "grade_中": "60", "overachievement": "50", "version": "1"}
    assert auth.post("/reports/1/form/rules", values, htmx=False).status_code == 403
    admin = Auth(app.test_client())
    admin.login("admin")
    bad = admin.post("/reports/1/form/rules", {**values, "grade_良": "90"}, htmx=False)
    assert bad.status_code == 422 and "从高到低" in bad.text
    assert admin.post("/reports/1/form/rules", values, htmx=False).status_code == 303
    rules = json.loads(db.execute("SELECT rules FROM scoring_rules WHERE report_id = 1").fetchone()[0])
    assert rules["qualitative"]["部分达成"] == "0.5" and rules["grades"][0] == {"grade": "优", "min": "85"}


def test_without_htmx_changes_redirect_to_the_form(auth, db):
    auth.login()
    row = indicator(db, "康复资助审批人数")
    response = auth.post(f"/reports/1/form/indicators/{row['id']}", fields(row, actual="3300"), htmx=False)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#ind-{row['id']}")


def test_posts_without_csrf_token_change_nothing(client, auth, db):
    auth.login()
    row = indicator(db, "康复资助审批人数")
    before = form_rows(db)
    response = client.post(f"/reports/1/form/indicators/{row['id']}", data=fields(row, actual="1"),
                           headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert form_rows(db) == before


def test_new_reports_start_from_the_default_template_and_imports_can_apply_it(auth, db):
    auth.login()
    auth.post("/reports", {"unit_id": "1", "year": "2030"}, htmx=False)
    new_id = db.execute("SELECT id FROM reports WHERE year = 2030").fetchone()[0]
    assert db.execute("SELECT count(*) FROM indicators WHERE report_id = ?", (new_id,)).fetchone()[0] == 12
    page = auth.get(f"/reports/{new_id}").text
    assert "0.00" in page[page.index('id="score-badge"'):][:200] and "套用默认模板" not in page
    imported = create_report(db, get_user(db, 2), 1, 2029, parse_upload("# 说明\n\n一、绩效自评情况\n\n正文"),
                             how="导入")
    assert "套用默认模板" in auth.get(f"/reports/{imported}").text
    assert auth.post(f"/reports/{imported}/form/template", {}).status_code == 200
    assert db.execute("SELECT count(*) FROM indicators WHERE report_id = ?", (imported,)).fetchone()[0] == 12
    assert auth.post(f"/reports/{imported}/form/template", {}).status_code == 422


def test_placeholders_show_live_values_and_follow_changes(auth, db):
    auth.login()
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    saved = auth.post(f"/reports/1/sections/{sid}",
                      {"markdown": "自评得分{{总分}}分，等级为“{{等级}}”，执行率{{执行率}}。", "version": "1"})
    assert '<span class="ph ph-total" title="取自自评表，随表更新">98.78</span>' in saved.text
    assert "97.15%" in saved.text and "{{" not in saved.text.split("</section>")[0]
    stored = next(db.query("SELECT markdown, html FROM sections WHERE id = ?", (sid,)))
    assert "{{总分}}" in stored["markdown"] and "{{总分}}" in stored["html"]  # the cache keeps the placeholder
    row = indicator(db, "康复资助审批人数")
    changed = auth.post(f"/reports/1/form/indicators/{row['id']}", fields(row, actual="2700", reason="需求下降"))
    assert '<span hx-swap-oob="innerHTML:.ph-total">97.78</span>' in changed.text
    preview = auth.post("/reports/1/preview", {"markdown": "得分{{总分}}"})
    assert "97.78" in preview.text
    assert "写的得分" not in auth.get("/reports/1").text  # a placeholder always agrees with the table


def test_approval_freezes_the_form_score_and_filled_placeholders(auth, db):
    auth.login()
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    auth.post(f"/reports/1/sections/{sid}", {"markdown": "自评得分{{总分}}分。", "version": "1"})
    move_to(db, 1, "approved")
    edition = get_edition(db, 1, 1)
    assert edition["content"]["score"] == {"budget": "9.72", "indicators": "89.06", "total": "98.78", "grade": "优"}
    assert edition["content"]["form"]["indicators"][0]["name"] == "康复资助审批人数"
    assert "自评得分{{总分}}分" in json.dumps(edition["content"], ensure_ascii=False)
    assert "自评得分<span" in edition["html"] and ">98.78</span>分" in edition["html"]
    assert 'class="form-table form-indicators wide"' in edition["html"]
    perform(db, 1, get_user(db, 1), "reopen", "补充")
    auth.post(f"/reports/1/form/budget/{line(db, '财政拨款')['id']}",
              {"source": "财政拨款", "adjusted": "100", "executed": "50", "version": "1"})
    assert get_edition(db, 1, 1)["html"] == edition["html"]  # the edition does not follow


def test_json_export_and_import_round_trip_the_form(runner, tmp_path):
    exported = tmp_path / "report.json"
    runner.invoke(args=["export-report", "1", "--format", "json", "-o", str(exported)])
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert data["score"] == {"budget": "9.72", "indicators": "89.06", "total": "98.78", "grade": "优"}
    data["score"] = {"total": "100.00", "grade": "优"}  # computed fields in the file are ignored
    data["form"]["indicators"][0]["score"] = "0.00"
    exported.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["import-report", str(exported), "--unit", "测试单位", "--year", "2023"])
    new_id = result.output.strip().splitlines()[-1]
    again = json.loads(runner.invoke(args=["export-report", new_id, "--format", "json"]).output)
    original = json.loads(runner.invoke(args=["export-report", "1", "--format", "json"]).output)
    assert again["form"] == original["form"] and again["score"] == original["score"]


def test_importing_a_json_form_with_bad_figures_is_refused(runner, tmp_path):
    exported = tmp_path / "report.json"
    runner.invoke(args=["export-report", "1", "--format", "json", "-o", str(exported)])
    data = json.loads(exported.read_text(encoding="utf-8"))
    data["form"]["budget"]["lines"][0]["executed"] = "-5"
    exported.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["import-report", str(exported), "--unit", "测试单位", "--year", "2023"])
    assert result.exit_code != 0 and "预算资金第 1 行：全年执行数不能为负数" in result.output


def test_a_next_year_copy_keeps_rows_weights_and_targets_but_not_this_years_figures(db):
    from app.db import transaction
    from app.form_store import copy_for_next_year, load_form

    target = create_report(db, get_user(db, 1), 1, 2025, parse_upload("# 说明\n\n一、绩效自评情况"), how="复制")
    with transaction(db):
        copy_for_next_year(db, 1, target, 1)
    old, new = load_form(db, 1), load_form(db, target)
    assert [(i.name, i.target, i.weight) for i in new.indicators] == [(i.name, i.target, i.weight)
                                                                      for i in old.indicators]
    assert all(not i.actual and i.rating is None and not i.reason for i in new.indicators)
    assert [line.source for line in new.lines] == ["财政拨款", "其他资金"] and new.lines[0].executed is None
    assert new.score().weight_total == 100 and new.header.contact_name == "陈晓敏" and not new.goals.actual
