"""Backups taken while a writer commits hold every acknowledged write; restore refuses bad files."""

import re
import sqlite3
import threading
import time

import pytest

from app import db as database
from app.backup import BackupError, backup, check_file, restore
from app.reports import get_report
from app.sections import save_section
from app.users import get_user


class Writer(threading.Thread):
    """Saves a section as fast as it can on its own connection, noting each acknowledged save."""

    def __init__(self, path: str, report_id: int, section_id: int):
        super().__init__(daemon=True)
        self.path, self.report_id, self.section_id = path, report_id, section_id
        self.acked: list[str] = []
        self.stop = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        db = database.connect(self.path)
        try:
            user = get_user(db, 1)
            report = get_report(db, user, self.report_id)
            version = db.execute("SELECT version FROM sections WHERE id = ?", (self.section_id,)).fetchone()[0]
            n = 0
            while not self.stop.is_set():
                n += 1
                text = f"第{n}次保存：康复服务覆盖率达到{n % 100}%。"
                version = save_section(db, report, user, self.section_id, text, version).version
                self.acked.append(text)  # save_section returned: committed
        except Exception as error:  # noqa: BLE001 (reported by the test)
            self.error = error
        finally:
            db.conn.close()


def _texts(path, section_id: int) -> set[str]:
    """Every revision text of the section in a database file."""
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT markdown FROM revisions WHERE section_id = ?", (section_id,))}
    finally:
        conn.close()


def test_backups_during_continuous_writes_hold_every_write_acknowledged_before_they_started(app, tmp_path):
    path = app.config["DATABASE"]
    report_id = app.config["SAMPLE_ID"]
    section_id = sqlite3.connect(path).execute("SELECT min(id) FROM sections WHERE report_id = ?",
                                               (report_id,)).fetchone()[0]
    writer = Writer(path, report_id, section_id)
    writer.start()
    try:
        while len(writer.acked) < 20:
            time.sleep(0.01)
        for n in range(6):
            acknowledged = list(writer.acked)
            # Tiny steps: the copy spans many commits of the writer, and must still be one snapshot.
            check = backup(path, tmp_path / f"copy-{n}.sqlite", step_pages=2 if n % 2 else 4096)
            assert check.ok
            assert set(acknowledged) <= _texts(check.path, section_id)
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None
    assert len(writer.acked) > len(acknowledged)  # the writer kept going while the copies were made


def test_a_backup_is_one_self_contained_checked_file(app, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    check = backup(app.config["DATABASE"], out / "copy.sqlite")
    assert check.ok and check.counts["reports"] >= 1 and check.schema_version >= 1
    assert sorted(p.name for p in out.iterdir()) == ["copy.sqlite"]  # no -wal, no .partial
    assert sqlite3.connect(check.path).execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_backup_command_names_the_file_by_time_and_prints_a_chinese_summary(runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "backups") + "/"])
    assert result.exit_code == 0, result.output
    [made] = (tmp_path / "backups").iterdir()
    assert made.name.startswith("test-") and made.suffix == ".sqlite"
    assert "备份完成" in result.output and "完整性检查（integrity_check）：通过" in result.output
    assert "外键检查（foreign_key_check）：通过" in result.output and "报告 1 份" in result.output


def test_backup_command_keeps_only_the_newest_copies(runner, tmp_path):
    for _ in range(3):
        assert runner.invoke(args=["backup", str(tmp_path), "--keep", "2"]).exit_code == 0
    assert len(list(tmp_path.glob("test-*.sqlite"))) == 2


def test_backup_command_will_not_overwrite_a_file_unless_told(runner, tmp_path):
    target = tmp_path / "latest.sqlite"
    target.write_bytes(b"old")
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code != 0 and "文件已存在" in result.output
    assert runner.invoke(args=["backup", str(target), "--overwrite"]).exit_code == 0
    assert check_file(target).ok


