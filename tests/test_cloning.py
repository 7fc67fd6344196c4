"""Next year from last year: outline, text and form copied; 未更新 flags; old years offered for fixing."""

import json

from app.traces import year_references
from app.users import get_user
from app.workflow import perform
from tests.conftest import Auth


def clone(runner, report_id, year="2025") -> tuple[int, str]:
    """Run clone-report; (exit code, last output line)."""
    result = runner.invoke(args=["clone-report", str(report_id), "--year", year])
    return result.exit_code, result.output.strip().splitlines()[-1]


def export(runner, report_id) -> dict:
    """The report as JSON through the CLI."""
    return json.loads(runner.invoke(args=["export-report", str(report_id), "--format", "json"]).output)


def test_clone_copies_outline_and_text_and_prints_the_new_id(runner, app):
    code, last = clone(runner, app.config["SAMPLE_ID"])
    assert code == 0 and last.isdigit()
    old, new = export(runner, app.config["SAMPLE_ID"]), export(runner, last)
    assert new["year"] == 2025 and new["status"] == "draft"
    assert new["title"] == "2025年度广州市荔湾区残疾人联合会 部门整体支出绩效自评表说明"
    assert [(s["number"], s["title"], s["markdown"]) for s in new["sections"]] == [
        (s["number"], s["title"], s["markdown"]) for s in old["sections"]]


def test_form_carries_targets_and_keeps_last_years_actuals_as_prior(runner, app, db, auth):
    _, new_id = clone(runner, app.config["SAMPLE_ID"])
    old, new = export(runner, app.config["SAMPLE_ID"]), export(runner, new_id)
    assert [i["name"] for i in new["form"]["indicators"]] == [i["name"] for i in old["form"]["indicators"]]
    assert [i["target"] for i in new["form"]["indicators"]] == [i["target"] for i in old["form"]["indicators"]]
    assert all(not i["actual"] for i in new["form"]["indicators"])
    prior = db.execute("SELECT prior_actual FROM indicators WHERE report_id = ? AND name = '康复资助审批人数'",
                       (int(new_id),)).fetchone()[0]
    assert prior == "3294"
    auth.login()
    assert "上年数：3294" in auth.get(f"/reports/{new_id}").text


def test_untouched_sections_are_flagged_until_edited(runner, app, db, auth):
    _, new_id = clone(runner, app.config["SAMPLE_ID"])
    auth.login()
    page = auth.get(f"/reports/{new_id}").text
    assert page.count(">未更新</span>") == 9  # every section with text or without subsections
    sid = db.execute("SELECT id FROM sections WHERE report_id = ? AND title = '自评结论'", (int(new_id),)).fetchone()[0]
    saved = auth.post(f"/reports/{new_id}/sections/{sid}", {"markdown": "2025年度自评结论。", "version": "1"})
    assert "未更新" not in saved.text.split('id="outline"')[0]
    assert auth.get(f"/reports/{new_id}").text.count(">未更新</span>") == 8


def test_old_years_are_listed_and_replaced_one_at_a_time(runner, app, db, auth):
    _, new_id = clone(runner, app.config["SAMPLE_ID"])
    sid = db.execute("SELECT id FROM sections WHERE report_id = ? AND title = '自评结论'", (int(new_id),)).fetchone()[0]
    text = db.execute("SELECT markdown FROM sections WHERE id = ?", (sid,)).fetchone()[0]
    refs = year_references(text, 2024)
    assert len(refs) == 4  # 2024年度, 2024 年度, 2024 年 12 月, 2024 年新增
    auth.login()
    page = auth.get(f"/reports/{new_id}").text
    assert f"本部分有 {len(refs)} 处提到上一年度的年份" in page
    response = auth.post(f"/reports/{new_id}/sections/{sid}/replace-year",
                         {"start": str(refs[0].start), "version": "1"})
    assert response.status_code == 200
    after = db.execute("SELECT markdown, version FROM sections WHERE id = ?", (sid,)).fetchone()
    assert after[0].startswith("2025年度，在区委") and after[0].count("2024") == text.count("2024") - 1
    assert after[1] == 2
    stale = auth.post(f"/reports/{new_id}/sections/{sid}/replace-year", {"start": str(refs[1].start), "version": "1"})
    assert stale.status_code == 422
    assert db.execute("SELECT markdown FROM sections WHERE id = ?", (sid,)).fetchone()[0] == after[0]


def test_year_references_recognise_dates_but_not_other_numbers():
    text = "2024年度完成；截至2024-12-30；2024.6启动；编号20241；金额2024万元以内；2024 年"
    assert [r.text for r in year_references(text, 2024)] == ["2024", "2024", "2024", "2024"]


def test_clone_takes_the_latest_edition_not_later_drafts(runner, app, db, auth):
    rid = app.config["SAMPLE_ID"]
    admin = get_user(db, 1)
    for action in ("submit", "pass", "approve"):
        perform(db, rid, admin, action)
    perform(db, rid, admin, "reopen", "补充")
    sid = db.execute("SELECT id FROM sections WHERE report_id = ? AND title = '自评结论'", (rid,)).fetchone()[0]
    auth.login()
    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "重新打开后未审批的修改", "version": "1"})
    _, new_id = clone(runner, rid)
    assert "重新打开后未审批的修改" not in json.dumps(export(runner, new_id), ensure_ascii=False)


def test_clone_refuses_wrong_years_and_other_units(app, runner, client):
    rid = app.config["SAMPLE_ID"]
    for year, message in [("2024", "须晚于2024"), ("2023", "须晚于2024")]:
        result = runner.invoke(args=["clone-report", str(rid), "--year", year])
        assert result.exit_code != 0 and message in result.output
    clone(runner, rid)
    again = runner.invoke(args=["clone-report", str(rid), "--year", "2025"])
    assert again.exit_code != 0 and "已存在" in again.output
    outsider = Auth(client)
    outsider.login("outsider")
    assert outsider.post(f"/reports/{rid}/clone", {"year": "2026"}).status_code == 403


def test_clone_from_the_report_page(app, auth):
    auth.login("editor")
    response = auth.post(f"/reports/{app.config['SAMPLE_ID']}/clone", {"year": "2025"}, htmx=False)
    assert response.status_code == 303
    page = auth.get(response.headers["Location"]).text
    assert "2025年度广州市荔湾区残疾人联合会" in page and "未更新" in page
