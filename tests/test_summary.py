"""The 监管人员 role and the year summary across units: rows, scores, filters, totals, charts, trend, .xlsx."""

import io
import random
import re
from decimal import Decimal

import openpyxl
import pytest

from app import create_app
from app import db as database
from app.charts import bar_chart, line_chart
from app.facts import refresh_all
from app.form_store import form_state, load_form, save_row
from app.reports import get_report
from app.schema import migrate
from app.seedscale import seed_scale
from app.summary import filter_rows, sort_rows, totals, unit_trend, year_summary
from app.users import create_user, get_or_create_unit, get_user
from tests.conftest import PASSWORD, Auth
from tests.passwords import CHEAP_HASH


def _vary_forms(db, seed: int = 7) -> None:
    """Give the seeded forms (the default template, nothing filled in) varied actual values and budgets."""
    rng = random.Random(seed)  # noqa: S311 (test data)
    for row_id, kind, target in db.execute("SELECT id, kind, target FROM indicators").fetchall():
        if kind == "qualitative":
            db.execute("UPDATE indicators SET rating = ?, actual = '已完成' WHERE id = ?",
                       (rng.choice(["达成", "部分达成", "未达成"]), row_id))
        elif target:
            actual = round(float(target) * rng.uniform(0.5, 1.2), 2)
            db.execute("UPDATE indicators SET actual = ?, reason = ? WHERE id = ?",
                       (format(actual, "g"), rng.choice(["", "因故延期"]), row_id))
    for (row_id,) in db.execute("SELECT id FROM budget_lines").fetchall():
        adjusted = rng.randint(100, 5000)
        db.execute("UPDATE budget_lines SET initial = ?, adjusted = ?, executed = ? WHERE id = ?",
                   (f"{adjusted}.00", f"{adjusted}.00", f"{adjusted * rng.uniform(0.4, 1.05):.2f}", row_id))


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """A seed-scale district: 12 units × 2 years, varied forms, plus a unit without any report."""
    path = tmp_path_factory.mktemp("district") / "district.sqlite"
    db = database.connect(str(path))
    migrate(db)
    admin = get_user(db, create_user(db, "admin", "admin", PASSWORD, display_name="管理员", method=CHEAP_HASH))
    seed_scale(db, admin, units=12, years=2, sections=4, last_year=2024, password=PASSWORD)
    _vary_forms(db)
    with database.transaction(db):  # the varied forms were written behind the app's back
        refresh_all(db)
    get_or_create_unit(db, "示范区新设单位<script>")
    create_user(db, "supervisor", "supervisor", PASSWORD, display_name="财政局监管", method=CHEAP_HASH)
    db.conn.close()
    return path


def test_the_summary_of_a_seeded_district_matches_the_scoring_module_unit_by_unit(district):
    db = database.connect(str(district))
    admin = get_user(db, 1)
    rows = year_summary(db, 2024)
    assert len(rows) == db.execute("SELECT count(*) FROM units").fetchone()[0] == 13
    scored = [row for row in rows if row.report_id]
    assert len(scored) == 12
    assert len({row.total for row in scored}) > 3, "varied forms give varied scores"
    for row in scored:
        report = get_report(db, admin, row.report_id)
        score = load_form(db, row.report_id).score()
        checks = form_state(db, report).checks
        assert report["unit_id"] == row.unit_id and report["year"] == 2024
        assert (row.total, row.grade, row.rate, row.budget_score, row.indicator_score) == (
            score.total, score.grade, score.budget.rate, score.budget.score, score.indicator_total)
        assert (row.errors, row.warnings) == (len(checks.errors), len(checks.warnings))
    missing = [row for row in rows if not row.report_id]
    assert [row.unit_name for row in missing] == ["示范区新设单位<script>"]
    assert missing[0].status_label == "未建立"


def test_filters_sorting_and_totals_of_the_summary(district):
    db = database.connect(str(district))
    rows = year_summary(db, 2024)
    scored = [row for row in rows if row.report_id]
    assert filter_rows(rows, status="missing") == [row for row in rows if not row.report_id]
    grade = scored[0].grade
    assert all(row.grade == grade for row in filter_rows(rows, grade=grade))
    assert [row.unit_name for row in filter_rows(rows, name="新设")] == ["示范区新设单位<script>"]
    by_total = sort_rows(rows, "total", descending=True)
    assert [row.total for row in by_total[:-1]] == sorted((row.total for row in scored), reverse=True)
    assert by_total[-1].report_id is None, "units without a report sort last either way"
    found = totals(rows)
    assert found.units == 13 and found.with_report == 12 and found.statuses["missing"] == 1
    assert sum(found.grades.values()) == 12
    mean = sum(row.total for row in scored) / 12
    assert abs(found.average_total - mean) <= 0.005
    assert found.district_rate == (found.executed / found.adjusted).quantize(found.district_rate)


def test_a_units_trend_covers_each_year_it_has_a_report(district):
    db = database.connect(str(district))
    unit_id = year_summary(db, 2024)[0].unit_id
    points = unit_trend(db, unit_id)
    assert [point.year for point in points] == [2023, 2024]
    for point in points:
        assert point.total == load_form(db, point.report_id).score().total


def test_charts_escape_their_labels_and_carry_their_values_as_text():
    svg = str(bar_chart("等级<分布>", [("<b>优</b>", 3), ("良", 0)]))
    assert "<b>" not in svg and "&lt;b&gt;优&lt;/b&gt;" in svg
    assert svg.startswith("<svg") and "<script" not in svg and 'role="img"' in svg
    assert re.search(r">3</text>", svg)
    line = str(line_chart("趋势", [2023, 2024], [("总分", [Decimal("80.5"), None]),
                                               ("执行率", [Decimal(95), Decimal("101.2")])], ("", "%")))
    assert "101.20%" in line and "80.50" in line and "polyline" in line


