"""Everyone, every screen (#19): axe-core (WCAG 2.0/2.1 A and AA) on every kind of page in the states people
meet, the whole workflow by keyboard alone, and phones 375 px wide without sideways scrolling.

One server over its own database, prepared with reports in every state (draft, submitted, reviewed, approved,
returned), comments and share links; one browser context per person, reused from page to page. Screenshots at
375 and 1366 px go to test-artifacts/a11y/ for a person to look at.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app import db as database
from app.cloning import clone_report
from app.comments import add_comment
from app.reports import get_report
from app.sections import get_sections
from app.shares import create_share
from app.users import create_user, get_user
from app.workflow import perform
from tests.e2e.conftest import PASSWORDS, UNIT, add_users, flask, served, sign_in, site_env

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "a11y"
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
# The site's CSP (script-src 'self') rightly refuses an injected <script> with inline text, so axe is evaluated
# through the DevTools protocol instead; the site's policy stays as it is.
AXE_SOURCE = AXE.read_text(encoding="utf-8") + "\n;true"
RUN_AXE = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
                                          resultTypes: ["violations"]});
  return result.violations.map((v) => v.id + " (" + v.nodes.length + "): " +
    v.nodes.slice(0, 3).map((n) => n.target.join(" ") + " — " + (n.failureSummary || "").split("\\n")[1]).join(" | "));
}"""
PASSWORDS = {**PASSWORDS, "viewer": "e2e-viewer-pass-42"}
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1366, "height": 768}


class Site:
    """The prepared site: its URL and the ids of reports in each state."""

    def __init__(self, base: str, ids: dict, tokens: dict, section: int):
        self.base, self.ids, self.tokens, self.section = base, ids, tokens, section


