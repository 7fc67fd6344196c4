"""Tables and indexes, built by named migrations applied in order and recorded in user_version."""

import re
from collections.abc import Callable

import sqlite_utils

from . import audit, facts
from .cleantext import clean, needs_cleaning
from .db import run_script, transaction


def _0001_initial(db: sqlite_utils.Database) -> None:
    """Units, users, reports, sections, revisions and the audit log."""
    run_script(db,
        """
        CREATE TABLE units (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            code TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            display_name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'reviewer', 'approver', 'viewer')),
            unit_id INTEGER REFERENCES units(id),
            active INTEGER NOT NULL DEFAULT 1,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            last_login_at TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            unit_id INTEGER NOT NULL REFERENCES units(id),
            year INTEGER NOT NULL,
            title TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'submitted', 'reviewed', 'approved')),
            preamble TEXT NOT NULL DEFAULT '',
            preamble_html TEXT NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id),
            updated_at TEXT NOT NULL,
            updated_by INTEGER REFERENCES users(id),
            UNIQUE (unit_id, year)
        );
        -- Sections are stored flat in document order: (position, level) is the whole
        -- outline, a section's parent is the nearest earlier section of a lower level,
        -- and the displayed number (一、（一）1.（1）) is computed from it on read.
        CREATE TABLE sections (
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
            kind TEXT NOT NULL DEFAULT 'narrative',
            title TEXT NOT NULL,
            markdown TEXT NOT NULL DEFAULT '',
            html TEXT NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by INTEGER REFERENCES users(id),
            deleted_at TEXT,
            deleted_by INTEGER REFERENCES users(id)
        );
        CREATE INDEX sections_report_position ON sections (report_id, position)
            WHERE deleted_at IS NULL;
        CREATE TABLE revisions (
            id INTEGER PRIMARY KEY,
            section_id INTEGER NOT NULL REFERENCES sections(id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            title TEXT NOT NULL,
            markdown TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id),
            UNIQUE (section_id, version)
        );
        -- Append-only: each row carries the hash of the one before it, so an edited
        -- or deleted row breaks the chain.
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor_id INTEGER REFERENCES users(id),
            action TEXT NOT NULL,
            report_id INTEGER,
            section_id INTEGER,
            detail TEXT NOT NULL DEFAULT '{}',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_log_report ON audit_log (report_id, id);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE INDEX reports_updated ON reports (updated_at);
        """
    )


def _0002_workflow(db: sqlite_utils.Database) -> None:
    """Workflow events, frozen editions and review comments."""
    run_script(
        db,
        """
        -- A frozen snapshot made at approval; share links and final prints read these.
        CREATE TABLE editions (
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES reports(id),
            number INTEGER NOT NULL,
            unit_name TEXT NOT NULL,
            year INTEGER NOT NULL,
            title TEXT NOT NULL,
            html TEXT NOT NULL,
            content TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            approved_by INTEGER REFERENCES users(id),
            approved_at TEXT NOT NULL,
            UNIQUE (report_id, number)
        );
        CREATE TRIGGER editions_no_update BEFORE UPDATE ON editions
            BEGIN SELECT RAISE(ABORT, 'editions are immutable'); END;
        CREATE TRIGGER editions_no_delete BEFORE DELETE ON editions
            BEGIN SELECT RAISE(ABORT, 'editions are immutable'); END;
        CREATE TABLE workflow_events (
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES reports(id),
            action TEXT NOT NULL,
            from_status TEXT NOT NULL,
            to_status TEXT NOT NULL,
            actor_id INTEGER REFERENCES users(id),
            reason TEXT NOT NULL DEFAULT '',
            -- {section id: version} of every live section at the moment of the transition
            revisions TEXT NOT NULL DEFAULT '{}',
            edition_id INTEGER REFERENCES editions(id),
            created_at TEXT NOT NULL
        );
        CREATE INDEX workflow_events_report ON workflow_events (report_id, id);
        CREATE TRIGGER workflow_events_no_update BEFORE UPDATE ON workflow_events
            BEGIN SELECT RAISE(ABORT, 'workflow_events is append-only'); END;
        CREATE TABLE comments (
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES reports(id),
            section_id INTEGER REFERENCES sections(id),
            parent_id INTEGER REFERENCES comments(id),
            event_id INTEGER REFERENCES workflow_events(id),
            author_id INTEGER REFERENCES users(id),
            body TEXT NOT NULL,
            body_html TEXT NOT NULL,
            created_at TEXT NOT NULL,
            resolved_at TEXT,
            resolved_by INTEGER REFERENCES users(id)
        );
        CREATE INDEX comments_report ON comments (report_id, section_id, id);
        -- The admin audit page filters by time and by actor.
        CREATE INDEX audit_log_at ON audit_log (at);
        CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
        """,
    )


