"""The approval workflow in a real browser: submit → comment → return → fix → resubmit → pass → approve.

Four users, each in their own browser context. The report is created here (its own year) so the
other e2e tests, which edit report 1, cannot disturb it nor be disturbed by it."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import answer_confirm

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
UNIT = "广州市荔湾区残疾人联合会"
YEAR = "2031"  # no other test creates a report for this year
# As created in conftest.py (add_users, with the display names `create-user --name` would give).
EDITOR_NAME, REVIEWER_NAME, APPROVER_NAME = "填报人甲", "审核人乙", "审批人丙"
HEADING = "（二）自评结论"
FIRST_TEXT = "2031年度部门整体支出绩效目标基本完成。"
FIXED_TEXT = "2031年度部门整体支出绩效目标全面完成，自评得分95分。"
REVIEW_COMMENT = "请补充自评得分。"
RETURN_REASON = "自评结论缺少得分，请补充后重新提交。"
REPLY = "已补充自评得分。"


def section_id(page, heading: str) -> str:
    """The id of the section whose outline entry reads exactly `heading` (number + title)."""
    link = page.locator("#outline").get_by_role("link", name=heading, exact=True)
    expect(link).to_have_count(1)
    return link.get_attribute("href").removeprefix("#section-")


def mark_page(page) -> None:
    """Leave a marker in the window that only a full page load would wipe out."""
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page) -> None:
    """The marker set by mark_page is still there: htmx swapped, nothing reloaded."""
    assert page.evaluate("window.__marker") == 1


def edit_section(page, sid: str, text: str) -> None:
    """编辑 → replace the text → 保存, and wait for the rendered section to come back."""
    section = page.locator(f"#section-{sid}")
    section.hover()
    section.locator(".section-tools").get_by_role("button", name="编辑").click()
    textarea = page.locator(f"#section-{sid}.editing textarea[name=markdown]")
    expect(textarea).to_be_visible()
    textarea.fill(text)
    page.locator(f"#section-{sid}").get_by_role("button", name="保存").click()
    expect(section).not_to_have_class(re.compile(r"\bediting\b"))
    expect(section.locator(".section-body")).to_have_text(text)


def click_confirmed(page, button: str, opinion: str | None = None) -> list[str]:
    """Open a workflow decision, write its opinion if given, confirm it and answer 确定; returns the question."""
    workflow = page.locator("#workflow")
    workflow.locator("summary", has_text=button).click()
    if opinion is not None:
        workflow.locator("form.opinion-form textarea[name=opinion]").fill(opinion)
    workflow.get_by_role("button", name=f"确认{button}", exact=True).click()
    return [answer_confirm(page)]


def expect_status(page, label: str) -> None:
    """The status badge (and the current step of the workflow bar) read `label`."""
    expect(page.locator("#status-badge")).to_have_text(label)
    expect(page.locator("#workflow .steps li.current")).to_have_text(label)


def edit_buttons(page):
    """The sections' 编辑 buttons (none when the report is read-only for this user)."""
    return page.locator("#document .section-tools").get_by_role("button", name="编辑", exact=True)


def create_report(page) -> str:
    """As admin, 按标准提纲新建 a report for UNIT and YEAR; returns its path."""
    page.goto("/")
    form = page.locator("form", has=page.get_by_role("button", name="新建报告"))
    form.locator("select[name=unit_id]").select_option(label=UNIT)
    form.get_by_label("年度").fill(YEAR)
    form.get_by_role("button", name="新建报告").click()
    page.wait_for_url(re.compile(r"/reports/\d+$"))
    expect(page.locator(".report-title")).to_have_text(f"{YEAR}年度{UNIT}部门整体支出绩效自评表说明")
    expect_status(page, "草稿")
    return "/reports/" + page.url.rsplit("/", 1)[1]


def todo_entry(page, report: str):
    """The home page's 我的待办 entry for the report."""
    expect(page.locator("section.todo h2")).to_contain_text("我的待办")
    return page.locator("section.todo li", has=page.locator(f"a[href='{report}']"))


