"""Worlds, one per report state, for the authorization, CSRF and header tests; sending a route's request.

Each world is the template database (tests/conftest.py) taken through approve + reopen (so edition 1
exists), given comments, share links of every kind, a deactivated account and a report of another
unit, then moved to its state. Every principal logs in once. Requests that must be refused run
against the world's database and must leave it unchanged; requests that must succeed each run
against a fresh copy, so that one allowed change (a deleted section, a submitted report) never
changes what the next request sees.
"""

import hashlib
import itertools
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from app import create_app, shares
from app import db as database
from app.comments import add_comment
from app.reports import create_report, get_report, standard_outline
from app.sections import get_sections, save_section
from app.users import create_user, get_user
from app.workflow import perform
from tests.conftest import PASSWORD, Auth, csrf_from
from tests.passwords import CHEAP_HASH
from tests.security.authz_table import CONFLICT, DENY, LOGIN, NOTFOUND, OK, ROUTES, UNAUTH

STATES = ("draft", "submitted", "reviewed", "approved")
PATH_TO = {"draft": [], "submitted": ["submit"], "reviewed": ["submit", "pass"],
           "approved": ["submit", "pass", "approve"]}
# Principal → username (None: not logged in). "deactivated" logs in, then loses its account.
USERNAMES = {"editor": "editor", "reviewer": "reviewer", "approver": "approver", "viewer": "viewer",
             "other_unit": "outsider", "admin": "admin", "supervisor": "supervisor",
             "anonymous": None, "deactivated": "retired"}


@dataclass
class World:
    """One state's app, its database, the ids requests refer to, and a logged-in client per principal."""

    state: str
    app: object
    base: Path
    template: Path
    tmp: Path
    ids: dict
    cookies: dict = field(default_factory=dict)  # principal → session cookie value (None: anonymous)
    tokens: dict = field(default_factory=dict)  # principal → CSRF token
    _copies: itertools.count = field(default_factory=itertools.count)

    def client(self, principal: str) -> Auth:
        """A fresh client carrying the principal's session: a request can never change what the next one sends."""
        auth = Auth(self.app.test_client())
        if self.cookies.get(principal):
            auth.client.set_cookie("session", self.cookies[principal], domain="localhost")
        auth.token = self.tokens[principal]
        return auth

    def use_base(self) -> None:
        """Point the app at the world's own database."""
        self.app.config["DATABASE"] = str(self.base)

    def use_copy(self) -> Path:
        """Point the app at a fresh copy of the world, for a request that may change it."""
        path = self.tmp / f"copy-{next(self._copies)}.sqlite"
        shutil.copyfile(self.template, path)
        self.app.config["DATABASE"] = str(path)
        return path

    @property
    def watch(self) -> "ChangeWatch":
        """The watch on the world's own database, made on first use."""
        if "_watch" not in self.__dict__:
            self.__dict__["_watch"] = ChangeWatch(self.base)
        return self.__dict__["_watch"]

    @property
    def template_digest(self) -> str:
        """The digest of the starting point of every allowed request."""
        if "_template_digest" not in self.__dict__:
            self.__dict__["_template_digest"] = digest(self.template)
        return self.__dict__["_template_digest"]

    def connect(self, path: Path | None = None):
        """A connection to the world's database (or a copy)."""
        return database.connect(str(path or self.base))


def digest(path: Path) -> str:
    """A hash of every row of every table but the login sessions (whose last-seen time may move)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name != 'sessions' ORDER BY name")]
        h = hashlib.sha256()
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):  # noqa: S608 (names from the schema)
                h.update(repr(row).encode())
        return h.hexdigest()
    finally:
        conn.close()


class ChangeWatch:
    """Cheap "did anything commit?" via PRAGMA data_version, confirmed by a full digest when it moved."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.version = self._version()
        self.baseline = digest(path)

    def _version(self) -> int:
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def unchanged(self) -> bool:
        """Whether the database holds what it held at the start (sessions aside)."""
        version = self._version()
        if version == self.version:
            return True
        self.version = version
        return digest(self.path) == self.baseline


def _leaf_with_next_sibling(sections):
    """A section without children that has a next sibling (so move "down" works)."""
    for index, section in enumerate(sections[:-1]):
        following = sections[index + 1]
        if not section.has_children and following.level == section.level and section.markdown:
            return section
    raise AssertionError("no suitable section in the sample report")


