"""The XSS corpus in a real browser with the real server and its real CSP: zero executions.

Every payload of tests/security/xss_payloads.py is planted in every user-writable text (section text
and title, preamble, report title, unit name, user display name and username, comment, return and
reopen reasons, share note, 自评表 cells), then every page that shows it is opened in headless
Chromium: report page, htmx fragments after edit, preview, save and conflict, history and diffs,
changes since return, print, edition, approval sheet, share pages, dashboard, search, admin lists.
window.__xss records any call; document.title, dialogs, CSP violations of script and frame sources,
navigation, requests to planted URLs and the live DOM (handlers, javascript: URLs as the browser
resolves them, forbidden elements, htmx code attributes) are checked on every page.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app import db as database
from tests.livesrv import answers_200, free_port
from tests.security.hostile import HOSTILE_PASSWORD, plant
from tests.security.xss_payloads import LEAKS, MARKER, PAYLOADS, TITLE_MARKER, products

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "xss-admin-pass-42"

INIT = """
(() => {
  const hits = [];
  Object.defineProperty(window, "__xss", {value: (n) => { hits.push(String(n)); }, writable: false});
  Object.defineProperty(window, "__xssHits", {value: hits, writable: false});
  const violations = [];
  Object.defineProperty(window, "__csp", {value: violations, writable: false});
  document.addEventListener("securitypolicyviolation", (e) => {
    violations.push([e.effectiveDirective || e.violatedDirective, String(e.blockedURI).slice(0, 80),
                     String(e.sample || "").slice(0, 80)]);
  }, true);
})();
"""

# Read the DOM as the browser built it. An element that carries an inline handler (already a problem)
# is also provoked as a user might (hover, focus, animation; no clicks on the site's own buttons), so
# that the CSP's answer to it is on record too.
JUDGE = """
async ([marker, leaks, products]) => {
  for (const el of document.querySelectorAll("*")) {
    if (![...el.attributes].some((a) => a.name.toLowerCase().startsWith("on"))) continue;
    for (const type of ["mouseover", "mouseenter", "focus", "focusin", "pointerover", "animationstart",
                        "error", "load", "toggle", "begin"]) {
      try { el.dispatchEvent(new Event(type, {bubbles: true})); } catch (e) {}
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 0));
  const problems = [];
  const forbidden = new Set(["IFRAME", "FRAME", "FRAMESET", "OBJECT", "EMBED", "APPLET", "BASE", "PORTAL",
    "svg", "math", "TEMPLATE", "STYLE", "XMP", "PLAINTEXT", "NOSCRIPT", "MARQUEE", "VIDEO", "AUDIO"]);
  const urlAttributes = ["href", "src", "action", "formaction", "data", "xlink:href", "background",
    "poster", "lowsrc", "dynsrc", "codebase", "cite", "ping"];
  const siteScripts = ["/static/vendor/htmx-2.0.11.min.js", "/static/js/app.js", "/static/js/editor.js"];
  let messages = 0;
  for (const el of document.querySelectorAll("*")) {
    const tag = el.tagName;
    if (forbidden.has(tag)) problems.push("element " + tag);
    if (tag === "SCRIPT" && (!siteScripts.includes(el.getAttribute("src")) || el.textContent.trim()))
      problems.push("script " + el.outerHTML.slice(0, 80));
    if (tag === "META" && (el.getAttribute("http-equiv") || "").toLowerCase() === "refresh")
      problems.push("meta refresh");
    if (el.id === "messages") messages += 1;
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase(), value = attr.value;
      if (name.startsWith("on") || name === "srcdoc") problems.push(`${tag} ${name}=${value.slice(0, 60)}`);
      if (urlAttributes.includes(name)) {
        let protocol = "";
        try { protocol = new URL(value, document.baseURI).protocol; } catch (e) {}
        if (["javascript:", "vbscript:", "data:"].includes(protocol))
          problems.push(`${tag} ${name}=${value.slice(0, 60)}`);
      }
      const bare = name.replace(/^data-/, "").replace(/^hx-/, "");
      if (name.startsWith("hx-") || name.startsWith("data-hx-")) {
        if (bare.startsWith("on") || (["vals", "headers"].includes(bare) && /js:|javascript:|__xss/.test(value)) ||
            (["get", "post", "put", "patch", "delete", "trigger", "swap-oob"].includes(bare) && value.includes(marker)))
          problems.push(`${tag} ${name}=${value.slice(0, 60)}`);
      }
      if (name === "style" && /expression|url\\(|binding|javascript/i.test(value))
        problems.push(`${tag} style=${value.slice(0, 60)}`);
    }
  }
  if (messages > 1) problems.push(messages + " elements with id=messages");
  if (document.baseURI !== location.href.split("#")[0] && document.querySelector("base"))
    problems.push("base URI changed to " + document.baseURI);
  const text = document.body ? document.body.innerText : "";
  for (const leak of leaks) if (text.includes(leak)) problems.push("leaked " + leak);
  for (const product of products) if (text.includes(product)) problems.push("template evaluated: " + product);
  return {hits: window.__xssHits.slice(), csp: window.__csp.slice(), title: document.title, problems,
          url: location.href};
}
"""


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    """A real server (flask serve / waitress) over a database with the corpus planted everywhere."""
    tmp = tmp_path_factory.mktemp("xss")
    env = {**os.environ, "FLASK_DATABASE": str(tmp / "xss.sqlite"), "FLASK_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "FLASK_SECRET_KEY": "xss-" + secrets.token_urlsafe(24), "FLASK_LOGIN_FAILURES_PER_ADDRESS": "10000",
           "FLASK_SHARE_MISSES_PER_ADDRESS": "10000", "PYTHONUNBUFFERED": "1",
           # CSS and scripts kept by the browser for the run: 400 pages without four revalidations each.
           "FLASK_SEND_FILE_MAX_AGE_DEFAULT": "3600"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "first-run"], cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=120)
    db = database.connect(env["FLASK_DATABASE"])
    planted = plant(db)
    db.conn.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp / "server.log", "w", encoding="utf-8")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([*flask, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=REPO_ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not answers_200(base + "/healthz"):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp / "server.log").read_text()
            time.sleep(0.1)
        yield base, planted
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


class Sweep:
    """One browser context with the recorder installed; opens pages and collects every problem."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900}, locale="zh-CN")
        self.context.set_default_timeout(20_000)
        self.context.add_init_script(INIT)
        self.problems: list[str] = []
        self.visited = 0
        self.where: dict = {}  # page → what it shows now
        self.going_to: dict = {}  # page → the URL the test itself sent it to
        self.page = self._new_page()

    def _new_page(self):
        page = self.context.new_page()
        page.on("dialog", lambda dialog: self._dialog(page, dialog))
        page.on("request", lambda request: self._request(page, request))
        return page

    def _dialog(self, page, dialog) -> None:
        if dialog.type == "beforeunload":  # the site's own guard of unsaved text
            dialog.accept()
            return
        self.problems.append(f"{self.where.get(page)}: dialog {dialog.message[:60]!r}")
        dialog.dismiss()

    def _request(self, page, request) -> None:
        # A planted picture's URL may hold the payload's text (x%22onerror=…): fetching that is harmless.
        # A script, frame, page or htmx request to a planted URL is not.
        url = request.url
        if request.is_navigation_request() and url == self.going_to.get(page):
            return  # the test's own navigation
        if request.resource_type != "image" and (MARKER in url or "evil.example" in url) or (
                url.endswith("/logout") and request.method == "GET"):
            self.problems.append(f"{self.where.get(page)}: {request.resource_type} request to {url[:100]}")

    def login(self, username: str, password: str) -> None:
        self.page.goto("/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.get_by_role("button", name="登录").click()
        self.page.wait_for_url(lambda url: "/login" not in url)

    def judge(self, where: str, page=None, expected_url: str | None = None) -> None:
        """Check a page (the main one by default) as it stands now."""
        page = page or self.page
        self.where[page] = where
        verdict = page.evaluate(JUDGE, [MARKER, list(LEAKS), sorted(products())])
        self.visited += 1
        self.problems += [f"{where}: __xss({n}) ran" for n in verdict["hits"]]
        self.problems += [f"{where}: {p}" for p in verdict["problems"]]
        if verdict["title"].strip().startswith(TITLE_MARKER):
            self.problems.append(f"{where}: document.title set to {verdict['title']!r}")
        if verdict["title"].startswith("出错了"):
            self.problems.append(f"{where}: an error page")
        for directive, blocked, sample in verdict["csp"]:
            # Markdown may hold pictures from other sites (blocked by img-src, harmless) and tables whose
            # cells carry text-align (style-src-attr). Anything about scripts or frames means markup got in.
            if not directive.startswith(("img-src", "style-src")):
                self.problems.append(f"{where}: CSP {directive} blocked {blocked} {sample!r}")
        if expected_url and verdict["url"].split("#")[0] != expected_url.split("#")[0]:
            self.problems.append(f"{where}: navigated to {verdict['url']}")

    def goto(self, path: str, page=None):
        """Open a page of the site and wait for it to load."""
        page = page or self.page
        self.going_to[page] = urllib.parse.urljoin(self.base, path)
        self.where[page] = path
        return page.goto(path, wait_until="load")

    def visit(self, path: str) -> None:
        """Open a page and judge it."""
        response = self.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        self.judge(path, expected_url=response.url)

    def visit_all(self, paths: list[str]) -> None:
        """Open and judge many pages, one after another (several tabs at once were barely faster on two
        cores, and a tab's load could race its judging)."""
        for path in paths:
            self.visit(path)

    def close(self) -> None:
        self.context.close()


def test_no_payload_runs_anywhere_it_is_shown(browser, hostile_server):
    base, planted = hostile_server
    sweep = Sweep(browser, base)
    try:
        sweep.login("admin", ADMIN_PASSWORD)
        sweep.visit_all(planted.pages())
        assert sweep.visited > 300
    finally:
        sweep.close()
    assert not sweep.problems, "\n".join(sweep.problems[:60])


def test_no_payload_runs_in_the_htmx_fragments_of_editing(browser, hostile_server):
    base, planted = hostile_server
    everything = "\n\n".join(p.text for p in PAYLOADS)
    sweep = Sweep(browser, base)
    page = sweep.page
    try:
        sweep.login("admin", ADMIN_PASSWORD)
        report = f"/reports/{planted.report}"
        section = page.locator(f"#section-{planted.batch_section}")
        # Edit in place: the edit fragment, the live preview, the saved fragment.
        sweep.visit(report)
        section.get_by_role("button", name="编辑").click()
        editor = page.locator(f"#section-{planted.batch_section} textarea[name=markdown]")
        expect(editor).to_be_visible()
        sweep.judge("edit fragment")
        editor.fill(everything + "\n\n改过一次")
        expect(page.locator(f"#section-{planted.batch_section} .preview")).to_contain_text("改过一次")
        sweep.judge("live preview")
        page.locator(f"#section-{planted.batch_section}").get_by_role("button", name="保存").click()
        expect(section.locator(".section-body")).to_contain_text("改过一次")
        sweep.judge("saved fragment")
        # The conflict view: someone else saves meanwhile.
        section.get_by_role("button", name="编辑").click()
        expect(editor).to_be_visible()
        other = Sweep(browser, base)
        try:
            other.login("admin", ADMIN_PASSWORD)
            other.page.goto(report)
            other_section = other.page.locator(f"#section-{planted.batch_section}")
            other_section.get_by_role("button", name="编辑").click()
            other.page.locator(f"#section-{planted.batch_section} textarea[name=markdown]").fill(
                PAYLOADS[-1].text + "\n\n他人先保存")
            other_section.get_by_role("button", name="保存").click()
            # expect() waits 5 s unless told, not the context's 20: a save rendering the corpus may take longer
            # on a machine loaded far past its cores (seen at load 10 on 2 cores).
            expect(other_section.locator(".section-body")).to_contain_text("他人先保存", timeout=20_000)
        finally:
            other.close()
        editor.fill(everything[::-1])
        page.locator(f"#section-{planted.batch_section}").get_by_role("button", name="保存").click()
        # The whole corpus reversed is rendered for the conflict view: allow a slow machine its time.
        expect(page.locator(".conflict")).to_be_visible(timeout=20_000)
        sweep.judge("conflict view")
        # A comment with the corpus, posted in place.
        block = page.locator("#comments-report")
        block.locator("summary", has_text="提意见").click()
        block.locator("textarea[name=body]:not([aria-label=回复])").fill(everything[:5000])  # not a reply box
        block.get_by_role("button", name="发表意见").click()
        expect(page.locator("#comments-report .comment-body").last).to_contain_text("__xss(")
        sweep.judge("comment fragment")
        # A 自评表 row opened, previewed and saved in place.
        row = page.locator("tr[id^=ind-]").last
        row_id = row.get_attribute("id")
        row.get_by_role("button", name="编辑").click()
        form = page.locator(f"#{row_id} form, form#{row_id}, #{row_id}").first
        expect(page.locator(f"#{row_id} textarea, #{row_id} input[name=name]").first).to_be_visible()
        sweep.judge("indicator edit fragment")
        page.locator(f"#{row_id} input[name=name]").fill(PAYLOADS[0].text)
        page.wait_for_timeout(600)  # the live score preview
        sweep.judge("indicator preview")
        form.get_by_role("button", name="保存").click()
        expect(page.locator(f"#{row_id}")).to_contain_text("__xss(1)")
        sweep.judge("indicator saved fragment")
    finally:
        sweep.close()
    assert not sweep.problems, "\n".join(sweep.problems[:60])


def test_users_with_hostile_names_see_their_own_name_as_text(browser, hostile_server):
    base, planted = hostile_server
    # Every hostile name is on the pages of the sweep above (history, replies, account list); here a
    # sample of those users logs in and sees the page header that greets them by name.
    sweep = Sweep(browser, base)
    try:
        for username in planted.users[::10]:
            sweep.context.clear_cookies()
            sweep.login(username, HOSTILE_PASSWORD)
            sweep.judge(f"home of {username}")
    finally:
        sweep.close()
    assert sweep.visited >= 10 and not sweep.problems, "\n".join(sweep.problems[:60])


def _two_of_each_category() -> list:
    """A sample of the corpus: the first two payloads of every category."""
    sample, counts = [], {}
    for payload in PAYLOADS:
        counts[payload.category] = counts.get(payload.category, 0) + 1
        if counts[payload.category] <= 2:
            sample.append(payload)
    return sample


def test_search_and_login_reflect_payloads_as_text(browser, hostile_server):
    # Every payload in every reflected parameter: tests/security/test_xss_server.py. Here two of each category.
    base, planted = hostile_server
    sample = _two_of_each_category()
    admin, anonymous = Sweep(browser, base), Sweep(browser, base)
    try:
        admin.login("admin", ADMIN_PASSWORD)
        admin.visit_all(["/search?" + urllib.parse.urlencode({"q": p.text[:100]}) for p in sample])
        anonymous.visit_all(["/login?" + urllib.parse.urlencode({"next": p.text}) for p in sample])
    finally:
        admin.close()
        anonymous.close()
    problems = admin.problems + anonymous.problems
    assert admin.visited == anonymous.visited == len(sample) >= 28
    assert not problems, "\n".join(problems[:60])


def test_the_real_server_sends_the_security_headers_and_no_version(hostile_server):
    base, planted = hostile_server
    for path in ("/healthz", "/login", "/static/css/app.css", "/no/such/page", f"/s/{planted.draft_token}",
                 "/s/" + "x" * 32):
        try:
            response = urllib.request.urlopen(base + path, timeout=5)  # noqa: S310 (loopback http)
        except urllib.error.HTTPError as error:
            response = error
        headers = response.headers
        assert "Server" not in headers and "X-Powered-By" not in headers, (path, headers.get("Server"))
        assert "script-src 'self'" in headers["Content-Security-Policy"], path
        assert headers["X-Content-Type-Options"] == "nosniff", path
    # waitress's own answer to a request it cannot parse names no server or version either.
    with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=5) as sock:
        sock.sendall(b"GET /\x00 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
        answer = sock.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 400"), answer[:200]
    assert "Server:" not in answer and "waitress" not in answer.lower(), answer
    json.dumps(answer)  # plain text, nothing else
