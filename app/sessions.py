"""Login sessions kept on the server: a random id in the signed cookie, its hash and times in the database.

Flask's session is a signed cookie, valid as long as its signature: logging out could not take a copied
cookie back. So each login also starts a row here, and every request checks that its row is still open,
has not been idle too long and is not too old. Logging out, a password reset and deactivation end rows.
No Flask here.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlite_utils

from . import clock
from .db import transaction

TOKEN_BYTES = 32
# last_seen_at is written at most this often: a write per page view would cost a disk sync each.
TOUCH_EVERY = timedelta(seconds=60)


def token_hash(token: str) -> str:
    """What the database keeps instead of the cookie's session id (users.session_user reads by it)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(db: sqlite_utils.Database, user_id: int, max_age: timedelta) -> str:
    """Open a session for the user; return the id for the cookie. Sessions long dead are cleared away."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = clock.now()
    stale = (clock.parse(now) - max_age - timedelta(days=1)).isoformat(timespec="microseconds")
    with transaction(db):
        db.execute("DELETE FROM sessions WHERE created_at < ?", (stale,))
        db.execute("INSERT INTO sessions (id, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                   (token_hash(token), user_id, now, now))
    return token


def verdict(db: sqlite_utils.Database, token: str | None, row: dict | None, user_id: int, idle: timedelta,
            max_age: timedelta, touch: bool = True) -> str:
    """Empty when the session may go on (its last-seen time kept, unless not `touch`), else why not: "ended",
    "idle" or "expired". `row` holds the session's columns, prefixed session_, as users.session_user reads them
    for the cookie's `token` (session_id None: no such session)."""
    if not token or not isinstance(token, str) or row is None or row["session_id"] is None:
        return "ended"
    if row["session_user_id"] != user_id or row["session_ended_at"]:
        return "ended"
    now = clock.parse(clock.now())
    if now - clock.parse(row["session_created_at"]) > max_age:
        end(db, token)
        return "expired"
    last_seen = clock.parse(row["session_last_seen_at"])
    if now - last_seen > idle:
        end(db, token)
        return "idle"
    if touch and now - last_seen > TOUCH_EVERY:
        with transaction(db, bump=False):  # bookkeeping: nothing kept in memory shows it
            db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", (now.isoformat(timespec="microseconds"),
                                                                             row["session_id"]))
    return ""


def end(db: sqlite_utils.Database, token: str | None) -> None:
    """End one session (logging out): its cookie is worth nothing from now on, even if copied."""
    if not token or not isinstance(token, str):
        return
    with transaction(db):
        db.execute("UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                   (clock.now(), token_hash(token)))


def end_all(db: sqlite_utils.Database, user_id: int) -> None:
    """End every open session of a user (password reset, deactivation); runs in the caller's transaction."""
    db.execute("UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL", (clock.now(), user_id))


def open_count(db: sqlite_utils.Database, user_id: int) -> int:
    """How many sessions of the user are open."""
    return db.execute("SELECT count(*) FROM sessions WHERE user_id = ? AND ended_at IS NULL", (user_id,)).fetchone()[0]
