"""绩效自评编制: the Flask application factory."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app, g
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from . import db as database
from .schema import migrate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_REPORT = Path(__file__).resolve().parent / "data" / "liwan-2024-self-evaluation.md"

csrf = CSRFProtect()
login_manager = LoginManager()


def _secret_key(instance_path: str) -> str:
    """The instance's secret key, generated once into instance/secret_key (never in the repo)."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: configuration, database, extensions, blueprints, CLI."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(
        DATABASE=os.path.join(app.instance_path, "app.sqlite"),
        TIMEZONE="Asia/Shanghai",
        LOAD_SAMPLE=True,
        ADMIN_PASSWORD=None,
        MAX_CONTENT_LENGTH=3 * 1024 * 1024,
        # A clerk may keep an edit open all afternoon; the token lives as long as the session.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)

    _migrate(app)

    from .views import install

    # Before CSRFProtect: the request-body checks must run before anything parses the form.
    install(app)
    Htmx(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import cli

    cli.register(app)
    return app


def _migrate(app: Flask) -> None:
    """Bring the database schema up to date at start-up."""
    db = database.connect(app.config["DATABASE"])
    try:
        migrate(db)
    finally:
        db.conn.close()


def get_db():
    """The request's database connection, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = database.connect(current_app.config["DATABASE"])
    return g.db


def close_db(_error=None) -> None:
    """Close the request's connection, if one was opened."""
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()
