"""Editions: the immutable snapshot of a report taken at approval, with a content hash."""

import hashlib
import html
import json

import sqlite_utils

from . import clock
from .db import all_rows, one, transaction
from .exporters import report_content
from .form_render import form_html
from .reports import NotFound
from .sections import get_sections


def snapshot_html(title: str, preamble_html: str, sections) -> str:
    """The whole report as one HTML fragment, from the sections' cached HTML."""
    parts = [f'<h1 class="doc-title">{html.escape(title)}</h1>']
    if preamble_html:
        parts.append(f'<div class="preamble">{preamble_html}</div>')
    for s in sections:
        tag = f"h{s.level + 1}"
        parts.append(
            f'<{tag} class="doc-heading level-{s.level}" id="s{s.id}">'
            f'<span class="number">{html.escape(s.number)}</span>{html.escape(s.title)}</{tag}>'
        )
        if s.html:
            parts.append(f'<div class="doc-body level-{s.level}">{s.html}</div>')
    return "\n".join(parts)


def content_hash(content: dict) -> str:
    """SHA-256 of the canonical JSON of an edition's content."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def freeze(db: sqlite_utils.Database, report: dict, approver_id: int) -> int:
    """Store the report as its next edition (inside the approval's transaction); return its id."""
    sections = get_sections(db, report["id"])  # placeholders ({{总分}}) filled: the values are frozen too
    content = report_content(db, report, sections)
    form, score = content["form"], content["score"]
    number = db.execute(
        "SELECT coalesce(max(number), 0) + 1 FROM editions WHERE report_id = ?", (report["id"],)
    ).fetchone()[0]
    return db.execute(
        "INSERT INTO editions (report_id, number, unit_name, year, title, html, content,"
        " content_hash, approved_by, approved_at, line_breaks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (report["id"], number, report["unit_name"], report["year"], report["title"],
         snapshot_html(report["title"], report["preamble_html"], sections) + "\n"
         + form_html(form, score, report["unit_name"], report["year"]),
         json.dumps(content, ensure_ascii=False), content_hash(content), approver_id, clock.now()),
    ).lastrowid


_EDITION_SQL = (
    "SELECT editions.*, users.display_name AS approved_by_name FROM editions"
    " LEFT JOIN users ON users.id = editions.approved_by"
)


def list_editions(db: sqlite_utils.Database, report_id: int) -> list[dict]:
    """The report's editions, newest first, without their (large) content."""
    return all_rows(
        db,
        "SELECT editions.id, number, approved_at, content_hash, users.display_name AS approved_by_name"
        " FROM editions LEFT JOIN users ON users.id = editions.approved_by"
        " WHERE report_id = ? ORDER BY number DESC",
        (report_id,),
    )


def latest_number(db: sqlite_utils.Database, report_id: int) -> int | None:
    """The number of the report's latest edition, or None before its first approval."""
    return db.execute("SELECT max(number) FROM editions WHERE report_id = ?", (report_id,)).fetchone()[0]


def number_of(db: sqlite_utils.Database, edition_id: int) -> int:
    """An edition's number within its report."""
    return db.execute("SELECT number FROM editions WHERE id = ?", (edition_id,)).fetchone()[0]


def get_edition(db: sqlite_utils.Database, report_id: int, number: int) -> dict:
    """One edition of a report with its content parsed."""
    edition = one(db, _EDITION_SQL + " WHERE report_id = ? AND number = ?", (report_id, number))
    if edition is None:
        raise NotFound("该定稿版本不存在。")
    edition["content"] = json.loads(edition["content"])
    return edition


def verify(edition: dict) -> bool:
    """Whether the stored content still matches its hash."""
    return content_hash(edition["content"]) == edition["content_hash"]


def kept_file(db: sqlite_utils.Database, edition: dict, fmt: str, layout: str) -> bytes | None:
    """The PDF or Word file made earlier from this edition's content in this layout, if any."""
    row = one(db, "SELECT body FROM edition_files WHERE edition_id = ? AND format = ? AND content_hash = ?",
              (edition["id"], fmt, f"{edition['content_hash']}:{layout}"))
    return row["body"] if row else None


def keep_file(db: sqlite_utils.Database, edition: dict, fmt: str, layout: str, body: bytes) -> None:
    """Keep a file made from the edition (one per format: a new layout replaces the old file)."""
    with transaction(db):
        db.execute("INSERT OR REPLACE INTO edition_files (edition_id, format, content_hash, body, created_at)"
                   " VALUES (?, ?, ?, ?, ?)",
                   (edition["id"], fmt, f"{edition['content_hash']}:{layout}", body, clock.now()))
