"""The report page keeps rendered sections between requests: it must never show an outdated one."""

import re

import pytest

from app.schema import SHOWN_ON_REPORT_PAGE
from app.users import change_role, update_unit
from app.views.fragments import CSRF_MARK, FragmentCache, outline_cache, report_pages, sections_cache
from tests.conftest import Auth
from tests.test_form_http import fields, indicator

TOKEN = re.compile(r'(name="csrf_token" value="|csrf-token" content=")[^"]+')


def page(auth: Auth, report_id: int) -> str:
    """The report page as kept fragments make it, after checking it equals one rendered from scratch."""
    kept = auth.get(f"/reports/{report_id}").text
    for cache in (report_pages, sections_cache, outline_cache):
        cache.clear()
    fresh = auth.get(f"/reports/{report_id}").text
    assert TOKEN.sub(r"\1…", kept) == TOKEN.sub(r"\1…", fresh)
    return kept


@pytest.fixture
def reviewer(app):
    """A second browser, logged in as the unit's reviewer."""
    other = Auth(app.test_client())
    other.login("reviewer")
    return other


def test_every_change_shows_on_a_page_built_from_kept_sections(auth, reviewer, app, db):
    rid = app.config["SAMPLE_ID"]
    auth.login("editor")
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    page(auth, rid), page(reviewer, rid)
    admin = Auth(app.test_client())
    admin.login("admin")  # comments like the reviewer, and may also edit
    assert f'hx-get="/reports/{rid}/sections/{sid}/edit"' in page(admin, rid)

    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "自评得分{{总分}}分，新写的结论。", "version": "1"})
    assert "新写的结论" in page(reviewer, rid) and ">98.78</span>分" in page(auth, rid)

    row = indicator(db, "康复资助审批人数")  # the score in the text follows the form
    auth.post(f"/reports/{rid}/form/indicators/{row['id']}", fields(row, actual="2700", reason="需求下降"))
    assert ">97.78</span>分" in page(auth, rid)

    before = page(auth, rid)
    auth.post(f"/reports/{rid}/sections/{sid}/move", {"direction": "up"})  # numbers in the outline change
    after = page(auth, rid)
    assert "新写的结论" in after and after.split('id="outline"')[1] != before.split('id="outline"')[1]

    reviewer.post(f"/reports/{rid}/comments", {"body": "请补充数据来源", "section_id": str(sid)})
    assert "请补充数据来源" in page(auth, rid)

    change_role(db, 2, "viewer", db.execute("SELECT unit_id FROM users WHERE id = 2").fetchone()[0], actor_id=1)
    assert f'hx-get="/reports/{rid}/sections/{sid}/edit"' not in page(auth, rid)  # no longer may edit


def test_each_reader_gets_their_own_csrf_token_in_kept_sections(reviewer, app):
    rid = app.config["SAMPLE_ID"]
    first = reviewer.get(f"/reports/{rid}").text
    second = reviewer.get(f"/reports/{rid}").text
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', second))
    assert CSRF_MARK not in first + second
    assert len(tokens) == 1 and tokens == {re.search(r'csrf-token" content="([^"]+)"', second).group(1)}


def test_two_sessions_of_one_person_each_get_their_own_token_in_the_kept_page(app):
    rid = app.config["SAMPLE_ID"]
    office, home = Auth(app.test_client()), Auth(app.test_client())
    office.login("reviewer"), home.login("reviewer")
    pages = [office.get(f"/reports/{rid}").text, home.get(f"/reports/{rid}").text]  # the second from the kept block
    tokens = [set(re.findall(r'name="csrf_token" value="([^"]+)"', page)) for page in pages]
    assert all(len(found) == 1 for found in tokens) and tokens[0] != tokens[1]
    comment = home.client.post(f"/reports/{rid}/comments", data={"body": "在家里提的意见", "section_id": "",
                                                                  "csrf_token": tokens[1].pop()})
    assert comment.status_code in (200, 303) and "在家里提的意见" in office.get(f"/reports/{rid}").text


def test_readers_with_other_rights_never_get_each_others_kept_page(app, auth):
    rid = app.config["SAMPLE_ID"]
    auth.login("editor")
    assert "编辑标题和前言" in auth.get(f"/reports/{rid}").text
    viewer, reviewer = Auth(app.test_client()), Auth(app.test_client())
    viewer.login("viewer"), reviewer.login("reviewer")
    seen = viewer.get(f"/reports/{rid}").text
    assert "编辑标题和前言" not in seen and "提意见" not in seen
    assert "提意见" in reviewer.get(f"/reports/{rid}").text