@pytest.fixture
def district_app(district, tmp_path):
    """The app over a copy of the district."""
    import shutil

    path = tmp_path / "copy.sqlite"
    shutil.copyfile(district, path)
    return create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "test", "LOAD_SAMPLE": False})


def test_the_summary_page_shows_every_unit_charts_and_totals_to_a_supervisor(district_app):
    auth = Auth(district_app.test_client())
    assert auth.login("supervisor").status_code == 303
    home = auth.get("/")
    assert 'href="/summary"' in home.text
    page = auth.get("/summary?year=2024")
    assert page.status_code == 200
    assert page.text.count('class="unit-row') == 13
    assert page.text.count("<svg") == 4 and "<script>" not in page.text.split("</header>", 1)[1]
    assert "示范区新设单位&lt;script&gt;" in page.text and "未建立" in page.text
    for chart in ("等级分布", "总分分布", "预算执行率分布", "填报进度"):
        assert chart in page.text
    filtered = auth.get("/summary?year=2024&status=missing")
    assert filtered.text.count('class="unit-row') == 1
    trend = auth.get(re.search(r'href="(/summary/units/\d+\?year=2024)"', page.text).group(1))
    assert trend.status_code == 200 and "2023" in trend.text and "<svg" in trend.text


def test_the_summary_follows_a_change_to_a_form(district_app):
    auth = Auth(district_app.test_client())
    auth.login("admin")
    db = database.connect(district_app.config["DATABASE"])
    before = {row.report_id: row.total for row in year_summary(db, 2024)}
    auth.get("/summary?year=2024")
    report_id = next(row.report_id for row in year_summary(db, 2024) if row.status == "draft")
    line = load_form(db, report_id).lines[0]
    save_row(db, get_report(db, get_user(db, 1), report_id), get_user(db, 1), "budget", line.id,
             {"source": line.source, "initial": "100", "adjusted": "100", "executed": "0"}, line.version)
    page = auth.get("/summary?year=2024&sort=total&order=asc")
    row = next(row for row in year_summary(db, 2024) if row.report_id == report_id)
    assert row.total != before[report_id]
    assert f'href="/reports/{report_id}"' in page.text
    cells = page.text.split(f'href="/reports/{report_id}"')[0].rsplit('class="unit-row', 1)[1]
    assert f"{row.total:.2f}" in cells


@pytest.mark.parametrize("username", ["editor", "viewer", "reviewer"])
def test_unit_roles_cannot_open_the_summary(client, username):
    auth = Auth(client)
    auth.login(username)
    assert auth.get("/summary").status_code == 403
    assert auth.get("/summary/export.xlsx").status_code == 403
    assert 'href="/summary"' not in auth.get("/").text


def test_the_summary_workbook_has_the_rows_and_every_indicator(district_app):
    auth = Auth(district_app.test_client())
    auth.login("supervisor")
    response = auth.get("/summary/export.xlsx?year=2024")
    assert response.status_code == 200
    assert "filename*=UTF-8''2024" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["汇总", "指标明细"]
    summary, detail = book["汇总"], book["指标明细"]
    assert [cell.value for cell in summary[1]][:6] == ["单位", "状态", "最后修改", "总分", "等级", "预算执行率"]
    assert summary.freeze_panes == "B2" and detail.freeze_panes == "A2"
    assert summary.max_row == 14
    db = database.connect(district_app.config["DATABASE"])
    rows = {row.unit_name: row for row in year_summary(db, 2024)}
    for line in summary.iter_rows(min_row=2):
        row = rows[line[0].value]
        if row.report_id:
            assert isinstance(line[3].value, int | float) and line[3].number_format == "0.00"
            assert round(line[3].value, 2) == float(row.total)
        else:
            assert line[1].value == "未建立" and line[3].value is None
    indicators = db.execute("SELECT count(*) FROM indicators WHERE report_id IN"
                            " (SELECT id FROM reports WHERE year = 2024)").fetchone()[0]
    assert detail.max_row == indicators + 1
    assert summary.column_dimensions["A"].width > 10


def test_a_supervisor_reads_every_unit_comments_and_changes_nothing(app, auth):
    auth.login("supervisor")
    report_id = app.config["SAMPLE_ID"]
    page = auth.get(f"/reports/{report_id}")
    assert page.status_code == 200 and "监管人员" in page.text
    assert "提交审核" not in page.text and "套用默认模板" not in page.text and "导入 Excel" not in page.text
    db = database.connect(app.config["DATABASE"])
    section_id, version = db.execute("SELECT id, version FROM sections WHERE report_id = ? LIMIT 1",
                                     (report_id,)).fetchone()
    assert auth.post(f"/reports/{report_id}/sections/{section_id}", {"markdown": "改", "version": version}
                     ).status_code == 403
    assert auth.post(f"/reports/{report_id}/submit", {}).status_code == 403
    assert auth.post(f"/reports/{report_id}/comments", {"body": "请说明执行率偏低的原因。"}).status_code == 200
    assert auth.get("/search?q=康复").status_code == 200


@pytest.mark.parametrize("documented", ["`export-summary --year", "`import-form ID",
                                        "--format json\\|md\\|pdf\\|docx\\|xlsx", "`supervisor`", "/summary?year="])
def test_the_readme_documents_the_summary_and_the_spreadsheets(documented):
    from pathlib import Path

    assert documented in (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
