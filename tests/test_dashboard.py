"""The dashboard: filters, counts per state, sorting, paging, scope per user."""

from app.db import transaction
from app.importer import parse_upload
from app.reports import create_report
from app.users import get_or_create_unit, get_user
from app.workflow import perform
from tests.conftest import SAMPLE_TEXT, UNIT, Auth


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


def add_many_units(db, count: int = 40) -> list[int]:
    """A district's worth of units (more than a drop-down should hold), one of them with a report."""
    admin = get_user(db, 1)
    ids = [get_or_create_unit(db, f"广州市荔湾区第{n:03d}街道办事处") for n in range(count)]
    ids.append(get_or_create_unit(db, "广州市荔湾区100%_卫生院"))
    create_report(db, admin, ids[-1], 2024, parse_upload(SAMPLE_TEXT))
    return ids


def test_with_many_units_the_home_page_asks_for_part_of_a_name(auth, app, db):
    add_many_units(db)
    auth.login("admin")
    page = auth.get("/").text
    assert '<select name="unit"' not in page and '<select name="unit_id"' not in page
    assert "第039街道办事处" not in page  # no thousand-unit lists sent on every visit
    assert 'name="unit_name"' in page and 'href="/reports/new"' in page
    found = auth.get("/?unit_name=卫生院").text
    rows = found.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 1 and "100%_卫生院" in rows and "全部 1" in found
    assert 'value="卫生院"' in found  # the filter shows what was asked
    assert auth.get("/?unit_name=荔湾区").text.count("<tr>") == 1 + 2  # the header row, the sample and this one
    # % and _ are the person's characters, not wildcards.
    assert "100%_卫生院" in auth.get("/?unit_name=%25_").text
    assert "没有符合条件的报告" in auth.get("/?unit_name=_%25").text


def test_sorting_and_paging_keep_the_unit_name(auth, app, db):
    add_many_units(db)
    auth.login("admin")
    page = auth.get("/?unit_name=残疾人").text
    assert "/?unit_name=%E6%AE%8B%E7%96%BE%E4%BA%BA&amp;sort=year" in page


def test_a_unit_chosen_by_id_shows_its_name_in_the_name_filter(auth, app, db):
    ids = add_many_units(db)
    auth.login("admin")
    page = auth.get(f"/?unit={ids[-1]}").text
    assert 'value="广州市荔湾区100%_卫生院"' in page
    assert page.split("<tbody>")[1].split("</tbody>")[0].count("<tr>") == 1


def test_unit_names_are_suggested_as_one_types(auth, app, db):
    add_many_units(db)
    auth.login("admin")
    options = auth.get("/units/suggest?unit_name=街道", htmx=True).text
    assert options.count("<option") == 20 and 'value="广州市荔湾区第000街道办事处"' in options
    assert auth.get("/units/suggest?unit_name=卫生", htmx=True).text.count("<option") == 1
    assert auth.get("/units/suggest?unit_name=<script>", htmx=True).text.strip() == ""


def test_unit_suggestions_stay_within_the_readers_unit(app, db, client):
    add_many_units(db)
    editor = Auth(client)
    editor.login("editor")
    options = editor.get("/units/suggest?unit_name=广州", htmx=True).text
    assert options.count("<option") == 1 and "残疾人联合会" in options


def test_with_many_units_new_reports_have_their_own_page(auth, app, db):
    add_many_units(db)
    auth.login("admin")
    page = auth.get("/reports/new").text
    # Every unit, none chosen beforehand: a report made for the wrong unit by default helps nobody.
    assert page.count("<option") == 1 + 43 and '<option value="">（请选择单位）</option>' in page
    assert "第039街道办事处" in page and " selected>" not in page
    unit = db.execute("SELECT id FROM units WHERE name LIKE '%第007街道%'").fetchone()[0]
    created = auth.post("/reports", {"unit_id": unit, "year": "2025"}, htmx=False)
    assert created.status_code == 303
    report_id = int(created.headers["Location"].rsplit("/", 1)[1])
    assert db.execute("SELECT unit_id, year FROM reports WHERE id = ?", [report_id]).fetchone() == (unit, 2025)


def test_a_refused_new_report_shows_the_form_again_with_the_reason(auth, app, db):
    auth.login("admin")
    before = db.execute("SELECT count(*) FROM reports").fetchone()[0]
    refused = auth.post("/reports", {"unit_id": "1", "year": "12"}, htmx=False)
    assert refused.status_code == 422
    assert "年度" in refused.text and 'role="alert"' in refused.text
    assert '<option value="1" selected>' in refused.text and 'value="12"' in refused.text
    unchosen = auth.post("/reports", {"unit_id": "", "year": "2024"}, htmx=False)
    assert unchosen.status_code == 422 and "请选择单位" in unchosen.text
    missing = auth.post("/reports", {"unit_id": "999", "year": "2024"}, htmx=False)
    assert missing.status_code == 422 and "所选单位不存在" in missing.text
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == before


