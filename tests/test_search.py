"""Search: two-character Chinese words, ranking, snippets, permissions, hostile queries."""

import pytest

from app.search import highlight, match_expression, search
from app.users import get_user


def test_two_character_words_are_found_inside_sentences(app, db):
    admin = get_user(db, 1)
    for word in ["康复", "就业", "残疾", "预算"]:
        hits = search(db, admin, word)
        assert hits, word
        assert all(word in h.snippet.replace("<mark>", "").replace("</mark>", "") for h in hits)


def test_longer_words_match_only_where_the_characters_stand_together(app, db):
    admin = get_user(db, 1)
    assert [h.heading for h in search(db, admin, "精准康复")] == ["扩面提质，在完善残疾人康复服务上持续用力"]
    assert search(db, admin, "康就") == []


def test_results_are_ranked_and_highlighted(app, db):
    hits = search(db, get_user(db, 1), "无障碍")
    assert hits[0].heading == "创新创优，在推动残疾人公共服务上持续用力"
    assert "<mark>无障碍</mark>" in hits[0].snippet


def test_single_character_and_mixed_queries(app, db):
    admin = get_user(db, 1)
    assert search(db, admin, "锦")  # 锦旗
    assert search(db, admin, "3294")
    assert search(db, admin, "康复 3294")


def test_new_text_is_searchable_at_once_and_deleted_text_is_gone(auth, app, db):
    auth.login()
    rid = app.config["SAMPLE_ID"]
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    assert search(db, get_user(db, 1), "智慧阅读")
    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "新增的托底保障内容", "version": "1"})
    assert search(db, get_user(db, 1), "托底")
    assert not [h for h in search(db, get_user(db, 1), "智慧阅读") if h.section_id == sid]
    auth.post(f"/reports/{rid}/sections/{sid}/delete")
    assert not search(db, get_user(db, 1), "托底")


def test_users_find_only_their_own_units_reports(app, db):
    assert search(db, get_user(db, 2), "康复")
    assert search(db, get_user(db, 6), "康复") == []  # outsider: another unit


@pytest.mark.parametrize("query", ['"', '"康复', "NEAR(", "NEAR(康复 就业", "*", "康复*", "(", ")", "AND",
                                   "OR NOT", "^", ":", "title:康复", "'; DROP TABLE reports; --", "\\",
                                   "　", "" , "康复" * 200, "\u202e康复", "<script>"])
def test_hostile_queries_never_fail(auth, query):
    auth.login()
    response = auth.get(f"/search?q={query}")
    assert response.status_code == 200
    assert "<script>" not in response.text.split('name="q"')[0]


def test_search_page_shows_snippets_and_links_to_the_section(auth, db):
    auth.login()
    page = auth.get("/search?q=就业")
    sid = db.execute("SELECT id FROM sections WHERE title LIKE '多措并举%'").fetchone()[0]
    assert f"#section-{sid}" in page.text and "<mark>就业</mark>" in page.text


def test_user_syntax_never_reaches_fts():
    assert match_expression('康复" OR "x') == '"康复" AND "or" AND "x"'
    assert match_expression("NEAR(a b)") == '"near a" AND "b"'
    assert match_expression("* ( )") is None


def test_highlight_escapes_text():
    assert highlight("<b>康复</b>", "康复") == "&lt;b&gt;<mark>康复</mark>&lt;/b&gt;"


def _other_unit_report(db, sections: int) -> int:
    """A newer report of another unit whose every section mentions 康复."""
    from app.importer import parse_upload
    from app.reports import create_report

    other_unit = get_user(db, 6).unit_id
    text = "# 教育局2024年度部门整体支出绩效自评报告\n\n" + "".join(
        f"{n}. 第{n}项\n\n开展康复进校园活动第{n}场。\n\n" for n in range(1, sections + 1))
    return create_report(db, get_user(db, 1), other_unit, 2024, parse_upload(text))


