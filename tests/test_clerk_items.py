"""Small things a clerk noticed: a report that already exists is linked, hints and 上年数 that fit the row, the budget
weight shown as 分值 with an explicit 修改."""

import re

from app.cloning import clone_report
from app.users import get_user


def test_creating_a_report_that_exists_links_to_it(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    unit = db.execute("SELECT unit_id FROM reports WHERE id = ?", (rid,)).fetchone()[0]
    auth.login("editor")
    again = auth.post("/reports", {"unit_id": str(unit), "year": "2024"}, htmx=False)
    assert again.status_code == 422 and "已存在" in again.text
    assert f'<a href="/reports/{rid}">打开已有的报告</a>' in again.text
    count = db.execute("SELECT count(*) FROM reports").fetchone()[0]
    clone_report(db, get_user(db, 2), rid, 2025)
    twice = auth.post(f"/reports/{rid}/clone", {"year": "2025"}, htmx=False)
    existing = db.execute("SELECT id FROM reports WHERE unit_id = ? AND year = 2025", (unit,)).fetchone()[0]
    assert twice.status_code == 422 and f'href="/reports/{existing}"' in twice.text and "打开已有的报告" in twice.text
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == count + 1


def test_a_qualitative_indicator_is_not_hinted_with_a_number(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    qualitative, quantitative = (db.execute(
        "SELECT id FROM indicators WHERE report_id = ? AND kind = ? ORDER BY position", (rid, kind)).fetchone()[0]
        for kind in ("qualitative", "quantitative"))
    auth.login("editor")
    form = auth.get(f"/reports/{rid}/form/indicators/{qualitative}/edit", htmx=True).text
    assert "如 3294" not in form and 'placeholder="如 全年按计划完成"' in form
    assert 'placeholder="如 3294"' in auth.get(f"/reports/{rid}/form/indicators/{quantitative}/edit", htmx=True).text


def test_last_years_value_keeps_its_unit(app, db, auth):
    new_id = clone_report(db, get_user(db, 2), app.config["SAMPLE_ID"], 2025)
    auth.login("editor")
    page = auth.get(f"/reports/{new_id}").text
    coverage = page.split(">精准康复覆盖率")[1].split("</tr>")[0]
    assert "上年数：98%" in coverage
    assert "上年数：3294人" in page.split(">康复资助审批人数")[1].split("</tr>")[0]


def test_the_budget_weight_reads_as_分值_with_修改(app, auth):
    auth.login("editor")
    page = auth.get(f"/reports/{app.config['SAMPLE_ID']}").text
    total = page.split('id="budget-total"')[1].split("</tbody>")[0]
    weight = r'<span class="weight-label">分值 </span>10\s*<button[^>]*title="修改预算执行的分值"[^>]*>修改</button>'
    assert re.search(weight, total)
