"""The dashboard: filters, counts per state, sorting, paging, scope per user."""

from app.importer import parse_upload
from app.reports import create_report
from app.users import get_or_create_unit, get_user
from app.workflow import perform
from tests.conftest import SAMPLE_TEXT, Auth


def add_reports(db):
    """Two more years for the sample unit and one report of another unit."""
    admin = get_user(db, 1)
    unit = get_or_create_unit(db, "广州市荔湾区残疾人联合会")
    other = get_or_create_unit(db, "广州市荔湾区教育局")
    ids = [create_report(db, admin, unit, year, parse_upload(SAMPLE_TEXT)) for year in (2022, 2023)]
    ids.append(create_report(db, admin, other, 2024, parse_upload(SAMPLE_TEXT)))
    perform(db, ids[0], admin, "submit")
    return ids


def test_counts_per_state_and_status_filter(auth, app, db):
    add_reports(db)
    auth.login("admin")
    page = auth.get("/").text
    assert "全部 4" in page and "草稿 3" in page and "待审核 1" in page
    filtered = auth.get("/?status=submitted").text
    assert filtered.count('href="/reports/') - filtered.count('href="/reports/import') == 1
    assert "2022" in filtered


def test_year_and_unit_filters(auth, app, db):
    add_reports(db)
    auth.login("admin")
    unit_id = db.execute("SELECT id FROM units WHERE name = '广州市荔湾区教育局'").fetchone()[0]
    page = auth.get(f"/?year=2024&unit={unit_id}").text
    rows = page.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 1 and "广州市荔湾区教育局" in rows


def test_unit_users_see_only_their_unit(app, db, client):
    add_reports(db)
    editor = Auth(client)
    editor.login("editor")
    page = editor.get("/").text
    assert "广州市荔湾区教育局" not in page.split("<tbody>")[1]
    assert "全部 3" in page
    other_unit = db.execute("SELECT id FROM units WHERE name = '广州市荔湾区教育局'").fetchone()[0]
    forced = editor.get(f"/?unit={other_unit}").text
    assert "没有符合条件的报告" in forced


def test_sorting_by_year_and_bad_parameters_are_ignored(auth, app, db):
    add_reports(db)
    auth.login("admin")
    page = auth.get("/?sort=year").text
    body = page.split("<tbody>")[1]
    assert body.index("2024") < body.index("2023") < body.index("2022")
    for query in ["?sort=drop%20table", "?page=-3", "?year=abc", "?unit=1e9", "?status=<x>", "?page=99999"]:
        assert auth.get("/" + query).status_code == 200


def test_paging(auth, app, db, monkeypatch):
    from app import dashboard

    add_reports(db)
    monkeypatch.setattr(dashboard, "PAGE_SIZE", 2)
    monkeypatch.setattr("app.views.main.PAGE_SIZE", 2)
    auth.login("admin")
    first = auth.get("/").text
    assert "第 1 / 2 页，共 4 份" in first and "下一页" in first
    second = auth.get("/?page=2").text
    assert "上一页" in second and second.split("<tbody>")[1].count("<tr>") == 2
