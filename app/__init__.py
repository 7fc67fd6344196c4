"""绩效自评编制: the Flask application factory."""

import logging
import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask
from htmx_flask import Htmx
from htmx_flask.requests import HtmxAwareRequest
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import cached_property

from . import db as database
from . import requestlog
from .backup import backup
from .bootstrap import ROOT, SAMPLE_REPORT  # noqa: F401 (tests and scripts name SAMPLE_REPORT here)
from .cleantext import clean
from .db import get_db  # noqa: F401 (scripts name it here; blueprints import it from db.py)
from .extensions import csrf, login_manager
from .printing import PdfPress
from .sandbox import Gate
from .schema import MIGRATIONS, current_version, migrate


def _secret_key(instance_path: str) -> str:
    """The instance's secret key, generated once into instance/secret_key (never in the repo)."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _cleaned(values: ImmutableMultiDict) -> ImmutableMultiDict:
    """Every name and value of a form or query string through the one normalisation (cleantext.py)."""
    return ImmutableMultiDict([(clean(name), clean(value)) for name, value in values.items(multi=True)])


class CleanRequest(HtmxAwareRequest):
    """A request whose form fields and query arguments every view reads already normalised."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.__dict__["form"] = _cleaned(self.__dict__["form"])

    @cached_property
    def args(self) -> ImmutableMultiDict:
        return _cleaned(super().args)


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
        # The cookie is signed again only when the session changes, not on every request: its expiry stays
        # SESSION_MAX_HOURS after login (the server checks idle and maximum times itself, sessions.py).
        SESSION_REFRESH_EACH_REQUEST=False,
        # A login ends after this long without a request, and this long after it began (README 安全).
        SESSION_IDLE_MINUTES=120,
        SESSION_MAX_HOURS=12,
        # Failed logins from one client address (any accounts) in 15 minutes before it gets 429.
        LOGIN_FAILURES_PER_ADDRESS=10,
        # Unknown share links opened from one client address in a minute before it gets 429.
        SHARE_MISSES_PER_ADDRESS=20,
        # Share views are counted in memory and written every this many seconds (and at shutdown).
        SHARE_VIEWS_SECONDS=5,
        # How often a draft's page asks who is editing which section (the "正在编辑" marks).
        PRESENCE_SECONDS=10,
        # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host/-Prefix (0: none).
        PROXY_FIX=0,
        # PDFs typeset at once (each in a worker process of up to a few hundred MB), how many more
        # requests may wait for a turn, and how long; the rest get 503 with Retry-After at once.
        PDF_WORKERS=1,
        PDF_QUEUE=2,
        PDF_WAIT_SECONDS=20,
        # Uploaded files read at once (each in a worker process), how many more may wait, how long;
        # the rest are asked at once to upload again in a few seconds (429).
        UPLOAD_WORKERS=2,
        UPLOAD_QUEUE=2,
        UPLOAD_WAIT_SECONDS=8,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)
    if app.config.get("TEST_PASSWORD_HASH") and not app.config.get("TESTING"):
        # A cheap hash makes test logins fast; on a real site it would make stolen hashes cheap to crack.
        raise RuntimeError("TEST_PASSWORD_HASH 只能用于测试（TESTING）：正式网站的密码一律用 scrypt 保存。")
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    # The cookie lives no longer than the session it carries (the server checks both limits too).
    app.permanent_session_lifetime = timedelta(hours=float(app.config["SESSION_MAX_HOURS"]))

    _migrate(app)
    app.extensions["pdf_press"] = PdfPress(int(app.config["PDF_WORKERS"]), int(app.config["PDF_QUEUE"]),
                                           float(app.config["PDF_WAIT_SECONDS"]))
    app.extensions["upload_gate"] = Gate(int(app.config["UPLOAD_WORKERS"]), int(app.config["UPLOAD_QUEUE"]),
                                         float(app.config["UPLOAD_WAIT_SECONDS"]))

    from .views import install

    requestlog.install(app)  # first: the request id and clock start before every other hook
    # Before CSRFProtect: the request-body checks must run before anything parses the form.
    install(app)
    Htmx(app)
    app.request_class = CleanRequest  # after Htmx, which installs its own request class
    csrf.init_app(app)
    login_manager.init_app(app)
    from .views.shares import KeptSharePages

    app.wsgi_app = KeptSharePages(app, app.wsgi_app)  # inside ProxyFix: it sees the client's address and prefix
    _trust_proxies(app)

    from . import cli, opscli, sheetcli

    cli.register(app)
    for command in (*opscli.COMMANDS, *sheetcli.COMMANDS):  # backup, restore, seed-scale; spreadsheets
        app.cli.add_command(command)
    return app


def _trust_proxies(app: Flask) -> None:
    """Take client address, scheme, host and path prefix from the configured number of proxies."""
    try:
        hops = int(app.config.get("PROXY_FIX") or 0)
    except (TypeError, ValueError):
        raise RuntimeError(f"PROXY_FIX 须为反向代理的层数（0、1、2…），而不是 {app.config['PROXY_FIX']!r}") from None
    app.config["PROXY_FIX"] = hops
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)


def _migrate(app: Flask) -> None:
    """Bring the database schema up to date at start-up, backing up a database with data first."""
    path = Path(app.config["DATABASE"])
    db = database.connect(str(path))
    try:
        version = current_version(db)
        if 0 < version < len(MIGRATIONS) and path.exists():
            _backup_before_migrating(path, version)
        migrate(db)
    finally:
        db.conn.close()


def _backup_before_migrating(path: Path, version: int) -> None:
    """A checked copy beside the database, so that an upgrade can be undone with `restore`."""
    target = path.with_name(f"{path.stem}-before-migration-{version}-{time.strftime('%Y%m%d-%H%M%S')}.sqlite")
    check = backup(path, target)
    logging.getLogger("app").warning("升级数据库结构（第 %d 版 → 第 %d 版）之前已备份到 %s（%.1f MB）",
                                     version, len(MIGRATIONS), target, check.size / 1024 / 1024)
