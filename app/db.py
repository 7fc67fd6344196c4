"""SQLite connections: one per request, the same pragmas everywhere, explicit write transactions."""

import contextlib
import sqlite3
from collections.abc import Iterator

import sqlite_utils

BUSY_TIMEOUT_MS = 10_000


def connect(path: str) -> sqlite_utils.Database:
    """Open the database file with the pragmas every connection must carry."""
    # isolation_level=None: the driver never opens transactions behind our back;
    # writes go through transaction() below, reads see the latest commit.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: an acknowledged save is on disk even after a power cut.
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return sqlite_utils.Database(conn, execute_plugins=False)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block as one write transaction, taking the write lock up front."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout
    # instead of failing later with "database is locked" when a read upgrades.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def one(db: sqlite_utils.Database, sql: str, params=()) -> dict | None:
    """First row of a query as a dict, or None."""
    return next(db.query(sql, params), None)


def all_rows(db: sqlite_utils.Database, sql: str, params=()) -> list[dict]:
    """All rows of a query as dicts."""
    return list(db.query(sql, params))