def test_submit_return_fix_pass_approve(login):
    """Editor, reviewer and approver take the report through the whole workflow, in place."""
    report = create_report(login("admin"))

    # 1. The editor fills in a section and submits; the page turns read-only in place.
    editor = login("editor")
    editor.goto(report)
    sid = section_id(editor, HEADING)
    edit_section(editor, sid, FIRST_TEXT)
    mark_page(editor)
    asked = click_confirmed(editor, "提交审核")
    expect_status(editor, "待审核")
    assert asked and "提交" in asked[0], asked
    expect(edit_buttons(editor)).to_have_count(0)
    expect(editor.locator("#workflow")).to_contain_text("报告已提交，修改须先退回。")
    expect(editor.locator("#workflow").get_by_role("button", name="提交审核")).to_have_count(0)
    assert_not_reloaded(editor)

    # 2. The reviewer finds it in 我的待办, comments on a section, then returns it.
    reviewer = login("reviewer")
    reviewer.goto("/")
    expect(todo_entry(reviewer, report)).to_contain_text("待您审核")
    todo_entry(reviewer, report).get_by_role("link").click()
    reviewer.wait_for_url(f"**{report}")
    expect_status(reviewer, "待审核")
    expect(edit_buttons(reviewer)).to_have_count(0)
    mark_page(reviewer)

    block = reviewer.locator(f"#comments-{sid}")
    # A section's 提意见 fetches its form into place, ready to type in.
    block.get_by_role("link", name="提意见").click()
    expect(block.locator("textarea[name=body]")).to_be_focused()
    block.locator("textarea[name=body]").fill(REVIEW_COMMENT)
    block.get_by_role("button", name="发表意见").click()
    comment = reviewer.locator(f"#comments-{sid} .comment", has_text=REVIEW_COMMENT)
    expect(comment).to_have_count(1)
    expect(comment.locator(".comment-meta")).to_contain_text(REVIEWER_NAME)
    assert_not_reloaded(reviewer)

    workflow = reviewer.locator("#workflow")
    workflow.locator("summary", has_text="退回修改").click()
    reason_form = workflow.locator("form.reason-form")
    expect(reason_form).to_be_visible()
    reason_form.locator("textarea[name=reason]").fill(RETURN_REASON)
    reason_form.locator(".concerned").get_by_role("checkbox", name=HEADING, exact=True).check()
    reason_form.get_by_role("button", name="确认退回修改").click()
    expect_status(reviewer, "草稿")
    assert_not_reloaded(reviewer)
    # The reason is now beside the section and on the whole report, for everybody.
    expect(reviewer.locator(f"#comments-{sid} .comment.return-reason")).to_contain_text(RETURN_REASON)
    expect(reviewer.locator("#comments-report .comment.return-reason")).to_contain_text(RETURN_REASON)
    expect(reviewer.locator("#workflow").get_by_role("button", name="审核通过")).to_have_count(0)

    # 3. The editor sees why, fixes the section, answers the comment and resubmits.
    editor.reload()
    expect_status(editor, "草稿")
    returned = editor.locator(f"#comments-{sid} .comment.return-reason")
    expect(returned).to_have_count(1)
    expect(returned).to_contain_text(RETURN_REASON)
    expect(returned.locator(".tag")).to_have_text("退回原因")
    expect(returned).to_contain_text(REVIEWER_NAME)
    editor_comment = editor.locator(f"#comments-{sid} .comment:not(.return-reason)", has_text=REVIEW_COMMENT)
    expect(editor_comment).to_have_count(1)
    expect(editor.locator(f"#comments-{sid} .add-comment")).to_have_count(0)  # editors reply, not open
    editor.locator(f"#comments-{sid}").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    editor.screenshot(path=str(ARTIFACTS / "workflow.png"))
    editor.screenshot(path=str(ARTIFACTS / "workflow-full.png"), full_page=True)
    assert (ARTIFACTS / "workflow.png").stat().st_size > 0

    editor.goto("/")
    expect(todo_entry(editor, report)).to_contain_text("已退回，请修改后重新提交")
    editor.goto(report)
    mark_page(editor)
    edit_section(editor, sid, FIXED_TEXT)

    editor_comment.get_by_role("textbox", name="回复").fill(REPLY)
    editor_comment.get_by_role("button", name="回复").click()
    expect(editor_comment.locator(".reply")).to_contain_text(REPLY)
    expect(editor_comment.locator(".reply")).to_contain_text(EDITOR_NAME)
    editor_comment.get_by_role("button", name="标记已处理").click()
    expect(editor_comment).to_have_class(re.compile(r"\bresolved\b"))
    expect(editor_comment.locator(".tag.done")).to_contain_text(f"已处理 · {EDITOR_NAME}")
    expect(editor_comment.locator(".comment-actions")).to_have_count(0)
    # The return reason is one thread on the report; handling it also clears the marker by the section.
    report_reason = editor.locator("#comments-report .comment.return-reason")
    report_reason.get_by_role("button", name="标记已处理").click()
    expect(editor.locator("#comments-report .comment.return-reason")).to_have_class(re.compile(r"\bresolved\b"))
    expect(editor.locator(f"#comments-{sid} .comment.return-reason")).to_have_class(re.compile(r"\bresolved\b"))
    assert_not_reloaded(editor)

    click_confirmed(editor, "提交审核")
    expect_status(editor, "待审核")
    expect(edit_buttons(editor)).to_have_count(0)
    assert_not_reloaded(editor)

    # 4. The reviewer sees what changed since the return, then passes it.
    reviewer.reload()
    expect_status(reviewer, "待审核")
    reviewer.locator("#workflow").get_by_role("link", name="查看退回后的修改").click()
    reviewer.wait_for_url(f"**{report}/changes")
    expect(reviewer.locator("p.card")).to_contain_text(RETURN_REASON)
    changes = reviewer.locator("section.change")
    expect(changes).to_have_count(1)
    change = changes.first
    expect(change.locator("h2")).to_contain_text(HEADING)
    expect(change.locator("h2 .tag")).to_have_text("已修改")
    diff = change.locator(".diff")
    expect(diff.locator("ins").first).to_be_visible()
    expect(diff).to_contain_text("自评得分95分")
    expect(diff.locator("del, .diff-removed").first).to_be_visible()

    reviewer.goto(report)
    mark_page(reviewer)
    click_confirmed(reviewer, "审核通过")
    expect_status(reviewer, "待审批")
    expect(reviewer.locator("#workflow").get_by_role("button", name="审核通过")).to_have_count(0)
    assert_not_reloaded(reviewer)

    # 5. The approver approves: the report is frozen as edition 1 with its approval sheet.
    approver = login("approver")
    approver.goto("/")
    expect(todo_entry(approver, report)).to_contain_text("待您审批")
    approver.goto(report)
    expect_status(approver, "待审批")
    mark_page(approver)
    asked = click_confirmed(approver, "审批定稿")
    expect_status(approver, "已定稿")
    assert asked and "定稿" in asked[0], asked
    assert_not_reloaded(approver)
    expect(edit_buttons(approver)).to_have_count(0)
    expect(approver.locator("#workflow .workflow-actions button")).to_have_count(0)
    expect(approver.locator(".add-comment")).to_have_count(0)
    expect(approver.locator(".report-head").get_by_role("link", name="第1版", exact=True)).to_be_visible()
    approver.locator("#workflow").get_by_role("link", name="查看审批单").click()
    approver.wait_for_url(f"**{report}/editions/1/sheet")
    sheet = approver.locator("table.sheet-table")
    row = sheet.locator("tr", has=approver.locator("th", has_text="填报人"))
    expect(row.locator("td").first).to_have_text(EDITOR_NAME)
    row = sheet.locator("tr", has=approver.locator("th", has_text="审核人"))
    expect(row.locator("td").first).to_have_text(REVIEWER_NAME)
    row = sheet.locator("tr", has=approver.locator("th", has_text="审批人"))
    expect(row.locator("td").first).to_have_text(APPROVER_NAME)
    expect(sheet.locator("code")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(sheet).not_to_contain_text("校验不一致")
    expect(sheet).to_contain_text(REVIEW_COMMENT)
    expect(sheet).to_contain_text(RETURN_REASON)
    approver.screenshot(path=str(ARTIFACTS / "workflow-sheet.png"), full_page=True)

    # The editor, too, now finds the report read-only.
    editor.reload()
    expect_status(editor, "已定稿")
    expect(edit_buttons(editor)).to_have_count(0)