def _prepare(path: str) -> tuple[dict, dict, int]:
    """Reports of the sample unit in every state, a comment, a return, share links; returns ids and tokens."""
    db = database.connect(path)
    try:
        users = {u: get_user(db, db.execute("SELECT id FROM users WHERE username = ?", (u,)).fetchone()[0])
                 for u in ("admin", "editor", "reviewer", "approver")}
        unit_id = db.execute("SELECT id FROM units WHERE name = ?", (UNIT,)).fetchone()[0]
        create_user(db, "viewer", "viewer", PASSWORDS["viewer"], "只读丁", unit_id)
        ids = {"draft": 1}
        for offset, state in enumerate(("submitted", "reviewed", "approved", "returned", "keyboard", "dialog"),
                                       start=1):
            ids[state] = clone_report(db, users["admin"], 1, 2024 + offset)
        section = get_sections(db, ids["returned"])[0].id
        for state, steps in {"submitted": ["submit"], "reviewed": ["submit", "pass"],
                             "approved": ["submit", "pass", "approve"], "returned": ["submit"]}.items():
            for action in steps:
                who = {"submit": "editor", "pass": "reviewer", "approve": "approver"}[action]
                perform(db, ids[state], users[who], action)
        returned = get_report(db, users["reviewer"], ids["returned"])
        add_comment(db, returned, users["reviewer"], "请补充自评得分。", section_id=section)
        perform(db, ids["returned"], users["reviewer"], "return", reason="自评结论缺少得分。", section_ids=(section,))
        approved = get_report(db, users["admin"], ids["approved"])
        tokens = {"edition": create_share(db, approved, users["admin"], "30", "供财政局查阅", "Asia/Shanghai"),
                  "draft": create_share(db, get_report(db, users["admin"], 1), users["admin"], "", "",
                                        "Asia/Shanghai", draft=True)}
        return ids, tokens, section
    finally:
        db.conn.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The real server over a database prepared by _prepare."""
    tmp = tmp_path_factory.mktemp("a11y")
    env = site_env(tmp, FLASK_LOGIN_FAILURES_PER_ADDRESS="1000")
    flask(env, "first-run")
    add_users(env, [(username, username, None) for username in ("editor", "reviewer", "approver")])
    ids, tokens, section = _prepare(env["FLASK_DATABASE"])
    with served(tmp, env) as base:
        yield Site(base, ids, tokens, section)


def person(browser, site: Site, username: str | None, viewport=DESKTOP):
    """A browser context of its own, signed in as `username` (None: nobody), on a blank page."""
    context = browser.new_context(base_url=site.base, viewport=viewport, locale="zh-CN")
    context.set_default_timeout(15_000)
    if username:
        sign_in(context, site.base, username, PASSWORDS[username])
    return context.new_page()


class Audit:
    """Runs axe on pages as they stand and collects every violation, named by where it was seen."""

    def __init__(self):
        self.problems: list[str] = []
        self.checked = 0

    def check(self, page, where: str) -> None:
        """Run axe on the page as it stands now."""
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(AXE_SOURCE)
        self.problems += [f"{where}: {v}" for v in page.evaluate(RUN_AXE)]
        self.checked += 1

    def visit(self, page, path: str, status: int = 200) -> None:
        """Open a page and check it."""
        response = page.goto(path)
        assert response is not None and response.status == status, (path, response and response.status)
        self.check(page, path)


def test_axe_finds_nothing_on_any_page_kind(browser, site):
    """Login, home with filters, reports in every state for every role, editors, conflict, history, diff,
    comments, workflow dialogs, print, share, search, admin, audit, approval sheet, error pages."""
    ids, audit = site.ids, Audit()
    anonymous = person(browser, site, None)
    try:
        audit.visit(anonymous, "/login")
        anonymous.fill("input[name=username]", "nobody")
        anonymous.fill("input[name=password]", "wrong-password")
        anonymous.get_by_role("button", name="登录").click()
        expect(anonymous.locator(".message.error, .field-error, [role=alert]").first).to_be_visible()
        audit.check(anonymous, "login with an error")
        audit.visit(anonymous, f"/s/{site.tokens['edition']}")
        audit.visit(anonymous, f"/s/{site.tokens['edition']}/print")
        audit.visit(anonymous, f"/s/{site.tokens['draft']}")
        audit.visit(anonymous, "/s/" + "x" * 43, status=404)
    finally:
        anonymous.context.close()

    admin = person(browser, site, "admin")
    try:
        first = _first_section(admin, ids["draft"])
        for path in ["/", "/?year=2024&status=draft", "/search?q=康复", "/search?q=没有这个词语",
                     "/reports/new", "/reports/import", "/admin/users", "/admin/users/new", "/admin/users/2",
                     "/admin/units", "/admin/audit", "/admin/outbox", "/notifications", "/summary?year=2024",
                     f"/reports/{ids['draft']}", f"/reports/{ids['draft']}/print", f"/reports/{ids['draft']}/shares",
                     f"/reports/{ids['draft']}/activity", f"/reports/{ids['draft']}/form/rules",
                     f"/reports/{ids['draft']}/form/import",
                     f"/reports/{ids['draft']}/sections/{first}/history",
                     f"/reports/{ids['draft']}/comments/new?section_id={first}",
                     f"/reports/{ids['approved']}", f"/reports/{ids['approved']}/editions/1",
                     f"/reports/{ids['approved']}/editions/1/print", f"/reports/{ids['approved']}/editions/1/sheet",
                     f"/reports/{ids['submitted']}/print"]:
            audit.visit(admin, path)
        audit.visit(admin, "/no/such/page", status=404)
        audit.visit(admin, "/reports/99999", status=404)
    finally:
        admin.context.close()
    assert audit.checked >= 30
    assert not audit.problems, "\n".join(audit.problems)


def _first_section(page, report_id: int) -> int:
    """The id of the report's first section, read from its page."""
    page.goto(f"/reports/{report_id}")
    return int(page.locator("#document .section").first.get_attribute("id").removeprefix("section-"))