def build_world(template: Path, tmp: Path, state: str) -> World:
    """The world in one state (see the module docstring)."""
    base = tmp / "world.sqlite"
    shutil.copyfile(template, base)
    db = database.connect(str(base))
    admin, reviewer = get_user(db, 1), get_user(db, 4)
    report_id = db.execute("SELECT id FROM reports ORDER BY id LIMIT 1").fetchone()[0]
    unit_id, other_unit = 1, 2
    retired = create_user(db, "retired", "editor", PASSWORD, display_name="将停用", unit_id=unit_id,
                          method=CHEAP_HASH)
    other_report = create_report(db, admin, other_unit, 2024, standard_outline("广州市荔湾区教育局", 2024))
    # Edition 1 exists in every state: approve once, then reopen.
    for action in ("submit", "pass", "approve"):
        perform(db, report_id, admin, action)
    perform(db, report_id, admin, "reopen", "需要补充说明")
    report = get_report(db, admin, report_id)
    sections = get_sections(db, report_id)
    section = _leaf_with_next_sibling(sections)
    # A second revision, so that restoring the first one changes something.
    save_section(db, report, admin, section.id, section.markdown + "\n\n（补充）", section.version)
    comment = add_comment(db, report, reviewer, "请补充数据来源。", section.id)
    add_comment(db, report, reviewer, "整体意见：请核对数字。")
    zone = "Asia/Shanghai"
    tokens = {
        "valid": shares.create_share(db, report, admin, "", "有效", zone, draft=True),
        "expired": shares.create_share(db, report, admin, "7", "将过期", zone, draft=True),
        "revoked": shares.create_share(db, report, admin, "", "将撤销", zone, draft=True),
        "other_report": shares.create_share(db, get_report(db, admin, other_report), admin, "", "他单位", zone,
                                            draft=True),
        "unknown": "A" * 32,
        "malformed": "not-a-token",
    }
    db.execute("UPDATE shares SET expires_at = '2000-01-01T00:00:00.000000+00:00' WHERE note = '将过期'")
    revoked_id = db.execute("SELECT id FROM shares WHERE note = '将撤销'").fetchone()[0]
    shares.revoke_share(db, report, admin, revoked_id)
    valid_share = db.execute("SELECT id FROM shares WHERE note = '有效'").fetchone()[0]
    # The other unit's report lends its own rows to requests that name them under this report's URL.
    theirs = get_sections(db, other_report)[1]
    foreign = {
        "section": theirs.id,
        "revision": db.execute("SELECT id FROM revisions WHERE section_id = ?", (theirs.id,)).fetchone()[0],
        "comment": add_comment(db, get_report(db, admin, other_report), admin, "他单位的意见", theirs.id),
        "share": db.execute("SELECT id FROM shares WHERE note = '他单位'").fetchone()[0],
        "budget": db.execute("SELECT id FROM budget_lines WHERE report_id = ? LIMIT 1", (other_report,)).fetchone()[0],
        "indicators": db.execute("SELECT id FROM indicators WHERE report_id = ? LIMIT 1",
                                 (other_report,)).fetchone()[0],
    }
    for action in PATH_TO[state]:
        perform(db, report_id, admin, action)
    # One unread notification for everyone (so that "mark all read" changes something), one failed mail.
    for username in filter(None, USERNAMES.values()):
        db.execute("INSERT INTO notifications (user_id, kind, message, link, created_at) SELECT id, 'comment',"
                   " '测试通知', '/reports/1', '2025-01-01T00:00:00.000000+00:00' FROM users WHERE username = ?",
                   (username,))
    notification = db.execute("SELECT notifications.id FROM notifications JOIN users ON users.id = user_id"
                              " WHERE username = 'editor' ORDER BY notifications.id DESC LIMIT 1").fetchone()[0]
    mail = db.execute("INSERT INTO outbox (user_id, recipient, subject, body, link, status, next_attempt_at,"
                      " last_error, created_at) VALUES (2, 'editor@example.gov.cn', '主题', '正文', '/reports/1',"
                      " 'failed', '2025-01-01', '550 no such user', '2025-01-01')").lastrowid
    ids = {
        "report": report_id, "other_report": other_report, "section": section.id,
        "revision": db.execute("SELECT id FROM revisions WHERE section_id = ? ORDER BY version LIMIT 1",
                               (section.id,)).fetchone()[0],
        "comment": comment, "share": valid_share, "edition": 1,
        "budget": db.execute("SELECT id FROM budget_lines WHERE report_id = ? ORDER BY position LIMIT 1",
                             (report_id,)).fetchone()[0],
        "indicators": db.execute("SELECT id FROM indicators WHERE report_id = ? ORDER BY position LIMIT 1",
                                 (report_id,)).fetchone()[0],
        "unit": unit_id, "other_unit": other_unit, "target_user": 5, "retired": retired,
        "tokens": tokens, "title": report["title"], "foreign": foreign, "notification": notification,
        "outbox": mail,
    }
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()

    app = create_app({"TESTING": True, "DATABASE": str(base), "SECRET_KEY": "matrix-secret",
                      # Rate limits have their own tests; here they would only add noise.
                      "LOGIN_FAILURES_PER_ADDRESS": 10_000, "SHARE_MISSES_PER_ADDRESS": 10_000,
                      # Accounts made or reset through the admin pages, and the stand-in hash of unknown names.
                      "TEST_PASSWORD_HASH": CHEAP_HASH})
    world = World(state, app, base, tmp / "template.sqlite", tmp, ids)
    for principal, username in USERNAMES.items():
        auth = Auth(app.test_client())
        if username is None:
            auth.token = csrf_from(auth.client.get("/login").text)
        else:
            assert auth.login(username).status_code == 303, principal
        cookie = auth.client.get_cookie("session")
        world.cookies[principal] = cookie.value if cookie else None
        world.tokens[principal] = auth.token
    conn = database.connect(str(base))
    conn.execute("UPDATE users SET active = 0 WHERE id = ?", (retired,))  # the session stays open
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # The frozen starting point of every allowed request (a copy made by SQLite, so it is consistent).
    target = sqlite3.connect(str(world.template))
    conn.conn.backup(target)
    target.close()
    conn.conn.close()
    return world


