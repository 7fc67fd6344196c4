"""Fixtures in flaskr's spirit: app, client, runner, login, plus a bare database for domain tests."""

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from app import SAMPLE_REPORT, create_app
from app import db as database
from app.bootstrap import SAMPLE_FORM_NAME
from app.form_model import load_form_file
from app.importer import parse_upload
from app.reports import create_report
from app.schema import migrate
from app.users import create_user, get_or_create_unit, get_user
from app.views import kept, limits
from tests.passwords import CHEAP_HASH, PASSWORD

SAMPLE_TEXT = SAMPLE_REPORT.read_text(encoding="utf-8")
UNIT = "广州市荔湾区残疾人联合会"


def pytest_configure(config):
    """Python's bytecode caches are written (under __pycache__, which git ignores) even where
    PYTHONDONTWRITEBYTECODE is set: the suite starts over a hundred Python processes (servers, commands, file
    workers), and each would otherwise compile the app's modules again, about a tenth of a second apiece."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the processes the tests start, xdist's workers among them
    sys.dont_write_bytecode = False


@pytest.fixture(scope="session")
def template_database(tmp_path_factory) -> tuple[Path, int]:
    """A database with the sample report and one user per role, built once."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    db = database.connect(str(path))
    migrate(db)
    unit_id = get_or_create_unit(db, UNIT)
    other_id = get_or_create_unit(db, "广州市荔湾区教育局")
    for username, role, unit in [("admin", "admin", None), ("editor", "editor", unit_id),
                                 ("editor2", "editor", unit_id), ("reviewer", "reviewer", unit_id),
                                 ("viewer", "viewer", unit_id), ("outsider", "editor", other_id),
                                 ("approver", "approver", unit_id), ("supervisor", "supervisor", None)]:
        create_user(db, username, role, PASSWORD, display_name=f"{username}姓名", unit_id=unit, method=CHEAP_HASH)
    sample = parse_upload(SAMPLE_TEXT)
    sample.form = load_form_file(SAMPLE_REPORT.with_name(SAMPLE_FORM_NAME))  # as first run loads it
    report_id = create_report(db, get_user(db, 1), unit_id, 2024, sample)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path, report_id


def _new_app(template_database, path: Path):
    """An app over a fresh copy of the template database at `path`."""
    template, report_id = template_database
    shutil.copyfile(template, path)
    app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "test-secret",
                      "LOAD_SAMPLE": True, "TEST_PASSWORD_HASH": CHEAP_HASH})
    app.config["SAMPLE_ID"] = report_id
    return app


@pytest.fixture(scope="module")
def module_app(tmp_path_factory, template_database):
    """One app for a test module: building an app (routes, templates compiled on first use) costs more
    than most tests. Each test still gets its own database and a clean slate (see `app`)."""
    return _new_app(template_database, tmp_path_factory.mktemp("app") / "first.sqlite")


@pytest.fixture
def app(module_app, tmp_path: Path, template_database):
    """The module's app over a fresh copy of the template database, its settings and in-memory state as new."""
    path = tmp_path / "test.sqlite"
    shutil.copyfile(template_database[0], path)
    config = dict(module_app.config)
    module_app.config["DATABASE"] = str(path)  # get_db() opens this file: each thread notices the new path
    limits.install(module_app)  # fresh rate limits
    kept.install(module_app)  # an empty cache (its keys name the database anyway)
    module_app.extensions.pop("presence", None)  # who is editing: forgotten
    yield module_app
    module_app.config.clear()
    module_app.config.update(config)


@pytest.fixture
def fresh_app(tmp_path: Path, template_database):
    """An app of its own, for tests that add routes or hooks to it."""
    return _new_app(template_database, tmp_path / "fresh.sqlite")


@pytest.fixture
def client(app):
    """A browser-less client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A runner for the app's CLI commands."""
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """A connection to the app's database, for looking behind the HTTP interface."""
    conn = database.connect(app.config["DATABASE"])
    yield conn
    conn.conn.close()


@pytest.fixture
def memory_db():
    """An empty migrated in-memory database for domain tests."""
    conn = database.connect(":memory:")
    migrate(conn)
    yield conn
    conn.conn.close()


def csrf_from(html: str) -> str:
    """The CSRF token a page carries in its meta tag."""
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


class Auth:
    """Logs a test client in as one of the fixture users and remembers the CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token = ""

    def login(self, username: str = "editor", password: str = PASSWORD):
        """Log in through the real form, CSRF token included."""
        page = self.client.get("/login")
        response = self.client.post("/login", data={
            "username": username, "password": password, "csrf_token": csrf_from(page.text)})
        # Any page carries the new session's token: the login page is the cheapest to render.
        self.token = csrf_from(self.client.get("/login").text) if response.status_code == 303 else ""
        return response

    def post(self, url: str, data: dict | None = None, htmx: bool = True, **kwargs):
        """POST as htmx does: the token in the X-CSRFToken header."""
        headers = {"X-CSRFToken": self.token}
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.post(url, data=data or {}, headers=headers, **kwargs)

    def get(self, url: str, htmx: bool = False):
        """GET, as a fragment request when htmx is set."""
        return self.client.get(url, headers={"HX-Request": "true"} if htmx else {})


@pytest.fixture
def auth(client):
    """Log the client in as a role: auth.login('reviewer')."""
    return Auth(client)