def test_axe_finds_nothing_in_the_states_people_work_in(browser, site):
    """The open section editor and its live preview, the form-row editor, the conflict view, comments, the
    return dialog, the share link just created; the report as editor, reviewer, approver and viewer."""
    ids, audit = site.ids, Audit()
    editor, other = person(browser, site, "editor"), person(browser, site, "admin")
    try:
        report = f"/reports/{ids['returned']}"
        audit.visit(editor, report)  # returned: the reason beside the section, replies
        editor.goto(f"/reports/{ids['draft']}")
        section = editor.locator("#document .section").nth(2)
        sid = section.get_attribute("id")
        section.get_by_role("button", name="编辑").click()
        textarea = editor.locator(f"#{sid} textarea[name=markdown]")
        expect(textarea).to_be_visible()
        textarea.fill("经自评，本年度目标基本完成。\n\n| 项目 | 数量 |\n|---|---|\n| 康复 | 3294 |")
        expect(editor.locator(f"#{sid} .preview table")).to_be_visible()
        audit.check(editor, "open section editor with preview")
        # Someone else saves the same section meanwhile: the conflict view.
        other.goto(f"/reports/{ids['draft']}")
        other.locator(f"#{sid}").get_by_role("button", name="编辑").click()
        other.locator(f"#{sid} textarea[name=markdown]").fill("他人先保存的文字。")
        other.locator(f"#{sid}").get_by_role("button", name="保存").click()
        expect(other.locator(f"#{sid} .section-body")).to_contain_text("他人先保存")
        editor.locator(f"#{sid}").get_by_role("button", name="保存").click()
        expect(editor.locator(".conflict")).to_be_visible()
        audit.check(editor, "conflict view")
        editor.goto(f"/reports/{ids['draft']}")
        row = editor.locator("tr[id^=ind-]").first
        row.get_by_role("button", name="编辑").click()
        expect(editor.locator("form.row-form, tr.row-edit").first).to_be_visible()
        audit.check(editor, "form-row editor")
        # 填报日期 as people type it, whatever the browser's locale; focus stays in the form's header block.
        editor.goto(f"/reports/{ids['draft']}")
        editor.locator("#form-header").get_by_role("button", name="编辑表头").click()
        expect(editor.locator("#form-header input[name=contact_name]")).to_be_focused()  # into the editor
        date = editor.locator("#form-header input[name=filled_on]")
        audit.check(editor, "form header editor")
        typed_dates = (("2025年3月15日", "2025-03-15"), ("2025/3/16", "2025-03-16"), ("2025-03-17", "2025-03-17"))
        for typed, saved in typed_dates:
            if not date.is_visible():
                editor.locator("#form-header").get_by_role("button", name="编辑表头").click()
            date.fill(typed)
            editor.locator("#form-header").get_by_role("button", name="保存").click()
            expect(editor.locator("#form-header dl")).to_contain_text(saved)
        editor.goto(f"/reports/{ids['draft']}/shares")
        editor.get_by_label(re.compile("分享当前草稿")).check()
        editor.get_by_role("button", name=re.compile("创建")).click()
        expect(editor.locator("input.share-url")).to_be_visible()
        audit.check(editor, "share link just created")
    finally:
        editor.context.close()
        other.context.close()

    reviewer = person(browser, site, "reviewer")
    try:
        audit.visit(reviewer, "/")  # 我的待办
        audit.visit(reviewer, f"/reports/{ids['submitted']}")
        block = reviewer.locator("#comments-report")
        block.locator("summary", has_text="提意见").click()
        audit.check(reviewer, "comment form open")
        section_block = reviewer.locator(".section .comments").first
        section_block.get_by_role("link", name="提意见").click()
        expect(section_block.locator("textarea[name=body]")).to_be_focused()
        audit.check(reviewer, "a section's comment form opened in place")
        reviewer.locator("#workflow summary", has_text="退回修改").click()
        expect(reviewer.locator("#workflow form.reason-form")).to_be_visible()
        audit.check(reviewer, "return dialog open")
        audit.visit(reviewer, f"/reports/{ids['returned']}/changes")
        audit.visit(reviewer, f"/reports/{ids['returned']}/workflow")
    finally:
        reviewer.context.close()
    approver, viewer = person(browser, site, "approver"), person(browser, site, "viewer")
    try:
        audit.visit(approver, f"/reports/{ids['reviewed']}")
        audit.visit(viewer, f"/reports/{ids['approved']}")
        audit.visit(viewer, "/")
    finally:
        approver.context.close()
        viewer.context.close()
    assert audit.checked >= 14
    assert not audit.problems, "\n".join(audit.problems)