def _damaged(tmp_path, good) -> dict:
    """Files restore must refuse, each with the reason it should give."""
    files = {}
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"\x00\x01 not a database at all " * 400)
    files[garbage] = "不是 SQLite 数据库文件"
    text = tmp_path / "report.md"
    text.write_text("# 2024年度报告\n\n一、绩效自评情况\n", encoding="utf-8")
    files[text] = "不是 SQLite 数据库文件"
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    files[truncated] = "损坏"
    torn = tmp_path / "torn.sqlite"
    data = bytearray(good.read_bytes())
    page = 4096
    data[3 * page:5 * page] = b"\xff" * (2 * page)  # two b-tree pages overwritten
    torn.write_bytes(bytes(data))
    files[torn] = "损坏|未通过"
    late = tmp_path / "late.sqlite"
    data = bytearray(good.read_bytes())
    data[-2 * page:-page] = b"\x00" * 16 + b"\x5a" * (page - 16)  # a leaf page near the end
    late.write_bytes(bytes(data))
    files[late] = "损坏|未通过"
    stale_index = tmp_path / "stale-index.sqlite"
    stale_index.write_bytes(good.read_bytes())
    conn = sqlite3.connect(stale_index)
    conn.execute("PRAGMA writable_schema = ON")  # the index no longer matches its table
    conn.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX reports_updated ON reports (title)'"
                 " WHERE name = 'reports_updated'")
    conn.commit()
    conn.close()
    files[stale_index] = "完整性检查（integrity_check）未通过"
    other = tmp_path / "other-app.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.commit()
    conn.close()
    files[other] = "不是本系统的数据库"
    future = tmp_path / "future.sqlite"
    future.write_bytes(good.read_bytes())
    conn = sqlite3.connect(future)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    files[future] = "更新版本的程序"
    return files


def test_restore_refuses_damaged_foreign_and_newer_files_and_changes_nothing(app, runner, tmp_path):
    live = app.config["DATABASE"]
    good = backup(live, tmp_path / "good.sqlite").path
    before = sqlite3.connect(live).execute("SELECT count(*), max(id) FROM revisions").fetchone()
    for bad, reason in _damaged(tmp_path, good).items():
        result = runner.invoke(args=["restore", str(bad), "--yes"])
        assert result.exit_code == 1, (bad.name, result.output)
        assert "拒绝恢复" in result.output and re.search(reason, result.output), (bad.name, result.output)
        assert "当前数据库未作任何改动" in result.output
    assert sqlite3.connect(live).execute("SELECT count(*), max(id) FROM revisions").fetchone() == before
    assert not list(tmp_path.glob("*before-restore*"))
    assert [p.name for p in tmp_path.glob(".restore-*")] == []


def test_restore_brings_back_the_backup_and_keeps_the_replaced_database(app, runner, tmp_path):
    live = app.config["DATABASE"]
    report_id = app.config["SAMPLE_ID"]
    copy = backup(live, tmp_path / "before-edit.sqlite").path
    db = database.connect(live)
    section_id = db.execute("SELECT min(id) FROM sections").fetchone()[0]
    user = get_user(db, 1)
    version = db.execute("SELECT version FROM sections WHERE id = ?", (section_id,)).fetchone()[0]
    save_section(db, get_report(db, user, report_id), user, section_id, "备份之后写的文字。", version)
    db.conn.close()

    result = runner.invoke(args=["restore", str(copy)], input="y\n")
    assert result.exit_code == 0, result.output
    assert "恢复完成" in result.output and "原数据库已另存为" in result.output
    assert "备份之后写的文字。" not in _texts(live, section_id)
    [kept] = list(tmp_path.glob("*before-restore*.sqlite"))
    assert "备份之后写的文字。" in _texts(kept, section_id)
    settings = database.settings(database.connect(live))
    assert settings["journal_mode"] == "wal"


def test_restore_asks_first_and_does_nothing_when_declined(app, runner, tmp_path):
    copy = backup(app.config["DATABASE"], tmp_path / "copy.sqlite").path
    result = runner.invoke(args=["restore", str(copy)], input="n\n")
    assert result.exit_code == 1 and "已取消" in result.output
    assert not list(tmp_path.glob("*before-restore*"))


def test_restore_refuses_the_live_database_itself(app, tmp_path):
    with pytest.raises(BackupError, match="正在使用的数据库"):
        restore(app.config["DATABASE"], app.config["DATABASE"], tmp_path / "kept.sqlite")


def test_starting_a_newer_version_backs_up_the_database_before_migrating_it(tmp_path):
    from app import create_app
    from app.schema import MIGRATIONS

    path = tmp_path / "app.sqlite"
    old = database.connect(str(path))
    for number, (_name, step) in enumerate(MIGRATIONS[:-1], start=1):  # as the previous version left it
        step(old)
        old.execute(f"PRAGMA user_version = {number}")
    old.execute("INSERT INTO units (name, created_at) VALUES ('升级前的单位', '2025-01-01T00:00:00Z')")
    old.conn.close()
    create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "x", "LOAD_SAMPLE": False})
    (copy,) = tmp_path.glob(f"app-before-migration-{len(MIGRATIONS) - 1}-*.sqlite")
    kept = sqlite3.connect(copy)
    assert kept.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) - 1
    assert kept.execute("SELECT name FROM units").fetchall() == [("升级前的单位",)]
    kept.close()
    live = database.connect(str(path))
    assert live.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    live.conn.close()
    create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "x", "LOAD_SAMPLE": False})
    assert len(list(tmp_path.glob("app-before-migration-*.sqlite"))) == 1  # nothing to migrate: no copy
