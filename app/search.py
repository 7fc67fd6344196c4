"""Full-text search that finds two-character Chinese words.

FTS5's unicode61 tokenizer keeps a run of Chinese as one token, and the trigram tokenizer needs
three characters, while most Chinese words have two (康复, 就业). So the index holds overlapping
character bigrams of Chinese runs ("康复服务" → "康复 复服 服务") next to ordinary words, and a
query is turned into the same bigrams as a phrase: every two-character word is found, longer
words match only where their characters stand together. A single character is a prefix query.
The index is kept by triggers calling cjk_index_text(), registered on every connection.
"""

import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlite_utils

from .bigrams import _CJK, _RUNS, _tokens, cjk_index_text, index_text, plain_text, register_functions  # noqa: F401 (callers name them here)
from .db import all_rows, run_script
from .permissions import ALL_UNITS, reader_scope

if TYPE_CHECKING:
    from .users import User

MAX_QUERY_CHARS = 100
SNIPPET_RADIUS = 36


SCHEMA = """
-- scope holds one token, u<unit id>: a unit's reader searches only the rows of their unit, and FTS5
-- finds those by intersecting two posting lists instead of filtering every match in the district.
CREATE VIRTUAL TABLE search_index USING fts5(
    title, body, scope, report_id UNINDEXED, section_id UNINDEXED, tokenize = 'unicode61'
);
CREATE TRIGGER search_sections_insert AFTER INSERT ON sections WHEN new.deleted_at IS NULL BEGIN
    INSERT INTO search_index (rowid, title, body, scope, report_id, section_id)
    VALUES (new.id, cjk_index_text(new.title), cjk_index_text(new.html),
            (SELECT 'u' || unit_id FROM reports WHERE id = new.report_id), new.report_id, new.id);
END;
CREATE TRIGGER search_sections_update AFTER UPDATE OF title, html, deleted_at ON sections BEGIN
    DELETE FROM search_index WHERE rowid = old.id;
    INSERT INTO search_index (rowid, title, body, scope, report_id, section_id)
    SELECT new.id, cjk_index_text(new.title), cjk_index_text(new.html),
           (SELECT 'u' || unit_id FROM reports WHERE id = new.report_id), new.report_id, new.id
    WHERE new.deleted_at IS NULL;
END;
CREATE TRIGGER search_sections_delete AFTER DELETE ON sections BEGIN
    DELETE FROM search_index WHERE rowid = old.id;
END;
-- Report titles live at negative rowids, so they never collide with section ids.
CREATE TRIGGER search_reports_insert AFTER INSERT ON reports BEGIN
    INSERT INTO search_index (rowid, title, body, scope, report_id, section_id)
    VALUES (-new.id, cjk_index_text(new.title), cjk_index_text(new.preamble_html), 'u' || new.unit_id, new.id, NULL);
END;
CREATE TRIGGER search_reports_update AFTER UPDATE OF title, preamble_html ON reports BEGIN
    DELETE FROM search_index WHERE rowid = -old.id;
    INSERT INTO search_index (rowid, title, body, scope, report_id, section_id)
    VALUES (-new.id, cjk_index_text(new.title), cjk_index_text(new.preamble_html), 'u' || new.unit_id, new.id, NULL);
END;
"""


def rebuild(db: sqlite_utils.Database) -> int:
    """Fill the index from scratch (after the migration, or to repair it); returns rows indexed."""
    db.execute("DELETE FROM search_index")
    db.execute(
        "INSERT INTO search_index (rowid, title, body, scope, report_id, section_id)"
        " SELECT -id, cjk_index_text(title), cjk_index_text(preamble_html), 'u' || unit_id, id, NULL FROM reports"
    )
    db.execute(
        "INSERT INTO search_index (rowid, title, body, scope, report_id, section_id)"
        " SELECT sections.id, cjk_index_text(sections.title), cjk_index_text(sections.html), 'u' || reports.unit_id,"
        " report_id, sections.id FROM sections JOIN reports ON reports.id = sections.report_id"
        " WHERE sections.deleted_at IS NULL"
    )
    return db.execute("SELECT count(*) FROM search_index").fetchone()[0]


def match_expression(query: str) -> str | None:
    """The FTS5 MATCH text for what a person typed; None when nothing searchable is left.

    Built only from our own quoted tokens: quotes, NEAR(, * or parentheses typed by the user
    are never FTS syntax.
    """
    parts = []
    for term in query[:MAX_QUERY_CHARS].split():
        tokens = _tokens(term)
        if not tokens:
            continue
        if len(tokens) == 1 and len(tokens[0]) == 1 and re.match(rf"[{_CJK}]", tokens[0]):
            parts.append(f'"{tokens[0]}"*')  # one character: bigrams starting with it
        else:
            parts.append('"' + " ".join(tokens) + '"')
    return " AND ".join(parts) if parts else None


@dataclass(frozen=True)
class Hit:
    """One search result: where it is and a highlighted snippet (escaped HTML)."""

    report_id: int
    section_id: int | None
    report_title: str
    unit_name: str
    year: int
    status: str
    heading: str
    snippet: str
    rank: float