WIDTH_PROBLEMS = """() => {
  const width = document.documentElement.clientWidth, wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const skip = ".table-scroll, .summary-table-wrap, .menu-body, .sr-status, .visually-hidden, .skip-link";
    if (el.closest(skip)) continue;
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1) wide.push(el.tagName + "." + el.className + " " + Math.round(box.right));
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""


def test_phones_need_no_sideways_scrolling_and_screenshots_are_kept(browser, site):
    """375 × 740: share page, report page (reading, comments, workflow buttons), 我的待办, search; the top bar
    stays a few lines tall with 退出登录 in view; the outline is a menu; approve and return are thumb-sized."""
    ids = site.ids
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = []
    pages = {"approver": [("home", "/"), ("report-reviewed", f"/reports/{ids['reviewed']}"),
                          ("search", "/search?q=康复"), ("report-returned", f"/reports/{ids['returned']}")],
             None: [("share", f"/s/{site.tokens['edition']}"), ("share-draft", f"/s/{site.tokens['draft']}"),
                    ("login", "/login")]}
    for username, paths in pages.items():
        for viewport, tag in ((PHONE, "375"), (DESKTOP, "1366")):
            page = person(browser, site, username, viewport)
            try:
                for name, path in paths:
                    page.goto(path)
                    page.screenshot(path=str(ARTIFACTS / f"{name}-{tag}.png"), full_page=True)
                    if viewport is PHONE:
                        found = page.evaluate(WIDTH_PROBLEMS)
                        if found["scroll"] > found["width"]:
                            problems.append(f"{path}: {found['scroll']} px wide at 375: {found['wide']}")
                if username and viewport is PHONE:
                    page.goto(f"/reports/{ids['reviewed']}")
                    top = page.locator("header.topbar").bounding_box()
                    assert top["height"] < 200, top
                    expect(page.get_by_role("button", name="退出登录")).to_be_in_viewport()
                    # The outline is a menu: closed, it takes one line; opened, its entries lead to the sections.
                    outline = page.locator("#outline")
                    expect(outline.locator("ol")).to_be_hidden()
                    outline.get_by_role("button", name="目录").click()
                    expect(outline.get_by_role("link").first).to_be_visible()
                    outline.get_by_role("link").nth(1).click()
                    expect(outline.locator("ol")).to_be_hidden()
                    for label in ("审批定稿", "退回修改"):
                        box = page.locator("#workflow").get_by_text(label, exact=True).bounding_box()
                        assert box["height"] >= 44 and box["width"] >= 300, (label, box)
                    approve = page.locator("#workflow").get_by_text("审批定稿", exact=True).bounding_box()
                    back = page.locator("#workflow").get_by_text("退回修改", exact=True).bounding_box()
                    assert approve["y"] < back["y"], "the positive action comes first"
            finally:
                page.context.close()
    assert not problems, "\n".join(problems)
    assert (ARTIFACTS / "report-reviewed-375.png").stat().st_size > 0


ACTIVE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {tag: "BODY"};
  const style = getComputedStyle(el);
  return {tag: el.tagName, name: el.getAttribute("name") || "", text: (el.textContent || "").trim().slice(0, 40),
          section: el.closest(".section") ? el.closest(".section").id : "", outline: style.outlineStyle,
          outlineWidth: parseFloat(style.outlineWidth)};
}"""


def active(page) -> dict:
    """Where the keyboard focus is now."""
    return page.evaluate(ACTIVE)


def press_on(page, locator, key: str = "Enter") -> dict:
    """Move the keyboard focus to an element as Tab would (it must be in the tab order) and press a key."""
    assert locator.evaluate("el => el.tabIndex") >= 0, "not reachable by Tab"
    locator.focus()
    page.keyboard.press("Shift+Tab")  # arrive by keyboard, so :focus-visible applies as it does for a person
    page.keyboard.press("Tab")
    focused = active(page)
    assert focused["outline"] != "none" and focused["outlineWidth"] >= 2, ("focus not visible", focused)
    page.keyboard.press(key)
    return focused


def decide_by_keyboard(page, label: str) -> None:
    """Open a decision (its summary), land in its opinion box, and confirm it: keys only."""
    summary = page.locator("#workflow summary", has_text=label)
    press_on(page, summary)
    expect(page.locator("#workflow details[open] textarea")).to_be_focused()  # the form takes the focus in
    press_on(page, page.locator("#workflow").get_by_role("button", name=f"确认{label}"))
    # The site's confirmation dialog takes the focus in, onto 确定 (a decision is not a deletion).
    expect(page.get_by_role("alertdialog").get_by_role("button", name="确定")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("alertdialog")).to_have_count(0)


