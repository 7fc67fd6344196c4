"""Text every output can hold: invisible control characters are removed wherever text comes in, stored
text is repaired by migration 0011 (recorded in the audit log), and editions frozen with such text
stay byte-identical yet export to Word, PDF, Markdown and JSON."""

import io
import json
import shutil

import pytest
from docx import Document

from app import create_app
from app import db as database
from app.backup import BackupError, backup
from app.cleantext import clean
from app.db import transaction
from app.editions import get_edition, verify
from app.schema import MIGRATIONS, _0011_clean_text_and_edition_files, repair_text
from app.sections import get_sections
from app.users import get_user
from app.workflow import perform
from tests.conftest import Auth

BAD = "甲\x01乙\x0b丙\x0c丁\x1b戊\ufffe己\r\n庚\u2028辛"
CLEANED = "甲乙\n丙\n丁戊己\n庚\n辛"


def test_clean_removes_what_word_and_sqlite_cannot_hold_and_keeps_line_breaks_and_tabs():
    assert clean(BAD) == CLEANED
    assert clean("半\ud800个") == "半个"
    assert clean("表\t格\n下一行") == "表\t格\n下一行"
    assert clean("　全角空格与 emoji 😀") == "　全角空格与 emoji 😀"


def test_a_section_saved_with_control_characters_is_stored_clean_and_exports_to_word(auth, app, db):
    auth.login("editor")
    report_id = app.config["SAMPLE_ID"]
    section = get_sections(db, report_id)[1]
    response = auth.post(f"/reports/{report_id}/sections/{section.id}",
                         {"markdown": BAD + "\x00", "version": section.version})
    assert response.status_code == 200
    stored = db.execute("SELECT markdown FROM sections WHERE id = ?", (section.id,)).fetchone()[0]
    assert stored == CLEANED
    word = auth.get(f"/reports/{report_id}/export.docx")
    assert word.status_code == 200
    assert "戊己" in "\n".join(p.text for p in Document(io.BytesIO(word.data)).paragraphs)


def test_titles_comments_and_share_notes_come_in_clean(auth, app, db):
    auth.login("reviewer")
    report_id = app.config["SAMPLE_ID"]
    assert auth.post(f"/reports/{report_id}/comments", {"body": "意\x07见\x1b"}).status_code in (200, 303)
    assert db.execute("SELECT body FROM comments ORDER BY id DESC LIMIT 1").fetchone()[0] == "意见"
    auth.login("admin")
    assert auth.post(f"/reports/{report_id}/shares", {"expires": "7", "note": "备\x01注", "draft": "1"}
                     ).status_code == 200
    assert db.execute("SELECT note FROM shares ORDER BY id DESC LIMIT 1").fetchone()[0] == "备注"


@pytest.fixture
def old_database(template_database, tmp_path):
    """The sample database as an older version left it: control characters stored in live text and
    frozen into an approved edition (written before input was cleaned)."""
    template, report_id = template_database
    path = tmp_path / "old.sqlite"
    shutil.copyfile(template, path)
    db = database.connect(str(path))
    db.execute("UPDATE sections SET markdown = markdown || ? WHERE report_id = ?", (BAD, report_id))
    db.execute("UPDATE reports SET title = title || '\x01' WHERE id = ?", (report_id,))
    db.execute("UPDATE units SET name = name || '\x1b' WHERE id = 1")
    admin = get_user(db, 1)
    for action in ("submit", "pass", "approve"):
        perform(db, report_id, admin, action)
    db.conn.close()
    return path, report_id


def test_migration_0011_repairs_stored_text_and_records_it_but_leaves_editions_identical(old_database):
    path, report_id = old_database
    db = database.connect(str(path))
    frozen = get_edition(db, report_id, 1)
    assert BAD in frozen["content"]["sections"][1]["markdown"]
    assert [name for name, step in MIGRATIONS if step is _0011_clean_text_and_edition_files] == [
        "0011_clean_text_and_edition_files"]  # the step runs repair_text
    with transaction(db):
        assert repair_text(db) > 0
    assert db.execute("SELECT count(*) FROM sections WHERE markdown LIKE ?", ("%\x01%",)).fetchone()[0] == 0
    assert all(CLEANED in s.markdown for s in get_sections(db, report_id)[:3])
    assert "\x01" not in db.execute("SELECT title FROM reports WHERE id = ?", (report_id,)).fetchone()[0]
    repairs = [json.loads(row[0]) for row in db.execute(
        "SELECT detail FROM audit_log WHERE action = 'text.repair'")]
    assert {(r["table"], r["column"]) for r in repairs} >= {("sections", "markdown"), ("reports", "title"),
                                                           ("units", "name")}
    after = get_edition(db, report_id, 1)
    assert after["content"] == frozen["content"] and verify(after)  # byte-identical, hash intact
    with transaction(db):
        assert repair_text(db) == 0  # nothing left to repair
    db.conn.close()


def test_an_edition_frozen_with_control_characters_exports_in_every_format(old_database):
    path, report_id = old_database
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "t", "LOAD_SAMPLE": False})
    auth = Auth(app.test_client())
    assert auth.login("admin").status_code == 303
    word = auth.get(f"/reports/{report_id}/editions/1/export.docx")
    assert word.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(word.data)).paragraphs)
    assert "戊己" in text and "\x1b" not in text
    pdf = auth.get(f"/reports/{report_id}/editions/1/export.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    for fmt in ("md", "json"):
        exported = auth.get(f"/reports/{report_id}/export.{fmt}")
        assert exported.status_code == 200 and "丁" in exported.text and "己" in exported.text
    shown = auth.get(f"/reports/{report_id}/editions/1/print")
    assert shown.status_code == 200


def test_backup_refuses_to_write_over_the_live_database_or_its_journal(app, runner, tmp_path):
    live = app.config["DATABASE"]
    for dest in (live, live + "-wal", live + "-shm"):
        with pytest.raises(BackupError, match="正在使用的数据库"):
            backup(live, dest)
    result = runner.invoke(args=["backup", live, "--overwrite"])
    assert result.exit_code != 0 and "正在使用的数据库" in result.output
    link = tmp_path / "link.sqlite"
    link.symlink_to(live)
    assert runner.invoke(args=["backup", str(link), "--overwrite"]).exit_code != 0
    assert database.connect(live).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_names_given_on_the_command_line_are_cleaned_too(runner, db):
    result = runner.invoke(args=["create-user", "clerk9", "--role", "editor", "--unit", "某\x1b单位\x01",
                                 "--password", "correct-horse-42"])
    assert result.exit_code == 0, result.output
    assert db.execute("SELECT count(*) FROM units WHERE name = '某单位'").fetchone()[0] == 1