def _0003_shares(db: sqlite_utils.Database) -> None:
    """Read-only share links: only the token's hash is stored."""
    run_script(
        db,
        """
        CREATE TABLE shares (
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES reports(id),
            -- NULL shares the live draft: only by an explicit choice, and marked 草稿 everywhere.
            edition_id INTEGER REFERENCES editions(id),
            token_hash TEXT NOT NULL UNIQUE,
            note TEXT NOT NULL DEFAULT '',
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            expires_at TEXT,
            revoked_at TEXT,
            revoked_by INTEGER REFERENCES users(id),
            view_count INTEGER NOT NULL DEFAULT 0,
            last_view_at TEXT
        );
        CREATE INDEX shares_report ON shares (report_id, id);
        """,
    )


def _0004_form(db: sqlite_utils.Database) -> None:
    """The 自评表: header, goals, scoring rules (one row each per report), budget lines and indicators."""
    # Money is 万元 as exact decimal text with two places (2162.14); other quantities are decimal
    # text too (3294, 2.5). Never REAL: a float cannot hold 0.1 exactly.
    run_script(
        db,
        """
        CREATE TABLE form_headers (
            report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
            contact_name TEXT NOT NULL DEFAULT '',
            contact_phone TEXT NOT NULL DEFAULT '',
            filled_on TEXT NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 1,
            updated_at TEXT,
            updated_by INTEGER REFERENCES users(id)
        );
        CREATE TABLE goals (
            report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
            target TEXT NOT NULL DEFAULT '',
            actual TEXT NOT NULL DEFAULT '',
            unmet_reason TEXT NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 1,
            updated_at TEXT,
            updated_by INTEGER REFERENCES users(id)
        );
        -- The scoring template of the report: the execution weight and, as JSON, the qualitative
        -- coefficients, grade bands and over-achievement threshold (provinces differ).
        CREATE TABLE scoring_rules (
            report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
            budget_weight TEXT NOT NULL DEFAULT '10' CHECK (typeof(budget_weight) = 'text'),
            rules TEXT NOT NULL CHECK (json_valid(rules)),
            version INTEGER NOT NULL DEFAULT 1,
            updated_at TEXT,
            updated_by INTEGER REFERENCES users(id)
        );
        CREATE TABLE budget_lines (
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            source TEXT NOT NULL,
            initial TEXT CHECK (initial IS NULL OR (typeof(initial) = 'text' AND initial GLOB '*[0-9].[0-9][0-9]')),
            adjusted TEXT CHECK (adjusted IS NULL OR (typeof(adjusted) = 'text' AND adjusted GLOB '*[0-9].[0-9][0-9]')),
            executed TEXT CHECK (executed IS NULL OR (typeof(executed) = 'text' AND executed GLOB '*[0-9].[0-9][0-9]')),
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by INTEGER REFERENCES users(id)
        );
        CREATE INDEX budget_lines_report ON budget_lines (report_id, position);
        CREATE TABLE indicators (
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            level1 TEXT NOT NULL,
            level2 TEXT NOT NULL DEFAULT '',
            name TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'quantitative' CHECK (kind IN ('quantitative', 'qualitative')),
            direction TEXT NOT NULL DEFAULT '>=' CHECK (direction IN ('>=', '<=', '=')),
            unit TEXT NOT NULL DEFAULT '',
            target TEXT NOT NULL DEFAULT '',
            actual TEXT NOT NULL DEFAULT '',
            rating TEXT CHECK (rating IS NULL OR rating IN ('达成', '部分达成', '未达成')),
            weight TEXT NOT NULL CHECK (typeof(weight) = 'text'),
            override_score TEXT CHECK (override_score IS NULL OR typeof(override_score) = 'text'),
            override_reason TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by INTEGER REFERENCES users(id)
        );
        CREATE INDEX indicators_report ON indicators (report_id, position);
        INSERT INTO form_headers (report_id) SELECT id FROM reports;
        INSERT INTO goals (report_id) SELECT id FROM reports;
        -- Existing reports get the default rules (as of this migration; later templates may differ).
        INSERT INTO scoring_rules (report_id, budget_weight, rules) SELECT id, '10',
            '{"qualitative": {"达成": "1", "部分达成": "0.6", "未达成": "0"}, "grades": [{"grade": "优", "min": "90"},'
            || ' {"grade": "良", "min": "80"}, {"grade": "中", "min": "60"}, {"grade": "差", "min": "0"}],'
            || ' "overachievement": "0.5"}'
            FROM reports;
        """,
    )