def keyboard_person(browser, site, username):
    """Log in with the keyboard alone."""
    page = person(browser, site, None)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/login")
    page.locator("input[name=username]").focus()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS[username])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_the_whole_workflow_by_keyboard_alone(browser, site):
    """Log in, open a section, edit, Ctrl+S, submit, return with a reason, fix, pass, approve, share: keys
    only, focus visible, moved into the editor and back to the section, status changes read out."""
    report = f"/reports/{site.ids['keyboard']}"
    editor = keyboard_person(browser, site, "editor")
    reviewer = keyboard_person(browser, site, "reviewer")
    approver = keyboard_person(browser, site, "approver")
    try:
        editor.goto(report)
        section = editor.locator("#document .section").nth(1)
        sid = section.get_attribute("id")
        press_on(editor, section.get_by_role("button", name="编辑"))
        expect(editor.locator(f"#{sid} textarea[name=markdown]")).to_be_focused()  # into the editor
        editor.keyboard.press("Control+a")
        editor.keyboard.type("按键盘写的第一稿。")
        editor.keyboard.press("Control+s")
        expect(editor.locator(f"#{sid} .section-body")).to_have_text("按键盘写的第一稿。")
        # Back on the section, not <body>: the focus moves with the swap, so wait for it as a person would.
        editor.wait_for_function("id => document.activeElement && document.activeElement !== document.body"
                                 " && document.activeElement.closest('.section')?.id === id", arg=sid, timeout=5000)
        expect(editor.locator("#sr-status")).to_contain_text("已保存")

        decide_by_keyboard(editor, "提交审核")
        expect(editor.locator("#status-badge")).to_have_text("待审核")
        expect(editor.locator("#sr-status")).to_have_text("报告状态已改为：待审核")
        assert active(editor)["tag"] != "BODY"

        reviewer.goto(report)
        summary = reviewer.locator("#workflow summary", has_text="退回修改")
        press_on(reviewer, summary)
        reason = reviewer.locator("#workflow textarea[name=reason]")
        expect(reason).to_be_focused()  # the dialog takes the focus in
        reviewer.keyboard.press("Escape")
        expect(summary).to_be_focused()  # …and gives it back when closed
        expect(reason).to_be_hidden()
        reviewer.keyboard.press("Enter")
        expect(reason).to_be_focused()
        reviewer.keyboard.type("请补充得分。")
        reviewer.keyboard.press("Tab")  # the first section's checkbox, beside its label
        first = reviewer.locator("#workflow .concerned input[type=checkbox]").first
        expect(first).to_be_focused()
        reviewer.keyboard.press("Space")
        expect(first).to_be_checked()
        label_box = reviewer.locator("#workflow .concerned label.check").first.bounding_box()
        box = first.bounding_box()
        assert abs((box["y"] + box["height"] / 2) - (label_box["y"] + label_box["height"] / 2)) < 12, (box, label_box)
        press_on(reviewer, reviewer.locator("#workflow").get_by_role("button", name="确认退回修改"))
        expect(reviewer.locator("#status-badge")).to_have_text("草稿")
        expect(reviewer.locator("#sr-status")).to_have_text("报告状态已改为：草稿")

        editor.goto(report)
        press_on(editor, editor.locator(f"#{sid}").get_by_role("button", name="编辑"))
        expect(editor.locator(f"#{sid} textarea[name=markdown]")).to_be_focused()
        editor.keyboard.press("Control+a")
        editor.keyboard.type("按键盘改好的第二稿，自评得分95分。")
        editor.keyboard.press("Control+s")
        expect(editor.locator(f"#{sid} .section-body")).to_contain_text("第二稿")
        decide_by_keyboard(editor, "提交审核")
        expect(editor.locator("#status-badge")).to_have_text("待审核")

        reviewer.goto(report)
        decide_by_keyboard(reviewer, "审核通过")
        expect(reviewer.locator("#status-badge")).to_have_text("待审批")
        approver.goto(report)
        decide_by_keyboard(approver, "审批定稿")
        expect(approver.locator("#status-badge")).to_have_text("已定稿")
        expect(approver.locator("#sr-status")).to_have_text("报告状态已改为：已定稿")

        editor.goto(f"{report}/shares")
        press_on(editor, editor.get_by_role("button", name=re.compile("创建")))
        expect(editor.locator("input.share-url")).to_be_visible()
        assert "/s/" in editor.locator("input.share-url").input_value()
    finally:
        for page in (editor, reviewer, approver):
            page.context.close()