def test_a_units_search_is_not_crowded_out_by_newer_matches_elsewhere(app, db, monkeypatch):
    import app.search as search_module

    _other_unit_report(db, 6)
    monkeypatch.setattr(search_module, "POOL", 3)
    editor = get_user(db, 2)
    hits = search(db, editor, "康复")
    assert hits and {h.unit_name for h in hits} == {"广州市荔湾区残疾人联合会"}
    assert {h.unit_name for h in search(db, get_user(db, 1), "康复")} == {"广州市荔湾区教育局"}  # the newest three


def test_when_more_matches_than_are_ranked_the_page_asks_for_another_word(auth, app, db, monkeypatch):
    import app.search as search_module

    monkeypatch.setattr(search_module, "POOL", 3)
    auth.login()
    page = auth.get("/search?q=残疾")  # in more than three sections of the sample
    assert "找到的内容很多，以下只按相关程度列出最近 3 处中的结果" in page.text
    assert page.text.count('class="hit"') == 3 + 1  # three sections and the report's title
    assert "找到的内容很多" not in auth.get("/search?q=精准康复").text


def test_an_index_from_an_older_version_is_rebuilt_with_units(tmp_path):
    from app import db as database
    from app.importer import parse_upload
    from app.reports import create_report
    from app.schema import MIGRATIONS, migrate
    from app.users import User, get_or_create_unit

    db = database.connect(str(tmp_path / "old.sqlite"))
    for number, (_name, step) in enumerate(MIGRATIONS[:6], start=1):
        step(db)
        db.execute(f"PRAGMA user_version = {number}")
    # The data is written by today's code, whose transactions raise the generation of 0016: a stand-in.
    db.execute("CREATE TEMP TABLE generation (number INTEGER NOT NULL)")
    db.execute("INSERT INTO generation VALUES (0)")
    # And its writes keep each report's summary facts (0017): a stand-in table for them too.
    db.execute("CREATE TEMP TABLE report_facts (report_id INTEGER PRIMARY KEY, total, grade, rate, budget_score,"
               " indicator_score, adjusted, executed, errors, warnings)")
    unit = get_or_create_unit(db, "某单位")
    # The users table as version 6 had it (later versions add columns that create_user fills).
    for username, role, unit_id in (("root", "admin", None), ("clerk", "editor", unit)):
        db.execute("INSERT INTO users (username, display_name, password_hash, role, unit_id, created_at)"
                   " VALUES (?, ?, '', ?, ?, '2025-01-01T00:00:00+00:00')", (username, username, role, unit_id))
    admin = User(1, "root", "root", "admin", None, None, True)
    create_report(db, admin, unit, 2024, parse_upload("# 某单位报告\n\n一、概况\n\n开展康复服务。\n"))
    assert "0007_search_scope" in migrate(db)
    editor = db.execute("SELECT id FROM users WHERE username = 'clerk'").fetchone()[0]
    assert [h.heading for h in search(db, get_user(db, editor), "康复")] == ["概况"]
    db.conn.close()


def test_a_search_page_kept_in_memory_follows_every_change_and_each_readers_scope(app, auth, db):
    from app.users import update_unit
    from tests.conftest import Auth

    rid = app.config["SAMPLE_ID"]
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    auth.login("admin")
    assert 'class="hit"' not in auth.get("/search?q=托底保障").text
    editor = Auth(app.test_client())
    editor.login("editor")
    editor.post(f"/reports/{rid}/sections/{sid}", {"markdown": "新增的托底保障内容", "version": "1"})
    found = auth.get("/search?q=托底保障").text
    assert found.count('class="hit"') == 1 and "草稿" in found
    assert editor.post(f"/reports/{rid}/submit", {}).status_code == 200
    assert "待审核" in auth.get("/search?q=托底保障").text  # the state shown with the hit
    unit_id = db.execute("SELECT unit_id FROM reports WHERE id = ?", (rid,)).fetchone()[0]
    update_unit(db, unit_id, "荔湾区残联（新名称）", actor_id=1)
    assert "荔湾区残联（新名称）" in auth.get("/search?q=托底保障").text
    outsider = Auth(app.test_client())
    outsider.login("outsider")  # another unit, the same words just after the admin
    assert 'class="hit"' not in outsider.get("/search?q=托底保障").text
    assert "荔湾区残联（新名称）" in editor.get("/search?q=托底保障").text
