"""The real server (flask serve / waitress) as a subprocess that can be killed and restarted, and a
small HTTP client that logs in through the form and saves sections the way htmx does."""

import http.client
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 20.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers_200(url: str) -> bool:
    """Whether the URL answers 200 right now (a server coming up does not, yet)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback http)
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


class LiveServer:
    """`python -m flask --app app serve` over a given database, on a fixed loopback port."""

    def __init__(self, database: Path, log_path: Path, threads: int = 8):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.threads = threads
        self.proc: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "FLASK_DATABASE": str(database),
            # Fixed, so sessions stay valid across restarts.
            "FLASK_SECRET_KEY": "live-server-secret",
            "FLASK_LOAD_SAMPLE": "false",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> float:
        """Start the server and wait until /healthz answers; return how long that took."""
        started = time.monotonic()
        with open(self.log_path, "a", encoding="utf-8") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--threads", str(self.threads)],
                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = started + STARTUP_TIMEOUT
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not come up (exit code {self.proc.poll()}):\n{self.log()[-4000:]}")
            time.sleep(0.05)
        return time.monotonic() - started

    def healthz(self) -> dict | None:
        """The /healthz answer, or None when the server does not answer."""
        import json

        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:  # noqa: S310 (loopback)
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            return None

    def healthy(self) -> bool:
        """Whether /healthz says ok."""
        answer = self.healthz()
        return bool(answer) and answer.get("status") == "ok"

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flushing, nothing the process could do about it."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Ask the server to stop; kill it if it does not."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        """Everything the server wrote so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def logged(self, pattern: str, timeout: float = 10.0) -> re.Match | None:
        """The first log line matching a regular expression, waiting for it: the server writes its log lines
        from a thread of their own, a moment after the answer has gone out."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.log())
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


class Reply:
    """Status and body of one request; status 0 when the connection failed."""

    def __init__(self, status: int, body: str, error: str = ""):
        self.status, self.body, self.error = status, body, error


class Client:
    """One browser: its own cookies, the CSRF token from the page's meta tag."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.token = ""

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None) -> Reply:
        """Send one request; HTTP errors are replies, connection failures are status 0."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(req, timeout=REQUEST_TIMEOUT) as response:
                return Reply(response.status, response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            with error:  # an HTTPError holds the open response: close it, or its socket leaks
                try:
                    return Reply(error.code, error.read().decode("utf-8", "replace"))
                except (http.client.HTTPException, OSError) as cut:
                    return Reply(0, "", repr(cut))
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as error:
            # The answer was cut off (the server died mid-response): unknown whether it was saved.
            return Reply(0, "", repr(error))

    def login(self, username: str, password: str) -> None:
        """Log in through the real form (CSRF token from the meta tag), keep the page's token."""
        page = self.request("GET", "/login")
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.body).group(1)
        # Success is a 303 to the home page (followed here); failure answers the form again.
        home = self.request("POST", "/login", {"username": username, "password": password, "csrf_token": token})
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', home.body)
        if home.status != 200 or match is None or 'name="password"' in home.body:
            raise RuntimeError(f"login as {username} failed: {home.status} {home.error}")
        self.token = match.group(1)

    def version(self, report_id: int, section_id: int) -> int | None:
        """The section's current version, as the edit form carries it; None if unreachable."""
        reply = self.request("GET", f"/reports/{report_id}/sections/{section_id}/edit", headers={"HX-Request": "true"})
        match = re.search(r'name="version" value="(\d+)"', reply.body)
        return int(match.group(1)) if reply.status == 200 and match else None

    def save(self, report_id: int, section_id: int, markdown: str, version: int) -> Reply:
        """POST the section as htmx does: fields markdown and version, the token in X-CSRFToken."""
        return self.request("POST", f"/reports/{report_id}/sections/{section_id}",
                            {"markdown": markdown, "version": str(version)},
                            {"X-CSRFToken": self.token, "HX-Request": "true"})


def saved_version(reply: Reply) -> int | None:
    """The version a 200 save answered with (the section fragment's data-version)."""
    match = re.search(r'data-version="(\d+)"', reply.body)
    return int(match.group(1)) if match else None


PASSWORD = "live-server-pass-42"


def build_database(path: Path, editors: int, sections: int) -> tuple[int, list[int]]:
    """A fresh database: an admin, one unit with editor1…editorN, a draft report; (report id, section ids)."""
    from app import db as database
    from app.outline import ParsedReport, ParsedSection
    from app.reports import create_report
    from app.schema import migrate
    from app.users import create_user, get_or_create_unit, get_user
    from tests.passwords import CHEAP_HASH

    db = database.connect(str(path))
    try:
        migrate(db)
        admin_id = create_user(db, "admin", "admin", PASSWORD, display_name="管理员", method=CHEAP_HASH)
        unit_id = get_or_create_unit(db, "广州市荔湾区残疾人联合会")
        for n in range(1, editors + 1):
            create_user(db, f"editor{n}", "editor", PASSWORD, display_name=f"填报人{n}", unit_id=unit_id,
                        method=CHEAP_HASH)
        outline = [ParsedSection(1, f"第{n}部分") for n in range(1, sections + 1)]
        parsed = ParsedReport("2024年度压力测试报告", "", outline)
        report_id = create_report(db, get_user(db, admin_id), unit_id, 2024, parsed)
        section_ids = [row[0] for row in db.execute(
            "SELECT id FROM sections WHERE report_id = ? AND deleted_at IS NULL ORDER BY position", (report_id,))]
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.conn.close()
    return report_id, section_ids