def test_confirmation_dialog_traps_and_returns_the_focus(browser, site):
    """Deleting a section asks in the site's own modal dialog, never window.confirm: the question names it, the
    focus starts on 取消, Tab and Shift+Tab stay inside, Escape closes it and the focus is back on 删除;
    取消 deletes nothing, 确定 deletes; axe finds nothing in the open dialog. A new row's 取消 asks the same way."""
    page, audit, natives = person(browser, site, "editor"), Audit(), []
    page.on("dialog", lambda dialog: (natives.append(dialog.type), dialog.dismiss()))
    try:
        page.goto(f"/reports/{site.ids['dialog']}")
        section = page.locator("#document .section").last
        sid, title = section.get_attribute("id"), section.locator(".section-title").inner_text()
        menu = section.locator(".section-tools details.menu")
        press_on(page, menu.locator("summary"))
        delete = menu.get_by_role("button", name="删除")
        expect(delete).to_be_visible()
        press_on(page, delete)
        dialog = page.get_by_role("alertdialog", name=re.compile("确定删除"))
        expect(dialog).to_be_visible()
        assert f"确定删除“{title.split()[0]}”" in dialog.get_by_role("heading").inner_text()
        yes, no = dialog.get_by_role("button", name="确定"), dialog.get_by_role("button", name="取消")
        expect(no).to_be_focused()  # a destructive action starts on the safe answer
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "confirm-dialog-1366.png"))
        audit.check(page, "confirmation dialog open")
        for key, there in (("Tab", yes), ("Tab", no), ("Tab", yes), ("Shift+Tab", no), ("Shift+Tab", yes)):
            page.keyboard.press(key)
            expect(there).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)
        expect(delete).to_be_focused()  # back where the person was
        expect(page.locator(f"#{sid}")).to_have_count(1)

        page.keyboard.press("Enter")
        expect(no).to_be_focused()
        page.keyboard.press("Enter")  # 取消
        expect(dialog).to_have_count(0)
        expect(delete).to_be_focused()
        page.wait_for_timeout(300)
        expect(page.locator(f"#{sid}")).to_have_count(1)

        page.keyboard.press("Enter")
        expect(no).to_be_focused()
        page.keyboard.press("Shift+Tab")
        expect(yes).to_be_focused()
        page.keyboard.press("Enter")  # 确定
        expect(page.locator(f"#{sid}")).to_have_count(0)
        # The focus follows the re-rendered document once htmx settles it (not left on <body>).
        page.wait_for_function("() => document.activeElement && document.activeElement !== document.body",
                               timeout=3000)

        # A new, never saved row of the 自评表: its 取消 with typed text asks the same way; 确定 takes the row away.
        page.locator("tr[id^=ind-]").first.locator("details.menu summary").click()
        page.locator("tr[id^=ind-]").first.get_by_role("button", name="在下方插入").click()
        new = page.locator("tr.row-edit")
        expect(new).to_have_count(1)
        new.locator("input[name=name]").fill("未保存的新指标")
        new.get_by_role("button", name="取消").click()
        dialog = page.get_by_role("alertdialog", name=re.compile("尚未保存"))
        expect(dialog.get_by_role("button", name="取消")).to_be_focused()
        dialog.get_by_role("button", name="确定").click()
        expect(new).to_have_count(0)
        # The focus lands on the row above (its 编辑), not on <body>.
        page.wait_for_function("() => document.activeElement && document.activeElement.closest('tr[id^=ind-]')",
                               timeout=3000)
    finally:
        page.context.close()
    assert natives == []
    assert not audit.problems, "\n".join(audit.problems)