def test_only_those_who_may_create_reports_get_the_new_report_page(app, db, client):
    viewer = Auth(client)
    viewer.login("viewer")
    for page in ("/reports/new", "/reports/import"):
        refused = viewer.get(page)
        assert refused.status_code == 403 and "没有新建或导入报告的权限" in refused.text
    home = viewer.get("/").text  # nothing offered that would be refused
    assert "导入报告" not in home and "按标准提纲新建" not in home
    editor = Auth(app.test_client())
    editor.login("editor")
    page = editor.get("/reports/new").text
    assert page.count("<option") == 1 and UNIT in page
    assert "导入报告" in editor.get("/").text and editor.get("/reports/import").status_code == 200


def test_with_few_units_the_home_page_keeps_its_lists(auth, app, db):
    auth.login("admin")
    page = auth.get("/").text
    assert '<select name="unit">' in page and '<select name="unit_id">' in page
    assert 'name="unit_name" type="search"' not in page


def listing(auth: Auth, url: str = "/") -> str:
    """The home page's filter bar and list as kept, after checking it equals one built from scratch."""
    def cut(page: str) -> str:
        return page.split('class="filter-bar"')[1].split('<div class="columns">')[0]

    kept = auth.get(url).text
    auth.client.application.extensions["kept"].clear()
    assert cut(kept) == cut(auth.get(url).text)
    return cut(kept)


def test_the_kept_list_follows_every_change_it_shows(app, auth, db, client):
    rid = app.config["SAMPLE_ID"]
    admin = Auth(app.test_client())
    admin.login("admin")
    auth.login("editor")
    assert "admin姓名" in listing(admin)
    sid = db.execute("SELECT id FROM sections WHERE report_id = ? ORDER BY position LIMIT 1", [rid]).fetchone()[0]
    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "改过的文字", "version": "1"})
    assert "editor姓名" in listing(admin)  # who changed it last

    auth.post(f"/reports/{rid}/submit")
    assert "待审核 1" in listing(admin) and "草稿 0" in listing(admin)
    reviewer = Auth(app.test_client())
    reviewer.login("reviewer")
    reviewer.post(f"/reports/{rid}/return", {"reason": "请补充数据"})
    assert "已退回" in listing(admin) and "已退回" in listing(auth)

    # Changes made outside the site, by a script through the data layer: a unit and a person renamed.
    with transaction(db):
        db.execute("UPDATE units SET name = '荔湾区残联（改名）'"
                   " WHERE id = (SELECT unit_id FROM reports WHERE id = ?)", [rid])
        db.execute("UPDATE users SET display_name = '改名的填报人' WHERE username = 'editor'")
    assert "荔湾区残联（改名）" in listing(admin) and "改名的填报人" in listing(admin)

    create_report(db, get_user(db, 1), get_or_create_unit(db, "广州市荔湾区教育局"), 2031, parse_upload(SAMPLE_TEXT))
    page = listing(admin)
    assert "全部 2" in page and '<option value="2031"' in page  # the new year is one to choose


def test_the_kept_list_is_never_shared_across_scopes(app, auth, db, client):
    add_reports(db)
    admin = Auth(app.test_client())
    admin.login("admin")
    assert "广州市荔湾区教育局" in listing(admin).split("<tbody>")[1]
    outsider = Auth(app.test_client())
    outsider.login("outsider")  # an editor of 教育局
    rows = outsider.get("/").text.split("<tbody>")[1]
    assert "<td>广州市荔湾区教育局</td>" in rows and f"<td>{UNIT}</td>" not in rows
    auth.login("editor")
    rows = auth.get("/").text.split("<tbody>")[1]
    assert f"<td>{UNIT}</td>" in rows and "<td>广州市荔湾区教育局</td>" not in rows


def test_a_new_unit_is_not_made_for_a_report_refused_for_its_year(auth, db):
    auth.login("admin")
    refused = auth.post("/reports", {"unit_name": "广州市荔湾区新设局", "year": "二〇二四"}, htmx=False)
    assert refused.status_code == 422 and 'value="广州市荔湾区新设局"' in refused.text
    assert db.execute("SELECT count(*) FROM units WHERE name = '广州市荔湾区新设局'").fetchone()[0] == 0


def test_a_unit_user_without_a_unit_never_gets_the_admins_kept_list_or_hits(app, db, client):
    admin = Auth(app.test_client())
    admin.login("admin")
    assert f"<td>{UNIT}</td>" in admin.get("/").text and "自评" in admin.get("/search?q=康复").text
    with transaction(db):  # by hand: the site refuses it
        db.execute("UPDATE users SET unit_id = NULL WHERE username = 'viewer'")
    viewer = Auth(client)
    viewer.login("viewer")
    assert f"<td>{UNIT}</td>" not in viewer.get("/").text
    assert "没有找到" in viewer.get("/search?q=康复").text