def _terms(query: str) -> list[str]:
    """The words to highlight: what was typed, split on spaces, searchable parts only."""
    terms = []
    for term in query[:MAX_QUERY_CHARS].split():
        terms += _RUNS.findall(term)
    return sorted(set(terms), key=len, reverse=True)


def highlight(text: str, query: str, radius: int = SNIPPET_RADIUS) -> str:
    """A window of text around the first match, escaped, with every match in <mark>."""
    terms = _terms(query)
    text = " ".join(text.split())
    if not terms:
        return html.escape(text[: radius * 2])
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, first.start() - radius) if first else 0
    end = min(len(text), (first.end() if first else 0) + radius)
    window = text[start:end]
    pieces, last = [], 0
    for match in pattern.finditer(window):
        pieces.append(html.escape(window[last:match.start()]))
        pieces.append(f"<mark>{html.escape(match.group())}</mark>")
        last = match.end()
    pieces.append(html.escape(window[last:]))
    return ("…" if start else "") + "".join(pieces) + ("…" if end < len(text) else "")


# Ranking reads every match's positions: over a district's 400,000 sections a common word has
# hundreds of thousands of matches (a second or more). So the newest POOL matching sections (and
# report titles) are ranked, which FTS5 reads in rowid order and stops.
POOL = 1000

_FOUND = """
SELECT * FROM (SELECT report_id, section_id, rowid AS hit, bm25(search_index, 5.0, 1.0, 0.0) AS rank
               FROM search_index WHERE search_index MATCH :match AND rowid > 0 ORDER BY rowid DESC LIMIT :pool)
UNION ALL
SELECT * FROM (SELECT report_id, section_id, rowid AS hit, bm25(search_index, 5.0, 1.0, 0.0) AS rank
               FROM search_index WHERE search_index MATCH :match AND rowid < 0 ORDER BY rowid LIMIT :pool)
"""


def _match(user: "User", expression: str) -> str:
    """The full MATCH text: the words in titles and text, within the user's unit unless an admin."""
    words = f"{{title body}} : ({expression})"
    scope = reader_scope(user)
    return words if scope == ALL_UNITS else f'scope : "u{int(scope or 0)}" AND {words}'


def search(db: sqlite_utils.Database, user: "User", query: str, limit: int = 50, offset: int = 0) -> list[Hit]:
    """Ranked hits in the reports the user may see (among the newest POOL matches)."""
    expression = match_expression(query)
    if expression is None:
        return []
    scope = reader_scope(user)
    unit = None if scope == ALL_UNITS else scope  # None: every unit (admins, 监管人员)
    rows = all_rows(
        db,
        "WITH found AS (" + _FOUND + ")"  # noqa: S608 (fixed SQL, bound values)
        " SELECT found.report_id, found.section_id, found.rank,"
        " reports.title AS report_title, reports.year, reports.status, reports.preamble_html,"
        " units.name AS unit_name, sections.title AS section_title, sections.html AS section_html"
        " FROM found JOIN reports ON reports.id = found.report_id"
        " JOIN units ON units.id = reports.unit_id"
        " LEFT JOIN sections ON sections.id = found.section_id"
        " WHERE (:unit IS NULL OR reports.unit_id = :unit)"
        " ORDER BY found.rank, found.hit DESC LIMIT :limit OFFSET :offset",
        {"match": _match(user, expression), "unit": unit, "pool": POOL, "limit": limit, "offset": offset},
    )
    hits = []
    for row in rows:
        if row["section_id"] is None:
            heading, text = row["report_title"], plain_text(row["preamble_html"]) or row["report_title"]
        else:
            heading, text = row["section_title"], row["section_title"] + "：" + plain_text(row["section_html"])
        hits.append(Hit(row["report_id"], row["section_id"], row["report_title"], row["unit_name"],
                        row["year"], row["status"], heading, highlight(text, query), row["rank"]))
    return hits


def more_than_pool(db: sqlite_utils.Database, user: "User", query: str) -> bool:
    """Whether more sections match than are ranked (the page then asks for more words)."""
    expression = match_expression(query)
    if expression is None:
        return False
    return db.execute(
        "SELECT count(*) FROM (SELECT 1 FROM search_index WHERE search_index MATCH ? AND rowid > 0"
        " ORDER BY rowid DESC LIMIT ?)", (_match(user, expression), POOL + 1)).fetchone()[0] > POOL


def install(db: sqlite_utils.Database) -> None:
    """Create the index and its triggers, then index what exists (the migration step)."""
    run_script(db, SCHEMA)
    rebuild(db)


def reinstall(db: sqlite_utils.Database) -> None:
    """Replace an older index and its triggers by the current ones, and index everything again."""
    for trigger in ("sections_insert", "sections_update", "sections_delete", "reports_insert", "reports_update"):
        db.execute(f"DROP TRIGGER IF EXISTS search_{trigger}")
    db.execute("DROP TABLE IF EXISTS search_index")
    install(db)
