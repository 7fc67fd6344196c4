"""The report page is made from the stored HTML on every request; the app's one cache (views/kept.py)
keeps costlier results until the next write. Neither may ever show an outdated page."""

import re

import pytest

from app import create_app, get_db
from app.db import generation, transaction
from app.schema import MIGRATIONS, migrate
from app.users import change_role, get_user, update_unit
from app.views import kept
from app.views.kept import Kept
from app.workflow import perform
from tests.conftest import Auth
from tests.test_form_http import fields, indicator

TOKEN = re.compile(r'(name="csrf_token" value="|csrf-token" content=")[^"]+')


def page(auth: Auth, report_id: int) -> str:
    """The report page, after checking that a second request gives the same (tokens aside)."""
    first = auth.get(f"/reports/{report_id}").text
    auth.client.application.extensions["kept"].clear()
    again = auth.get(f"/reports/{report_id}").text
    assert TOKEN.sub(r"\1…", first) == TOKEN.sub(r"\1…", again)
    return first


@pytest.fixture
def reviewer(app):
    """A second browser, logged in as the unit's reviewer."""
    other = Auth(app.test_client())
    other.login("reviewer")
    return other


def test_every_change_shows_on_the_report_page(auth, reviewer, app, db):
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


def test_each_reader_gets_their_own_csrf_token_in_every_section(reviewer, app):
    rid = app.config["SAMPLE_ID"]
    second = reviewer.get(f"/reports/{rid}").text
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', second))
    assert "\x00" not in second
    assert len(tokens) == 1 and tokens == {re.search(r'csrf-token" content="([^"]+)"', second).group(1)}


def test_two_sessions_of_one_person_each_get_their_own_token(app):
    rid = app.config["SAMPLE_ID"]
    office, home = Auth(app.test_client()), Auth(app.test_client())
    office.login("reviewer"), home.login("reviewer")
    pages = [office.get(f"/reports/{rid}").text, home.get(f"/reports/{rid}").text]
    tokens = [set(re.findall(r'name="csrf_token" value="([^"]+)"', page)) for page in pages]
    assert all(len(found) == 1 for found in tokens) and tokens[0] != tokens[1]
    comment = home.client.post(f"/reports/{rid}/comments", data={"body": "在家里提的意见", "section_id": "",
                                                                  "csrf_token": tokens[1].pop()})
    assert comment.status_code in (200, 303) and "在家里提的意见" in office.get(f"/reports/{rid}").text


def test_readers_with_other_rights_never_get_each_others_page(app, auth):
    rid = app.config["SAMPLE_ID"]
    auth.login("editor")
    assert "编辑标题和前言" in auth.get(f"/reports/{rid}").text
    viewer, reviewer = Auth(app.test_client()), Auth(app.test_client())
    viewer.login("viewer"), reviewer.login("reviewer")
    seen = viewer.get(f"/reports/{rid}").text
    assert "编辑标题和前言" not in seen and "提意见" not in seen
    assert "提意见" in reviewer.get(f"/reports/{rid}").text


def test_the_report_page_follows_changes_made_outside_the_site(app, auth, db):
    rid = app.config["SAMPLE_ID"]
    auth.login("editor")
    unit_id = db.execute("SELECT unit_id FROM reports WHERE id = ?", (rid,)).fetchone()[0]
    assert "荔湾区残疾人联合会" in auth.get(f"/reports/{rid}").text
    update_unit(db, unit_id, "广州市荔湾区残联（更名后）", actor_id=1)
    assert "› 广州市荔湾区残联（更名后） ›" in auth.get(f"/reports/{rid}").text
    # A script writing through the data layer (db.transaction): the generation moves, the page follows.
    with transaction(db):
        db.execute("UPDATE users SET display_name = '李会计' WHERE id = (SELECT updated_by FROM reports WHERE id = ?)",
                   (rid,))
    assert "（李会计）" in auth.get(f"/reports/{rid}").text
    with transaction(db):
        db.execute("UPDATE goals SET target = '脚本写入的总体目标' WHERE report_id = ?", (rid,))
    assert "脚本写入的总体目标" in auth.get(f"/reports/{rid}").text


def test_a_kept_report_page_costs_one_statement_and_follows_a_write_made_meanwhile(app, auth, db):
    rid = app.config["SAMPLE_ID"]
    auth.login("editor")
    page = auth.get(f"/reports/{rid}").text
    seen = []
    with app.app_context():
        server_db = get_db()  # the thread's connection, which the test client's requests use too
    server_db.conn.set_trace_callback(seen.append)
    try:
        assert auth.get(f"/reports/{rid}").text == page
        # The session, its user and the generation, in one read: nothing else is asked of the database.
        assert len(seen) == 1 and "FROM users" in seen[0] and "generation" in seen[0], seen
        with transaction(db):  # another connection writes between two views
            db.execute("UPDATE reports SET title = '改过的标题' WHERE id = ?", (rid,))
        assert "改过的标题" in auth.get(f"/reports/{rid}").text
    finally:
        server_db.conn.set_trace_callback(None)