def test_the_kept_page_follows_changes_made_outside_the_site(app, auth, db):
    rid = app.config["SAMPLE_ID"]
    auth.login("editor")
    unit_id = db.execute("SELECT unit_id FROM reports WHERE id = ?", (rid,)).fetchone()[0]
    assert "荔湾区残疾人联合会" in auth.get(f"/reports/{rid}").text
    update_unit(db, unit_id, "广州市荔湾区残联（更名后）", actor_id=1)
    assert "› 广州市荔湾区残联（更名后） ›" in auth.get(f"/reports/{rid}").text
    # A script or the command line writing straight into the database: the triggers count it too.
    db.execute("UPDATE users SET display_name = '李会计' WHERE id = (SELECT updated_by FROM reports WHERE id = ?)",
               (rid,))
    assert "（李会计）" in auth.get(f"/reports/{rid}").text
    db.execute("UPDATE goals SET target = '脚本写入的总体目标' WHERE report_id = ?", (rid,))
    assert "脚本写入的总体目标" in auth.get(f"/reports/{rid}").text


def test_every_table_the_report_page_shows_counts_its_changes(memory_db):
    tables = [name for (name,) in memory_db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    with_report_id = {table for table in tables
                      if any(column[1] == "report_id" for column in memory_db.execute(f"PRAGMA table_info({table})"))}
    # Not on the report page: a change to these must not (and need not) throw kept pages away.
    assert with_report_id - set(SHOWN_ON_REPORT_PAGE) == {"audit_log", "shares", "search_index"}
    triggers = {name for (name,) in memory_db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    for table in SHOWN_ON_REPORT_PAGE:
        assert {f"{table}_{event}_changes_report" for event in ("insert", "update", "delete")} <= triggers


def test_the_kept_pages_are_bounded_by_their_size():
    cache = FragmentCache(10, max_weight=10)
    for key in range(4):
        cache.put(key, "四个字节" if key else "x")
    assert cache.get(0) is None and cache.get(1) is None and cache.get(3) == "四个字节"
    cache.put(4, "太长了，放不下的一大段文字")  # alone over the bound: kept (it is what this reader needs)
    assert cache.get(4) and cache.get(3) is None


def test_the_kept_sections_are_bounded():
    cache = FragmentCache(3)
    for key in range(5):
        cache.put(key, f"<p>{key}</p>")
    assert cache.get(0) is None and cache.get(1) is None and cache.get(4) == "<p>4</p>"
    cache.get(2)
    cache.put(5, "<p>5</p>")  # 3 was used least recently
    assert cache.get(3) is None and cache.get(2) == "<p>2</p>"


def test_the_unit_choice_marks_the_chosen_unit_and_follows_new_units(app, auth, db):
    from app.users import get_or_create_unit

    auth.login("admin")
    unit = db.execute("SELECT id FROM units WHERE name = '广州市荔湾区教育局'").fetchone()[0]
    page = auth.get(f"/?unit={unit}").text
    assert f'<option value="{unit}" selected>广州市荔湾区教育局</option>' in page
    assert page.count(" selected>") == 1
    new = get_or_create_unit(db, "新设的<单位>")
    page = auth.get("/").text
    assert f'<option value="{new}">新设的&lt;单位&gt;</option>' in page and " selected>" not in page


@pytest.mark.parametrize("sent", ["abc", "１", "1 OR 1=1", "-1", "99999999999999999999", '"><script>'])
def test_a_unit_choice_sent_back_with_anything_is_shown_without_a_fault(auth, sent):
    auth.login("admin")
    for form in ("/reports", "/reports/import"):
        response = auth.post(form, {"unit_id": sent, "year": "abc"}, htmx=False)
        # Refused with the form shown again, none of the units marked as chosen.
        assert response.status_code == 422 and 'name="unit_id"' in response.text
        assert " selected>" not in response.text


def test_the_unit_choices_follow_a_renamed_or_removed_unit(app, auth, db):
    from app.users import get_or_create_unit

    auth.login("admin")
    unit = get_or_create_unit(db, "待撤销的单位")
    assert "待撤销的单位" in auth.get("/").text
    update_unit(db, unit, "改名后的单位", actor_id=1)
    page = auth.get("/").text
    assert f'<option value="{unit}">改名后的单位</option>' in page and "待撤销的单位" not in page
    db.execute("DELETE FROM units WHERE id = ?", (unit,))
    assert "改名后的单位" not in auth.get("/").text
