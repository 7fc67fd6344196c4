"""Read-only share links: an unguessable token shown once, stored only as its hash."""

import atexit
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import time as timer
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from . import audit, clock
from .db import Packed, all_rows, connect, transaction, without_fsync
from .editions import list_editions
from .permissions import NotAllowed, require_view
from .reports import InvalidInput, NotFound
from .users import User

TOKEN_BYTES = 24  # 192 bits, well above the 128 the design asks for
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32}$")
SHARERS = {"admin", "editor", "reviewer", "approver"}
MAX_NOTE_CHARS = 200
MAX_DAYS = 3650


def token_hash(token: str) -> str:
    """What the database keeps instead of the token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def parse_expiry(value: str, zone: str, now: datetime | None = None) -> str | None:
    """Expiry from a form: days ("7"), a date ("2025-06-30", valid through that day), or none ("")."""
    value = (value or "").strip()
    if not value:
        return None
    now = now or datetime.now(ZoneInfo("UTC"))
    if value.isdigit():
        days = int(value)
        if not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"有效天数须在1到{MAX_DAYS}之间。")
        return (now + timedelta(days=days)).isoformat(timespec="microseconds")
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput("有效期请填写天数（如 7）或日期（如 2025-06-30），留空表示长期有效。") from None
    # The link works through the whole of that day, office time.
    end = datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(zone))
    if end <= now:
        raise InvalidInput("有效期不能早于今天。")
    return end.astimezone(ZoneInfo("UTC")).isoformat(timespec="microseconds")


def create_share(
    db: sqlite_utils.Database, report: dict, user: User, expires: str, note: str, zone: str,
    draft: bool = False,
) -> str:
    """Create a link to the latest edition (or, by explicit choice, the live draft); return the token."""
    require_view(user, report)
    if user.role not in SHARERS:
        raise NotAllowed("只读用户和监管人员不能创建分享链接。")
    note = " ".join(note.split())
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"备注过长（不超过{MAX_NOTE_CHARS}字）。")
    expires_at = parse_expiry(expires, zone)
    editions = list_editions(db, report["id"])
    if not draft and not editions:
        raise InvalidInput("报告尚未定稿，没有可分享的定稿版本。如确需分享当前草稿，请勾选“分享当前草稿”。")
    edition_id = None if draft else editions[0]["id"]
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction(db):
        share_id = db.execute(
            "INSERT INTO shares (report_id, edition_id, token_hash, note, created_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (report["id"], edition_id, token_hash(token), note, user.id, clock.now(), expires_at),
        ).lastrowid
        audit.record(db, "share.create", actor_id=user.id, report_id=report["id"], share_id=share_id,
                     edition=editions[0]["number"] if edition_id else None, draft=draft,
                     expires_at=expires_at)
    return token


def revoke_share(db: sqlite_utils.Database, report: dict, user: User, share_id: int) -> None:
    """Revoke a link; it answers 404 from now on."""
    require_view(user, report)
    if user.role not in SHARERS:
        raise NotAllowed("只读用户和监管人员不能撤销分享链接。")
    with transaction(db):
        changed = db.execute(
            "UPDATE shares SET revoked_at = ?, revoked_by = ? WHERE id = ? AND report_id = ? AND revoked_at IS NULL",
            (clock.now(), user.id, share_id, report["id"]),
        ).rowcount
        if not changed:
            raise NotFound("该分享链接不存在或已撤销。")
        audit.record(db, "share.revoke", actor_id=user.id, report_id=report["id"], share_id=share_id)


def list_shares(db: sqlite_utils.Database, report_id: int) -> list[dict]:
    """A report's links, newest first, with creator, edition and state."""
    rows = all_rows(
        db,
        "SELECT shares.*, users.display_name AS created_by_name, editions.number AS edition_number"
        " FROM shares LEFT JOIN users ON users.id = shares.created_by"
        " LEFT JOIN editions ON editions.id = shares.edition_id"
        " WHERE shares.report_id = ? ORDER BY shares.id DESC",
        (report_id,),
    )
    now = clock.now()
    for row in rows:
        if row["revoked_at"]:
            row["state"] = "已撤销"
        elif row["expires_at"] and row["expires_at"] <= now:
            row["state"] = "已过期"
        else:
            row["state"] = "有效"
    return rows


# What a view needs of a link, in one value (db.Packed): every share view reads it, by the UNIQUE index.
_LIVE_SHARE = Packed({name: name for name in ("id", "report_id", "edition_id", "token_hash", "expires_at",
                                               "revoked_at")}, "FROM shares WHERE token_hash = ?")


def open_share(db: sqlite_utils.Database, token: str) -> dict | None:
    """The live share for a token; None for malformed, unknown, revoked or expired. Only reads."""
    if not _TOKEN_SHAPE.match(token or ""):
        return None
    digest = token_hash(token)
    share = _LIVE_SHARE.one(db, (digest,))
    # The lookup is by hash, so timing says nothing about the token; compare_digest anyway.
    if share is None or not hmac.compare_digest(share["token_hash"], digest):
        return None
    if share["revoked_at"] or (share["expires_at"] and share["expires_at"] <= clock.now()):
        return None
    return share


class ViewCounts:
    """Views of share links, counted in memory and written in batches: every `every` seconds, when the
    share list is shown, and at exit. A crash (kill -9, power cut) loses at most the last batch's counts."""

    def __init__(self, every: float = 5.0):
        self.every = every
        self._pending: dict[tuple[str, int], list] = {}  # (database, share id) → [views, last view]
        self._lock = threading.Lock()
        self._writer: threading.Thread | None = None

    def add(self, database: str, share_id: int) -> None:
        """Count one view now."""
        now = clock.now()
        with self._lock:
            entry = self._pending.setdefault((database, share_id), [0, now])
            entry[0] += 1
            entry[1] = now
            if self._writer is None:  # started by the first view: tests and commands that show none start nothing
                self._writer = threading.Thread(target=self._run, name="share-views", daemon=True)
                self._writer.start()
                atexit.register(self.flush)

    def flush(self, database: str | None = None) -> None:
        """Write the counts kept so far (of one database, or all) in one transaction per database."""
        with self._lock:
            taken = {key: value for key, value in self._pending.items() if database in (None, key[0])}
            for key in taken:
                del self._pending[key]
        by_database: dict[str, list] = {}
        for (path, share_id), (views, last) in taken.items():
            by_database.setdefault(path, []).append((views, last, share_id))
        for path, rows in by_database.items():
            if not os.path.exists(path):
                continue  # a test's database, gone with its test
            db = connect(path)
            try:
                # Bookkeeping, not an edit: no fsync of its own, and nothing kept in memory shows it.
                with without_fsync(db), transaction(db, bump=False):
                    db.conn.executemany("UPDATE shares SET view_count = view_count + ?, last_view_at = ?"
                                        " WHERE id = ?", rows)
            finally:
                db.conn.close()

    def _run(self) -> None:
        """The writer thread: a batch every few seconds."""
        while True:
            timer.sleep(self.every)
            try:
                self.flush()
            except Exception:  # the next batch tries again with whatever arrives; never end the thread
                logging.getLogger("app").exception("写入分享链接查看次数失败")
