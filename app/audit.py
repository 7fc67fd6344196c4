"""The append-only audit trail; each row is chained to the previous one by a SHA-256 hash."""

import hashlib
import json

import sqlite_utils

from . import clock
from .db import all_rows, one

GENESIS = "0" * 64


def _row_hash(prev_hash: str, row: dict) -> str:
    """Hash of a row's content together with the hash of the row before it."""
    payload = json.dumps(
        [prev_hash, row["at"], row["actor_id"], row["action"], row["report_id"],
         row["section_id"], row["detail"]],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(
    db: sqlite_utils.Database,
    action: str,
    actor_id: int | None = None,
    report_id: int | None = None,
    section_id: int | None = None,
    **detail,
) -> None:
    """Append one audit row; call inside the write transaction of the action it records."""
    last = one(db, "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
    prev_hash = last["hash"] if last else GENESIS
    row = {
        "at": clock.now(),
        "actor_id": actor_id,
        "action": action,
        "report_id": report_id,
        "section_id": section_id,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
    }
    row["prev_hash"] = prev_hash
    row["hash"] = _row_hash(prev_hash, row)
    db.execute(
        "INSERT INTO audit_log (at, actor_id, action, report_id, section_id, detail, prev_hash, hash)"
        " VALUES (:at, :actor_id, :action, :report_id, :section_id, :detail, :prev_hash, :hash)",
        row,
    )


def verify_chain(db: sqlite_utils.Database) -> int | None:
    """The id of the first row whose hash does not match, or None when the chain is intact."""
    prev_hash = GENESIS
    for row in db.query("SELECT * FROM audit_log ORDER BY id"):
        if row["prev_hash"] != prev_hash or row["hash"] != _row_hash(prev_hash, row):
            return row["id"]
        prev_hash = row["hash"]
    return None


def for_report(db: sqlite_utils.Database, report_id: int, limit: int = 50) -> list[dict]:
    """The latest audit rows of one report, newest first, with the actor's name."""
    return all_rows(
        db,
        "SELECT audit_log.*, users.display_name AS actor_name FROM audit_log"
        " LEFT JOIN users ON users.id = audit_log.actor_id"
        " WHERE report_id = ? ORDER BY audit_log.id DESC LIMIT ?",
        (report_id, limit),
    )