REFUSALS = {LOGIN, DENY, CONFLICT, NOTFOUND}
# Allowed POSTs that store nothing: previews, and logging out (which ends a session, not data).
CHANGE_NOTHING = {key for key in ROUTES if key.endswith(("/preview", "/presence", "/presence/leave"))} | {
    "POST /logout", "POST /login", "POST /paste"}  # presence is kept in memory, a paste converts only


def _fill(value, ids):
    """A recipe value with the world's ids in place of {report}, {section}, …"""
    return value.format(**ids) if isinstance(value, str) else value


def classify(response) -> str:
    """The outcome a response stands for."""
    status, location = response.status_code, response.headers.get("Location", "")
    if status == 302 and location.startswith("/login"):  # the login check; views answer POSTs with 303
        return LOGIN
    if status == 401:
        return LOGIN if response.headers.get("HX-Redirect", "").startswith("/login") else UNAUTH
    if 200 <= status < 400:
        return OK
    return {403: DENY, 404: NOTFOUND, 409: CONFLICT}.get(status, f"HTTP {status}")


def call(world, key: str, principal: str, want: str, token: str = "valid"):  # noqa: S107 (a kind of link)
    """Send the route's request as the principal; (outcome, response). Refusals must change nothing."""
    method, _ = key.split(" ", 1)
    req = ROUTES[key][1]
    ids = {**world.ids, "token": world.ids["tokens"][token]}
    copy = None
    if want in REFUSALS:
        world.use_base()
        db = world.connect()
    else:
        copy = world.use_copy()
        db = world.connect(copy)
        if req.prepare:
            req.prepare(ids, db)
    data = req.data(ids, db) if callable(req.data) else req.data
    db.conn.close()
    data = {name: _fill(value, ids) for name, value in data.items()}
    url = _fill(req.url, ids)
    auth = world.client(principal)
    if method == "GET":
        response = auth.client.get(url, headers={"HX-Request": "true"} if req.htmx else {})
    else:
        response = auth.post(url, data, htmx=req.htmx)
    response.close()
    got = classify(response)
    if want in REFUSALS:
        if not world.watch.unchanged():
            got += " (and the database changed)"
    elif got == OK and method == "POST" and key not in CHANGE_NOTHING:
        # An allowed change really happened (a 303 after a refused input would not change anything).
        if digest(copy) == world.template_digest:
            got += " (but nothing changed)"
    world.use_base()
    return got, response