def _0005_search_units(db: sqlite_utils.Database) -> None:
    """Chinese full-text search (bigram index kept by triggers); units get a parent unit."""
    from .search import install

    install(db)
    run_script(
        db,
        """
        ALTER TABLE units ADD COLUMN parent_id INTEGER REFERENCES units(id);
        -- Next year's report starts as a copy of last year's: remember where from, and which
        -- sections still hold last year's text untouched (未更新).
        ALTER TABLE reports ADD COLUMN cloned_from INTEGER REFERENCES reports(id);
        ALTER TABLE sections ADD COLUMN carried_over INTEGER NOT NULL DEFAULT 0;
        -- Last year's figures shown beside this year's (上年数) in a cloned report's form.
        ALTER TABLE indicators ADD COLUMN prior_actual TEXT;
        ALTER TABLE budget_lines ADD COLUMN prior_executed TEXT;
        CREATE INDEX reports_year_unit ON reports (year, unit_id);
        CREATE INDEX reports_status ON reports (status, updated_at);
        """,
    )


def _0006_sessions(db: sqlite_utils.Database) -> None:
    """Login sessions kept on the server, so that logging out ends a session even if its cookie was copied."""
    run_script(
        db,
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,  -- SHA-256 of the random id in the cookie
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            ended_at TEXT
        );
        CREATE INDEX sessions_user ON sessions (user_id, ended_at);
        CREATE INDEX sessions_created ON sessions (created_at);
        """,
    )


def _0007_search_scope(db: sqlite_utils.Database) -> None:
    """The search index learns each row's unit, so a unit's search no longer filters the whole district."""
    from .search import reinstall

    reinstall(db)


def _0008_report_change_count(db: sqlite_utils.Database) -> None:
    """Each report counts the changes to what its page shows, so a built page is kept until the next one."""
    # Shipped as it was: the tables are listed here, not in a constant that could grow (0016 drops it all).
    shown_on_report_page = ("sections", "comments", "editions", "workflow_events", "form_headers", "goals",
                            "scoring_rules", "budget_lines", "indicators")
    run_script(db, "ALTER TABLE reports ADD COLUMN change_count INTEGER NOT NULL DEFAULT 0;")
    bump = "UPDATE reports SET change_count = change_count + 1"
    for table in shown_on_report_page:
        for event, row in (("insert", "new"), ("update", "new"), ("delete", "old")):
            db.execute(f"CREATE TRIGGER {table}_{event}_changes_report AFTER {event.upper()} ON {table}"  # noqa: S608 (names from the constant above)
                       f" BEGIN {bump} WHERE id = {row}.report_id; END")
    run_script(
        db,
        f"""
        -- The report's own columns (title, status, last editor …); the count itself does not count.
        CREATE TRIGGER reports_update_changes_report AFTER UPDATE ON reports
            WHEN new.change_count = old.change_count
            BEGIN {bump} WHERE id = new.id; END;
        -- Names shown on pages: a unit's on its reports, a person's (as author, editor, approver) anywhere.
        CREATE TRIGGER units_rename_changes_reports AFTER UPDATE OF name ON units
            WHEN new.name IS NOT old.name
            BEGIN {bump} WHERE unit_id = new.id; END;
        CREATE TRIGGER users_rename_changes_reports AFTER UPDATE OF display_name ON users
            WHEN new.display_name IS NOT old.display_name
            BEGIN {bump}; END;
        """,
    )


def _0009_change_counts(db: sqlite_utils.Database) -> None:
    """District-wide change counts: of the unit list, and of what search hits show."""
    run_script(
        db,
        """
        CREATE TABLE change_counts (name TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
        INSERT INTO change_counts (name) VALUES ('units'), ('search');
        CREATE TRIGGER units_insert_counts AFTER INSERT ON units
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'units'; END;
        CREATE TRIGGER units_delete_counts AFTER DELETE ON units
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'units'; END;
        CREATE TRIGGER units_rename_counts AFTER UPDATE OF name ON units
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name IN ('units', 'search'); END;
        -- A search hit shows the report's title, year, state and unit, and the section's title and text.
        CREATE TRIGGER sections_insert_counts AFTER INSERT ON sections
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'search'; END;
        CREATE TRIGGER sections_delete_counts AFTER DELETE ON sections
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'search'; END;
        CREATE TRIGGER sections_update_counts AFTER UPDATE OF title, html, deleted_at ON sections
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'search'; END;
        CREATE TRIGGER reports_insert_counts AFTER INSERT ON reports
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'search'; END;
        CREATE TRIGGER reports_delete_counts AFTER DELETE ON reports
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'search'; END;
        CREATE TRIGGER reports_update_counts AFTER UPDATE OF title, preamble_html, status, year, unit_id ON reports
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'search'; END;
        """,
    )


def _0010_report_list_count(db: sqlite_utils.Database) -> None:
    """A district-wide count of changes to any report row, for the kept report list of the home page."""
    # The list shows each report's unit, year, title, state, last change and its author, and the last
    # workflow step: a change to any of them raises that report's change_count (0008), an update of
    # the row itself, so counting every insert, update and delete of a report row covers them all.
    run_script(
        db,
        """
        INSERT INTO change_counts (name) VALUES ('reports');
        CREATE TRIGGER reports_insert_list_count AFTER INSERT ON reports
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'reports'; END;
        CREATE TRIGGER reports_delete_list_count AFTER DELETE ON reports
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'reports'; END;
        CREATE TRIGGER reports_update_list_count AFTER UPDATE ON reports
            BEGIN UPDATE change_counts SET count = count + 1 WHERE name = 'reports'; END;
        """,
    )


# Text columns that people type or import into; editions stay byte-identical (their content hash is
# what the print page verifies): the exporters make their text safe instead (docx_export.xml_safe).
TYPED_TEXT = {
    "units": ("name", "code"),
    "users": ("display_name",),
    "reports": ("title", "preamble", "preamble_html"),
    "sections": ("title", "markdown", "html"),
    "revisions": ("title", "markdown", "note"),
    "workflow_events": ("reason",),
    "comments": ("body", "body_html"),
    "shares": ("note",),
    "form_headers": ("contact_name", "contact_phone", "filled_on"),
    "goals": ("target", "actual", "unmet_reason"),
    "budget_lines": ("source",),
    "indicators": ("level1", "level2", "name", "unit", "target", "actual", "override_reason", "reason"),
}


def _0011_clean_text_and_edition_files(db: sqlite_utils.Database) -> None:
    """Stored text through the one normalisation (recorded in the audit log); edition files kept once made."""
    repair_text(db)
    run_script(
        db,
        """
        -- An edition never changes, so its PDF and Word files are made once and kept (keyed by the
        -- edition's content hash, so a file can never stand for other content).
        CREATE TABLE edition_files (
            edition_id INTEGER NOT NULL REFERENCES editions(id),
            format TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            body BLOB NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (edition_id, format)
        );
        """,
    )


def repair_text(db: sqlite_utils.Database) -> int:
    """Clean every TYPED_TEXT column (cleantext.clean), one audit row per column changed; the rows changed."""
    db.conn.create_function("clean_text", 1, clean, deterministic=True)
    db.conn.create_function("needs_cleaning", 1, needs_cleaning, deterministic=True)
    changed = 0
    for table, columns in TYPED_TEXT.items():
        for column in columns:
            rows = [r[0] for r in db.execute(
                f"SELECT rowid FROM {table} WHERE needs_cleaning({column})")]  # noqa: S608 (names from TYPED_TEXT)
            if not rows:
                continue
            db.execute(f"UPDATE {table} SET {column} = clean_text({column}) "  # noqa: S608 (names from TYPED_TEXT)
                       f"WHERE needs_cleaning({column})")
            audit.record(db, "text.repair", table=table, column=column, rows=rows[:1000], count=len(rows))
            changed += len(rows)
    return changed


def _0012_notifications_mail(db: sqlite_utils.Database) -> None:
    """Directory accounts and e-mail addresses; notifications in the site; the outbox of mail to send."""
    # No report_id columns: these tables are not on the report page; a link says where.
    run_script(
        db,
        """
        ALTER TABLE users ADD COLUMN email TEXT;
        ALTER TABLE users ADD COLUMN mail_enabled INTEGER NOT NULL DEFAULT 1;
        -- A directory account signs in with the LDAP/AD password; its password_hash stays ''.
        ALTER TABLE users ADD COLUMN directory INTEGER NOT NULL DEFAULT 0;
        -- When the creator was told that the link expires within three days (once per link).
        ALTER TABLE shares ADD COLUMN expiry_noticed_at TEXT;
        CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL,
            message TEXT NOT NULL,
            link TEXT NOT NULL,  -- a path inside the site, e.g. /reports/3#section-12
            created_at TEXT NOT NULL,
            read_at TEXT
        );
        CREATE INDEX notifications_user ON notifications (user_id, read_at, id);
        CREATE INDEX notifications_created ON notifications (created_at);
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            user_id INTEGER REFERENCES users(id),
            recipient TEXT NOT NULL DEFAULT '',
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            link TEXT NOT NULL DEFAULT '',  -- joined to SITE_URL when sent
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
        """,
    )


def _0013_supervisor_role(db: sqlite_utils.Database) -> None:
    """Allow the role supervisor (监管人员) in users.role's CHECK constraint."""
    # Widening a CHECK changes no stored row, so SQLite's documented shortcut for constraint changes
    # applies: rewrite the table's SQL in the schema and bump schema_version, instead of copying the
    # users table (which every other table references, and which other branches may have extended).
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'").fetchone()[0]
    check = re.search(r"CHECK\s*\(\s*role\s+IN\s*\(([^)]*)\)", sql)
    if check is None or "'supervisor'" in check.group(1):
        return
    widened = sql[:check.end(1)] + ", 'supervisor'" + sql[check.end(1):]
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    try:
        db.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'users'", (widened,))
        db.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        db.execute("PRAGMA writable_schema = OFF")
    problems = db.execute("PRAGMA quick_check").fetchall()
    if problems != [("ok",)]:
        raise RuntimeError(f"0013: schema check failed: {problems}")


def _0014_line_breaks(db: sqlite_utils.Database) -> None:
    """Enter means a new paragraph (#16): the cached HTML of every text the new rules change is
    rendered again; editions keep their frozen HTML and are marked as made by the old rules, so that
    their Word export (rendered from their Markdown) still matches what was approved."""
    from .office_text import prepare
    from .render import render_markdown

    # Editions are immutable (a trigger refuses updates): the existing ones take the default, 0;
    # editions.freeze writes 1.
    db.execute("ALTER TABLE editions ADD COLUMN line_breaks INTEGER NOT NULL DEFAULT 0")
    for table, text, cached in (("sections", "markdown", "html"), ("reports", "preamble", "preamble_html"),
                                ("comments", "body", "body_html")):
        # Only texts with a line break or a full-width bar can render differently.
        rows = db.execute(
            f"SELECT id, {text} FROM {table} WHERE instr({text}, char(10)) OR instr({text}, '｜')"  # noqa: S608 (names above)
            f" OR {text} LIKE '　%'"
        ).fetchall()
        for row_id, markdown in rows:
            if prepare(markdown) != markdown:
                db.execute(f"UPDATE {table} SET {cached} = ? WHERE id = ?",  # noqa: S608 (names above)
                           (render_markdown(markdown), row_id))


def _0015_opinions_form_comments_traces(db: sqlite_utils.Database) -> None:
    """Opinions on decisions and the checks seen at submission; comments on form rows; last year's traces."""
    run_script(
        db,
        """
        -- The opinion (审核意见, 审批意见 …) of a submit, pass or approve lives in reason, as a return's does.
        -- The 提交前检查 a submission saw, as JSON: the checks shown on a submitted or approved report.
        ALTER TABLE workflow_events ADD COLUMN checks TEXT;
        -- A comment on a row of the 自评表: 'header', 'goals', 'budget:<id>' or 'indicator:<id>'.
        ALTER TABLE comments ADD COLUMN form_row TEXT;
        -- 确认无需修改: a cloned section whose text stays as last year's on purpose.
        ALTER TABLE sections ADD COLUMN carried_confirmed_by INTEGER REFERENCES users(id);
        ALTER TABLE sections ADD COLUMN carried_confirmed_at TEXT;
        -- Sections edited before this migration had lost 未更新 with their first save: keep it so.
        UPDATE sections SET carried_over = 0 WHERE carried_over = 1 AND version > 1;
        -- 有意保留: a mention of last year kept as an intended comparison, known by the text around it.
        CREATE TABLE year_keeps (
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
            section_id INTEGER NOT NULL REFERENCES sections(id),
            context TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            UNIQUE (section_id, context)
        );
        CREATE INDEX year_keeps_report ON year_keeps (report_id);
        """,
    )
    # On the report page like the tables of 0008: a change is a change of the kept page (0016 drops these).
    bump = "UPDATE reports SET change_count = change_count + 1"
    for event, row in (("insert", "new"), ("update", "new"), ("delete", "old")):
        db.execute(f"CREATE TRIGGER year_keeps_{event}_changes_report AFTER {event.upper()} ON year_keeps"  # noqa: S608 (fixed names)
                   f" BEGIN {bump} WHERE id = {row}.report_id; END")


def _0016_generation(db: sqlite_utils.Database) -> None:
    """One generation number, raised by every write transaction (db.transaction), in place of the change
    counts and the 42 triggers that fed them (0008-0010): the app's one cache (views/kept.py) keys on it."""
    triggers = [name for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND (name LIKE '%\\_changes\\_report%' ESCAPE '\\'"
        " OR name LIKE '%\\_changes\\_reports' ESCAPE '\\' OR name LIKE '%\\_counts' ESCAPE '\\'"
        " OR name LIKE '%\\_list\\_count' ESCAPE '\\')")]
    for name in triggers:
        db.execute(f'DROP TRIGGER "{name}"')
    # Safe to run again (a test may replay the migrations after an earlier one).
    run_script(db, "DROP TABLE IF EXISTS change_counts;")
    if any(column[1] == "change_count" for column in db.execute("PRAGMA table_info(reports)")):
        run_script(db, "ALTER TABLE reports DROP COLUMN change_count;")
    run_script(db, "CREATE TABLE IF NOT EXISTS generation (number INTEGER NOT NULL);")
    if db.execute("SELECT count(*) FROM generation").fetchone()[0] == 0:
        db.execute("INSERT INTO generation (number) VALUES (0)")


def _0017_report_facts(db: sqlite_utils.Database) -> None:
    """Each report's summary facts (facts.py), written with every change of the report; filled here for all."""
    run_script(
        db,
        """
        -- Decimals as text, exactly as the scoring module gives them; rate NULL without a budget.
        CREATE TABLE IF NOT EXISTS report_facts (
            report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
            total TEXT NOT NULL,
            grade TEXT NOT NULL,
            rate TEXT,
            budget_score TEXT NOT NULL,
            indicator_score TEXT NOT NULL,
            adjusted TEXT NOT NULL,
            executed TEXT NOT NULL,
            errors INTEGER NOT NULL,
            warnings INTEGER NOT NULL
        );
        """,
    )
    # With today's code: a later migration that changes what the facts are made from fills them again.
    facts.refresh_all(db)


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("0001_initial", _0001_initial),
    ("0002_workflow", _0002_workflow),
    ("0003_shares", _0003_shares),
    ("0004_form", _0004_form),
    ("0005_search_units", _0005_search_units),
    ("0006_sessions", _0006_sessions),
    ("0007_search_scope", _0007_search_scope),
    ("0008_report_change_count", _0008_report_change_count),
    ("0009_change_counts", _0009_change_counts),
    ("0010_report_list_count", _0010_report_list_count),
    ("0011_clean_text_and_edition_files", _0011_clean_text_and_edition_files),
    ("0012_notifications_mail", _0012_notifications_mail),
    ("0013_supervisor_role", _0013_supervisor_role),
    ("0014_line_breaks", _0014_line_breaks),
    ("0015_opinions_form_comments_traces", _0015_opinions_form_comments_traces),
    ("0016_generation", _0016_generation),
    ("0017_report_facts", _0017_report_facts),
]


def current_version(db: sqlite_utils.Database) -> int:
    """The number of migrations already applied to this database."""
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply the migrations this database has not had yet; return their names."""
    applied = []
    for number, (name, step) in enumerate(MIGRATIONS, start=1):
        with transaction(db, bump=False):  # the generation table is made by 0016
            # Re-read inside the write lock: two processes starting at once apply each step once.
            if current_version(db) >= number:
                continue
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
        applied.append(name)
    return applied
