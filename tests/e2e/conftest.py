"""End-to-end fixtures: the real server (flask serve / waitress) in a subprocess, and headless
Chromium driven by Playwright's sync API, each person in a context of their own with a session from the real
login form (sign_in)."""

import os
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from app import db as database
from app.users import create_user, get_or_create_unit
from tests.livesrv import Client, answers_200, free_port
from tests.passwords import CHEAP_HASH

REPO_ROOT = Path(__file__).resolve().parents[2]
UNIT = "广州市荔湾区残疾人联合会"
# Not valid JSON on purpose: Flask's from_prefixed_env would turn "12345678" into an int.
ADMIN_PASSWORD = "e2e-admin-pass-42"
EDITOR_PASSWORD = "e2e-editor-pass-42"
REVIEWER_PASSWORD = "e2e-reviewer-pass-42"
APPROVER_PASSWORD = "e2e-approver-pass-42"
PASSWORDS = {"admin": ADMIN_PASSWORD, "editor": EDITOR_PASSWORD,
             "reviewer": REVIEWER_PASSWORD, "approver": APPROVER_PASSWORD}
# Display names, as the approval sheet and comment headers show them.
DISPLAY_NAMES = {"editor": "填报人甲", "reviewer": "审核人乙", "approver": "审批人丙"}
STARTUP_TIMEOUT = 20.0
# Debian's Chromium, the browser itself in its headless mode. E2E_CHROMIUM may name another Debian build, such as
# /usr/bin/chromium-headless-shell (package chromium-headless-shell, what Playwright itself runs for headless): lighter,
# but not the browser people use; docs/benchmarks.md, round 8.
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
# Chromium reads only the last --disable-features it is given, so ours repeats Playwright's own list (1.65,
# chromiumSwitches.ts; test_browser_flags.py fails if Playwright's grows) and adds two kinds of work the pages never
# see (docs/benchmarks.md, round 9). The browser's address-bar popup: in the full browser every new window (each
# new_page here) preloads it as a web page in a renderer of its own, which a headless run never shows, half a second
# of CPU per page. RenderDocument: a page opened after another of the same site gets a new frame host in the browser;
# without it the host is reused, as Chromium long did, and each page load costs about a tenth less. What the
# pages show and do is the same either way.
PLAYWRIGHT_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin", "OptimizationHints", "NetworkTimeServiceQuerying",
    "AimEnabled", "PreconnectToSearch", "msForceBrowserSignIn", "msEdgeUpdateLaunchServicesPreferredVersion"]
UNSEEN_WORK_FEATURES = ["WebUIOmniboxPopup", "WebUIOmniboxAimPopup", "PreloadTopChromeWebUI", "RenderDocument"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES + UNSEEN_WORK_FEATURES)]


def flask(env: dict, *args: str) -> str:
    """Run `flask --app app <args>` in the repo root; fail the session with its output if it fails."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        pytest.fail(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def site_env(tmp: Path, **extra: str) -> dict:
    """The environment of a site over a fresh database in `tmp`, with the e2e admin password."""
    return {
        **os.environ,
        "FLASK_DATABASE": str(tmp / "e2e.sqlite"),
        "FLASK_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "FLASK_SECRET_KEY": "e2e-" + secrets.token_urlsafe(32),
        "PYTHONUNBUFFERED": "1",
        # The browser keeps the site's CSS and scripts for the run instead of asking again on every page
        # (four conditional requests a page); what a page is and does stays the same.
        "FLASK_SEND_FILE_MAX_AGE_DEFAULT": "3600",
        **extra,
    }


def add_users(env: dict, users: list[tuple[str, str, str | None]]) -> None:
    """Accounts (username, role, display name) of the sample unit with their e2e passwords, stored as
    `flask create-user` would but without a process (and an app import) each, and with the test accounts'
    cheap hash: the real site checks it as any hash (werkzeug reads the method from it), and a login
    through the form costs no scrypt. The admin of first-run keeps scrypt."""
    db = database.connect(env["FLASK_DATABASE"])
    try:
        unit_id = get_or_create_unit(db, UNIT)
        for username, role, display_name in users:
            create_user(db, username, role, PASSWORDS[username], display_name=display_name, unit_id=unit_id,
                        method=CHEAP_HASH)
    finally:
        db.conn.close()


@contextmanager
def served(tmp: Path, env: dict):
    """`flask serve` over env's database on a free loopback port, up until the block ends; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp / "server.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "serve",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not answers_200(f"{base}/healthz"):
            if proc.poll() is not None or time.monotonic() > deadline:
                output = log_path.read_text(encoding="utf-8", errors="replace")
                print(f"--- server log ({log_path}) ---\n{output}")
                pytest.fail(f"server did not come up on {base} (exit code {proc.poll()})")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def sample_site(tmp: Path, **extra: str):
    """The real site over a fresh database with sample report 1 and an editor, reviewer and approver."""
    env = site_env(tmp, **extra)
    # First-run set-up: the admin and sample report 1 (serve would do the same at start).
    flask(env, "first-run")
    add_users(env, [(username, username, DISPLAY_NAMES[username]) for username in ("editor", "reviewer", "approver")])
    with served(tmp, env) as base:
        yield base


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The real site on a free loopback port, over a fresh database; yields its base URL. Who is editing
    is asked every 2 s rather than 10, so that tests of the marks wait seconds, not polls."""
    with sample_site(tmp_path_factory.mktemp("e2e"), FLASK_PRESENCE_SECONDS="2") as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run (Debian's, not a downloaded one)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no browser at {CHROMIUM} (E2E_CHROMIUM); Debian's are in the packages chromium and "
                    "chromium-headless-shell (apt-get install -y …)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def sign_in(context, base: str, username: str, password: str) -> None:
    """Give a browser context a new session of its own as `username`: the real login form posted over HTTP
    (tests/livesrv.py), its cookie handed to the context. Opening the form, posting it and drawing the home page
    in Chromium cost a second of CPU per test; the form itself is driven in the browser by the keyboard-only
    workflow, the accessibility checks, the summary page and the XSS sweep."""
    client = Client(base)
    client.login(username, password)
    context.add_cookies([{"name": cookie.name, "value": cookie.value, "url": base, "secure": cookie.secure,
                          "httpOnly": cookie.has_nonstandard_attr("HttpOnly"),
                          "sameSite": cookie.get_nonstandard_attr("SameSite", "Lax")} for cookie in client.cookies])


def log_in(browser, base: str, username: str):
    """A fresh, separate browser context on the site at `base`, signed in as `username`, on a blank page."""
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.set_default_timeout(10_000)
    sign_in(context, base, username, PASSWORDS[username])
    return context.new_page()


@pytest.fixture
def login(server, browser):
    """login('editor') → a fresh, separate browser context's page, signed in (sign_in), on a blank page."""
    pages = []

    def _login(username: str = "editor"):
        pages.append(log_in(browser, server, username))
        return pages[-1]

    yield _login
    for page in pages:
        page.context.close()


def answer_confirm(page, answer: str = "确定") -> str:
    """Answer the site's confirmation dialog (askToConfirm in static/js/app.js); returns the question it asked."""
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    question = dialog.inner_text()
    dialog.get_by_role("button", name=answer, exact=True).click()
    expect(dialog).to_have_count(0)
    return question
