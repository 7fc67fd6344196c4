"""SQLite connections: one per request, the same pragmas everywhere, explicit write transactions."""

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator

import sqlite_utils
from flask import current_app, g
from sqlite_utils.utils import dedupe_keys

from .bigrams import register_functions

BUSY_TIMEOUT_MS = 10_000
# One write transaction at a time per process (re-entrant: a nested transaction() is a savepoint).
_WRITER = threading.RLock()
# Called with the ids of the reports a transaction changed, inside it, just before it commits
# (facts.py keeps each report's summary facts so). Registered by modules above this one.
_BEFORE_COMMIT: list[Callable[[sqlite_utils.Database, set[int]], None]] = []


def before_commit(hook: Callable[[sqlite_utils.Database, set[int]], None]) -> None:
    """Have `hook(db, report_ids)` run inside every write transaction that changed reports, before it commits."""
    if hook not in _BEFORE_COMMIT:
        _BEFORE_COMMIT.append(hook)


def report_changed(db: sqlite_utils.Database, report_id: int) -> None:
    """Note, inside a write transaction, that a report's content changed: the hooks see it at commit."""
    db.__dict__.setdefault("_changed_reports", set()).add(report_id)


def _take_changed(db: sqlite_utils.Database) -> set[int]:
    """The reports noted as changed since the last commit or rollback, forgetting them."""
    return db.__dict__.pop("_changed_reports", None) or set()


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
    register_functions(conn)
    return sqlite_utils.Database(conn, execute_plugins=False)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database, bump: bool = True) -> Iterator[sqlite_utils.Database]:
    """Run a block as one write transaction, taking the write lock up front.

    A transaction that wrote raises the database's generation (schema 0016) as it commits, so that what the app
    keeps in memory (views/kept.py) is made again after any write, from any process. Bookkeeping that no
    kept page shows (view counts, a session's last-seen time) passes bump=False."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    # Writers of this process queue on a lock that wakes the next one the moment it is free;
    # SQLite's busy handler would poll with sleeps of up to 100 ms (the tail latency of
    # concurrent saves). Other processes (the CLI) still queue on busy_timeout.
    if not _WRITER.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        raise sqlite3.OperationalError("database is locked: another write of this process took too long")
    try:
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout
        # instead of failing later with "database is locked" when a read upgrades.
        db.conn.execute("BEGIN IMMEDIATE")
        changes = db.conn.total_changes
        try:
            yield db
            changed = _take_changed(db)
            while changed:  # a hook's own writes note nothing new; a loop in case one ever does
                for hook in _BEFORE_COMMIT:
                    hook(db, changed)
                changed = _take_changed(db)
            if bump and db.conn.total_changes != changes:  # a transaction that only read changes nothing kept
                db.conn.execute("UPDATE generation SET number = number + 1")
                db.__dict__["_raised"] = raised(db) + 1
        except BaseException:
            _take_changed(db)
            db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")
    finally:
        _WRITER.release()


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Execute SQL statements one by one, inside the caller's transaction."""
    # sqlite3's executescript() commits first, which would split a migration in two.
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement!r}")


@contextlib.contextmanager
def without_fsync(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Commits inside skip the fsync (synchronous NORMAL): for bookkeeping such as a view counter,
    which may lose its last increments in a power cut. Still atomic and consistent (WAL)."""
    db.execute("PRAGMA synchronous = NORMAL")
    try:
        yield db
    finally:
        db.execute("PRAGMA synchronous = FULL")  # the connection is reused: edits must stay FULL


def rows(db: sqlite_utils.Database, sql: str, params=()) -> Iterator[dict]:
    """The rows of a SELECT as dicts, as they are read."""
    # Straight to the driver: sqlite-utils' query() wraps every statement in a SAVEPOINT and its RELEASE,
    # three statements and a transaction for each read, which on the request path cost more than the read.
    cursor = db.conn.execute(sql, params)
    keys = dedupe_keys(column[0] for column in cursor.description)  # as query() names a repeated column
    return (dict(zip(keys, row, strict=True)) for row in cursor)


def one(db: sqlite_utils.Database, sql: str, params=()) -> dict | None:
    """First row of a query as a dict, or None."""
    return next(rows(db, sql, params), None)


def all_rows(db: sqlite_utils.Database, sql: str, params=()) -> list[dict]:
    """All rows of a query as dicts."""
    return list(rows(db, sql, params))


class Packed:
    """A one-row read of the hot path whose columns come back as a single value (a JSON array built by SQLite).

    The driver lets go of the interpreter lock once for every column of every row it hands over; under load each
    of those is a hand-over between the server's threads, and for the one read that every signed-in request makes
    they cost more than the read itself: a report page 1.99 -> 1.69 ms of CPU (docs/benchmarks.md, sixth round).
    For integers, text and NULL only: JSON would round a REAL and cannot hold a BLOB."""

    def __init__(self, columns: dict[str, str], rest: str):
        self.names = tuple(columns)
        self.sql = f"SELECT json_array({', '.join(columns.values())}) {rest}"

    def one(self, db: sqlite_utils.Database, params=()) -> dict | None:
        """The first row as a dict of the column names, or None."""
        found = db.conn.execute(self.sql, params).fetchone()
        return dict(zip(self.names, json.loads(found[0]), strict=True)) if found else None


def generation(db: sqlite_utils.Database) -> int:
    """How many write transactions the database has committed (schema 0016): a key for what is kept in memory."""
    return db.execute("SELECT number FROM generation").fetchone()[0]


def raised(db: sqlite_utils.Database) -> int:
    """How many times this connection's transactions have raised the generation: a generation read earlier on it
    still holds while this stays the same, save for other connections' writes."""
    return db.__dict__.get("_raised", 0)


_SYNCHRONOUS = {0: "off", 1: "normal", 2: "full", 3: "extra"}


def settings(db: sqlite_utils.Database) -> dict:
    """The durability settings in force on this connection, as /healthz reports them."""
    def pragma(name: str):
        return db.execute(f"PRAGMA {name}").fetchone()[0]

    return {
        "journal_mode": pragma("journal_mode"),
        "synchronous": _SYNCHRONOUS.get(pragma("synchronous"), "unknown"),
        "busy_timeout_ms": pragma("busy_timeout"),
        "foreign_keys": bool(pragma("foreign_keys")),
        "schema_version": pragma("user_version"),
    }


# Each server thread keeps its connection for its next request: opening one costs ~0.6 ms (SQLite
# parses the schema again) and closing the last one checkpoints the WAL, ~1.5 ms per save in all.
_thread_db = threading.local()


def thread_db(path: str) -> sqlite_utils.Database:
    """This thread's connection to the database file, opened on first use and kept afterwards."""
    db = getattr(_thread_db, "db", None)
    if db is None or _thread_db.path != path:
        if db is not None:
            db.conn.close()
            _thread_db.db = None
        db = connect(path)
        _thread_db.db, _thread_db.path = db, path
    return db


def get_db():
    """The request's database connection: this thread's (thread_db)."""
    if "db" not in g:
        g.db = thread_db(current_app.config["DATABASE"])
    return g.db


def close_db(error=None) -> None:
    """End the request's use of its connection; after a failure the connection is closed, not kept."""
    db = g.pop("db", None)
    if db is None:
        return
    # transaction() always ends what it began; a traceback may still hold a cursor (and with it an
    # old read snapshot), so a failed request's connection is not handed to the next request.
    if error is not None or db.conn.in_transaction:
        if getattr(_thread_db, "db", None) is db:
            _thread_db.db = None
        db.conn.close()