def test_the_home_page_is_kept_for_its_reader_and_follows_every_write(app, auth, db):
    rid = app.config["SAMPLE_ID"]
    auth.login("reviewer")
    home = auth.get("/").text
    assert "待您审核" not in home
    seen = []
    with app.app_context():
        server_db = get_db()
    server_db.conn.set_trace_callback(seen.append)
    try:
        assert auth.get("/").text == home and len(seen) == 1, seen  # the session, the user, the generation
    finally:
        server_db.conn.set_trace_callback(None)
    editor = get_user(db, db.execute("SELECT id FROM users WHERE username = 'editor'").fetchone()[0])
    perform(db, rid, editor, "submit")  # written elsewhere: the reviewer's to-do list shows it at once
    assert "待您审核" in auth.get("/").text
    other = Auth(app.test_client())
    other.login("editor")
    assert "待您审核" not in other.get("/").text  # another reader's page is their own


def test_a_search_page_is_kept_for_its_reader_and_follows_every_write(app, auth, db):
    rid = app.config["SAMPLE_ID"]
    auth.login("editor")
    found = auth.get("/search?q=康复").text
    assert "康复" in found and "无障碍跑道" not in found
    seen = []
    with app.app_context():
        server_db = get_db()
    server_db.conn.set_trace_callback(seen.append)
    try:
        assert auth.get("/search?q=康复").text == found and len(seen) == 1, seen
    finally:
        server_db.conn.set_trace_callback(None)
    with transaction(db):  # written elsewhere: the next search finds it
        db.execute("UPDATE reports SET title = '康复与无障碍跑道建设自评' WHERE id = ?", (rid,))
    assert "无障碍跑道" in auth.get("/search?q=康复").text


def test_a_request_that_writes_does_not_find_what_was_kept_before_its_write(app):
    # The generation read with the user at the start of a request keys what it finds kept, until the request
    # itself writes: from then on its own write must show.
    with app.test_request_context("/"):
        conn = get_db()
        kept.seen_generation(conn, generation(conn))
        assert kept.kept().get(conn, ("probe",), lambda: "made before") == "made before"
        assert kept.kept().get(conn, ("probe",), lambda: "made again") == "made before"
        with transaction(conn):
            conn.execute("INSERT INTO units (name, created_at) VALUES ('新单位', '2025-01-01')")
        assert kept.kept().get(conn, ("probe",), lambda: "made after the write") == "made after the write"


def test_no_trigger_or_count_feeds_a_cache_and_every_write_raises_the_generation(memory_db):
    triggers = {name for (name,) in memory_db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    # What stays: the search index, and the rows that must never change (audit log, editions, workflow).
    assert all(name.startswith(("search_", "audit_log_no_", "editions_no_", "workflow_events_no_"))
               for name in triggers), triggers
    assert not memory_db.execute("SELECT 1 FROM sqlite_master WHERE name = 'change_counts'").fetchone()
    assert "change_count" not in {column[1] for column in memory_db.execute("PRAGMA table_info(reports)")}
    before = generation(memory_db)
    with transaction(memory_db):
        memory_db.execute("INSERT INTO units (name, created_at) VALUES ('某局', '2025-01-01')")
    assert generation(memory_db) == before + 1
    with transaction(memory_db), transaction(memory_db):  # a savepoint inside: still one write
        memory_db.execute("UPDATE units SET name = '某局（改名）'")
    assert generation(memory_db) == before + 2


def test_a_database_from_before_0016_loses_its_cache_triggers(tmp_path):
    from app import db as database

    db = database.connect(str(tmp_path / "old.sqlite"))
    for number, (name, step) in enumerate(MIGRATIONS, start=1):
        if name.startswith("0016"):
            break
        step(db)
        db.execute(f"PRAGMA user_version = {number}")
    triggers = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
    assert db.execute(triggers).fetchone()[0] == 55  # 42 + 0015's three for year_keeps + 10 that guard data
    assert "0016_generation" in migrate(db)
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0] == 10
    assert generation(db) == 0
    db.conn.close()


def test_the_cache_is_bounded_by_count_and_size(app):
    cache = Kept(max_items=3, max_bytes=10)
    with app.test_request_context("/"):
        db = get_db()
        made = []
        for n in range(4):
            cache.get(db, ("x", n), lambda n=n: made.append(n) or b"1234")
        assert len(cache) == 2  # 4 bytes each: two fit in 10
        cache.get(db, ("x", 3), lambda: made.append("again") or b"1234")
        assert "again" not in made  # still kept
        cache.get(db, ("big",), lambda: b"x" * 50)  # alone over the bound: kept (this reader needs it)
        assert len(cache) == 1


def test_links_follow_the_proxy_prefix_whatever_was_viewed_first(tmp_path, template_database):
    path = tmp_path / "prefix.sqlite"
    path.write_bytes(template_database[0].read_bytes())
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "x", "PROXY_FIX": 1})
    rid = template_database[1]
    auth = Auth(app.test_client())
    auth.login("editor")
    plain = auth.get(f"/reports/{rid}").text
    assert f'hx-get="/reports/{rid}/sections/' in plain
    for url in (f"/reports/{rid}", "/", "/search?q=康复"):
        auth.get(url)  # viewed without the prefix first
        prefixed = auth.client.get(url, headers={"X-Forwarded-Prefix": "/jixiao"}).text
        links = re.findall(r'(?:href|hx-get|action|hx-post)="(/[^"]*)"', prefixed)
        assert links and all(link.startswith("/jixiao/") for link in links), (url, [
            link for link in links if not link.startswith("/jixiao/")][:5])


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
    with transaction(db):  # a script through the data layer
        db.execute("DELETE FROM units WHERE id = ?", (unit,))
    assert "改名后的单位" not in auth.get("/").text
