"""Backups taken while people keep working, checked before they count; restore that refuses bad files.

A backup is SQLite's online backup API run inside one read transaction of the source: every step
copies from the same snapshot (WAL lets writers carry on meanwhile), so the copy holds exactly the
commits made before it started. It is written next to its destination as `.partial`, switched to a
single self-contained file (journal_mode DELETE), checked (integrity_check, foreign_key_check,
schema version) and only then renamed into place.
"""

import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import db as database
from .schema import MIGRATIONS, migrate

STEP_PAGES = 4096  # 16 MB per step at 4 KB pages: progress lines without slowing the copy
HEADER = b"SQLite format 3\x00"
REQUIRED_TABLES = ("units", "users", "reports", "sections", "revisions", "audit_log")
COUNTED = {"units": "单位", "users": "用户", "reports": "报告", "sections": "部分", "revisions": "修订"}
MAX_PROBLEMS = 5

Progress = Callable[[int, int], None]  # (pages copied, pages in all)


class BackupError(Exception):
    """The copy could not be made, or a file failed its checks; the message says why, in Chinese."""


@dataclass
class Check:
    """What checking a database file found."""

    path: Path
    problems: list[str] = field(default_factory=list)
    schema_version: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    size: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the file is a sound database of this application."""
        return not self.problems


def _siblings(path: Path) -> list[Path]:
    """The file with its SQLite companions (-wal, -shm, -journal)."""
    return [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]


def _remove(path: Path) -> None:
    """Delete a database file and its companions, if present."""
    for item in _siblings(path):
        item.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Force a file (and, where the system allows, its directory entry) to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
    if os.name == "posix":
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_file(path: Path | str) -> Check:
    """Check a database file: SQLite, intact, foreign keys consistent, a schema this program knows.

    Opens the file read-write (a pending -wal is recovered), so give it a copy, never a user's original.
    """
    path = Path(path)
    started = time.monotonic()
    result = Check(path)
    try:
        result.size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(len(HEADER))
    except OSError as error:
        result.problems.append(f"无法读取文件：{error.strerror or error}")
        return result
    if head != HEADER:
        result.problems.append("不是 SQLite 数据库文件（文件头不符），可能不是本系统的备份或已损坏。")
        return result
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _check_contents(conn, result)
    except sqlite3.DatabaseError as error:
        result.problems.append(f"数据库文件已损坏，无法读取（{error}）。")
    finally:
        conn.close()
    result.seconds = time.monotonic() - started
    return result


def _check_contents(conn: sqlite3.Connection, result: Check) -> None:
    """The checks proper, on an open connection (raises sqlite3.DatabaseError on a broken file)."""
    rows = [row[0] for row in conn.execute(f"PRAGMA integrity_check({MAX_PROBLEMS})")]
    if rows != ["ok"]:
        result.problems.append("完整性检查（integrity_check）未通过：" + "；".join(rows))
        return
    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        result.problems.append(f"外键检查（foreign_key_check）发现 {len(broken)} 处引用不存在的记录"
                               f"（如表 {table} 第 {rowid} 行引用的 {parent}）。")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if missing:
        result.problems.append(f"缺少本系统的数据表（{'、'.join(missing)}），不是本系统的数据库。")
        return
    result.schema_version = conn.execute("PRAGMA user_version").fetchone()[0]
    if result.schema_version > len(MIGRATIONS):
        result.problems.append(f"数据库结构版本为 {result.schema_version}，高于本程序支持的 {len(MIGRATIONS)}："
                               "它来自更新版本的程序，请先升级程序再恢复。")
    for table in COUNTED:
        result.counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 (fixed names)


def describe(check: Check) -> str:
    """The counts of a checked file, as a line of Chinese: 单位 3 个，报告 12 份…"""
    measure = {"units": "个", "users": "个", "reports": "份", "sections": "个", "revisions": "条"}
    parts = [f"{COUNTED[t]} {n:,} {measure[t]}" for t, n in check.counts.items()]
    return f"结构版本 {check.schema_version}；" + "，".join(parts)


def _same_database(source: Path, dest: Path) -> bool:
    """Whether dest is the live database file or its -wal / -shm companion (by any path or link)."""
    live = source.resolve()
    target = dest.resolve()
    companions = {live, live.with_name(live.name + "-wal"), live.with_name(live.name + "-shm")}
    if target in companions:
        return True
    return dest.exists() and any(path.exists() and dest.samefile(path) for path in companions)


def backup(source: Path | str, dest: Path | str, progress: Progress | None = None,
           step_pages: int = STEP_PAGES) -> Check:
    """Copy the live database at `source` to `dest` (a new file) consistently, check it, return the check."""
    source, dest = Path(source), Path(dest)
    if not source.exists():
        raise BackupError(f"数据库文件不存在：{source}")
    if _same_database(source, dest):
        raise BackupError(f"备份不能写到正在使用的数据库本身（{dest}）：那会毁掉数据库。请换一个文件名或目录。")
    partial = dest.with_name(dest.name + ".partial")
    _remove(partial)
    started = time.monotonic()
    src = database.connect(str(source))
    dst = sqlite3.connect(partial, isolation_level=None)
    try:
        # One read transaction for all steps: each step copies from the same snapshot, and
        # writers (WAL) are not held up. Without it every write would restart the copy.
        src.conn.execute("BEGIN")
        src.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()

        def report(_status, remaining, total):
            if progress is not None:
                progress(total - remaining, total)

        src.conn.backup(dst, pages=step_pages, progress=report)
        src.conn.execute("COMMIT")
        # The copy is one self-contained file: no -wal beside it to forget.
        dst.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.Error as error:
        dst.close()
        _remove(partial)
        raise BackupError(f"备份失败：{error}") from None
    finally:
        src.conn.close()
    dst.close()
    check = check_file(partial)
    if not check.ok:
        _remove(partial)
        raise BackupError("备份副本未通过校验，已删除：" + "；".join(check.problems))
    _fsync(partial)
    os.replace(partial, dest)
    check.path = dest
    check.seconds = time.monotonic() - started
    return check


def restore(file: Path | str, live: Path | str, keep_as: Path | str) -> tuple[Check, Path | None]:
    """Replace the database at `live` with the backup `file`, after checking it thoroughly.

    The current database is first copied to `keep_as`. Returns (the check of the restored
    database, where the old one went or None when there was none). Raises BackupError, leaving
    the live database untouched, when the file is not a sound database of this application.
    """
    file, live, keep_as = Path(file), Path(live), Path(keep_as)
    if live.exists() and file.resolve() == live.resolve():
        raise BackupError("不能用正在使用的数据库文件本身来恢复。")
    # Check a private copy: checking opens read-write, and the user's file must stay as it is.
    staging = live.with_name(f".restore-{os.getpid()}-{live.name}")
    _remove(staging)
    try:
        for original, copy in zip(_siblings(file)[:2], _siblings(staging)[:2], strict=True):
            if original.exists():  # a raw copy of a live database may have its -wal beside it
                shutil.copyfile(original, copy)
        check = check_file(staging)
        if not check.ok:
            raise BackupError("拒绝恢复：" + "；".join(check.problems) + " 当前数据库未作任何改动。")
        kept = _keep_current(live, keep_as)
        _copy_into(staging, live)
    finally:
        _remove(staging)
    db = database.connect(str(live))
    try:
        migrate(db)  # an older backup is brought up to this program's schema now, not at next start
    finally:
        db.conn.close()
    after = check_file(live)
    if not after.ok:
        raise BackupError("恢复后的数据库未通过校验：" + "；".join(after.problems)
                          + (f" 原数据库已保存在 {kept}。" if kept else ""))
    return after, kept


def _keep_current(live: Path, keep_as: Path) -> Path | None:
    """Save the database about to be replaced; a damaged one is copied byte for byte instead."""
    if not live.exists():
        return None
    try:
        backup(live, keep_as)
    except BackupError:
        for original, copy in zip(_siblings(live)[:2], _siblings(keep_as)[:2], strict=True):
            if original.exists():
                shutil.copyfile(original, copy)
    return keep_as


def _copy_into(staging: Path, live: Path) -> None:
    """Write the checked copy over the live database through SQLite (one write transaction)."""
    src = sqlite3.connect(staging, isolation_level=None)
    dst = database.connect(str(live))
    try:
        src.backup(dst.conn)
    except sqlite3.Error as error:
        raise BackupError(f"恢复失败，当前数据库未作改动：{error}") from None
    finally:
        src.close()
        dst.conn.close()
