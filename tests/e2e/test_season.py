"""A whole season in a real browser: last year's report → 新建下一年度 → last year's figure caught and fixed, a 未更新
section confirmed, a year kept on purpose → submit with a note → a comment on a 自评表 row → return naming that row →
reply, fix, resubmit → pass with 同意 → approve with an opinion → the 审批单 lists every decision → print."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sample_site
from tests.e2e.test_clone_flow import clone_next_year
from tests.e2e.test_form import indicator_row, open_row, save_row
from tests.e2e.test_workflow_flow import click_confirmed, expect_status

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NEW_YEAR = "2033"  # no other test creates a report for this year
ROW = "结转结余率"
ROW_COMMENT = "结转结余率高于指标值，\n请在偏差原因中说明。"
RETURN_REASON = "1. 结转结余率未说明原因；\n2. 请核对正文中的人数。"
APPROVAL = "同意，请按意见修改后报送"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A site of its own: other tests edit report 1, whose figures (3294 人) this season starts from."""
    with sample_site(tmp_path_factory.mktemp("season")) as base:
        yield base


def open_checks(page):
    """The 提交前检查 panel, unfolded (a swap brings it back folded)."""
    page.evaluate("document.querySelector('#checks details').open = true")
    return page.locator("#checks")


def replace_in_section(page, sid: str, old: str, new: str) -> None:
    """编辑 a section, replace text in its Markdown, 保存, and wait for the section to come back."""
    section = page.locator(f"#section-{sid}")
    section.hover()
    section.locator(".section-tools").get_by_role("button", name="编辑").click()
    textarea = page.locator(f"#section-{sid}.editing textarea[name=markdown]")
    expect(textarea).to_be_visible()
    markdown = textarea.input_value()
    assert old in markdown
    textarea.fill(markdown.replace(old, new))
    section.get_by_role("button", name="保存").click()
    expect(section).not_to_have_class(re.compile(r"\bediting\b"))
    expect(section.locator(".section-body")).to_contain_text(new)


def test_a_whole_season_with_opinions_form_comments_and_last_years_traces(login):
    # 1. The editor starts this year's report from last year's.
    editor = login("editor")
    report = clone_next_year(editor, "/reports/1", NEW_YEAR)
    checks = open_checks(editor)
    expect(checks).to_contain_text("自上一年度复制后未更新")

    # This year's figure in the form; the text still says last year's: the checks say so, with a link.
    row_id = open_row(editor, "康复资助审批人数")
    editor.locator(f"#{row_id} input[name=actual]").fill("3350")
    save_row(editor, row_id)
    expect(editor.locator(f"#{row_id} .prior")).to_have_text("上年数：3294人")
    stale = checks.locator("li", has_text="3294 为上年数")
    expect(stale).to_contain_text("正文写 3294 人，自评表“康复资助审批人数”本年实际完成值为 3350 人")
    target = stale.locator("a").get_attribute("href").removeprefix("#section-")
    replace_in_section(editor, target, "3294 人", "3350 人")
    expect(checks.locator("li", has_text="3294 为上年数")).to_have_count(0)

    # A section that needs no change this year is confirmed so; a year kept on purpose stops being highlighted.
    checks = open_checks(editor)
    first = checks.locator("li.check-warn", has=editor.get_by_role("button", name="确认无需修改")).first
    confirmed_anchor = first.locator("a").get_attribute("href")
    first.get_by_role("button", name="确认无需修改").click()
    expect(editor.locator(f"{confirmed_anchor} .section-title .tag.done")).to_have_text("已确认无需修改")
    expect(editor.locator("#checks li.check-confirmed").first).to_contain_text("确认无需修改")
    refs = editor.locator(".year-refs").first
    kept_section = refs.locator("xpath=ancestor::section[starts-with(@id, 'section-')][1]").get_attribute("id")
    marks = editor.locator(f"#{kept_section} .year-refs mark").count()
    editor.locator(f"#{kept_section} .year-refs").get_by_role("button", name="有意保留", exact=True).first.click()
    expect(editor.locator(f"#{kept_section} .year-refs mark")).to_have_count(marks - 1)
    expect(editor.locator(f"#{kept_section} .year-refs .tag.done")).to_have_text("有意保留")

    open_checks(editor).screenshot(path=str(ARTIFACTS / "season-checks.png"))
    click_confirmed(editor, "提交审核", "请审核。")
    expect_status(editor, "待审核")

    # 2. The reviewer sees the checks as they were at submission, comments on a form row and returns.
    reviewer = login("reviewer")
    reviewer.goto(report)
    expect(reviewer.locator("#checks summary")).to_contain_text("提交时的检查结果")
    panel = reviewer.locator("#form-comments")
    panel.locator("summary", has_text="对自评表的某一行提意见").click()
    panel.locator("select[name=form_row]").select_option(label=f"指标“{ROW}”")
    panel.locator("textarea[name=body]").fill(ROW_COMMENT)
    panel.get_by_role("button", name="发表意见").click()
    thread = reviewer.locator("#form-comments .form-row-thread", has_text=ROW)
    expect(thread.locator(".comment-body")).to_contain_text("请在偏差原因中说明")
    assert "\n" in thread.locator(".comment-body").first.inner_text()  # the line break is kept
    expect(reviewer.locator("#open-comments")).to_contain_text("1 条意见未处理")
    workflow = reviewer.locator("#workflow")
    workflow.locator("summary", has_text="退回修改").click()
    workflow.locator("textarea[name=reason]").fill(RETURN_REASON)
    workflow.locator(".form-rows").get_by_label(f"指标“{ROW}”").check()
    workflow.get_by_role("button", name="确认退回修改").click()
    expect_status(reviewer, "草稿")

    # 3. The editor finds the comment and the reason by the row, replies, fixes and resubmits.
    editor.reload()
    expect(indicator_row(editor, ROW).locator(".comment-mark")).to_have_text("意见 2")
    reason = editor.locator("#comments-report .comment.return-reason .comment-body")
    assert reason.inner_text().count("\n") >= 1  # two numbered lines stay two lines
    row_thread = editor.locator(".form-row-thread", has_text=ROW)
    reply_form = row_thread.locator(".comment:not(.marker) form", has=editor.locator("textarea[name=body]"))
    reply_form.locator("textarea[name=body]").fill("已在偏差原因中说明。")
    reply_form.get_by_role("button", name="回复").click()
    expect(row_thread.locator(".reply")).to_contain_text("已在偏差原因中说明。")
    editor.locator("#form-comments").screenshot(path=str(ARTIFACTS / "season-form-comments.png"))
    row_id = open_row(editor, ROW)
    editor.locator(f"#{row_id} textarea[name=reason]").fill("上年结转项目年末集中支付。")
    save_row(editor, row_id)
    editor.locator("#comments-report .comment.return-reason").get_by_role("button", name="标记已处理").click()
    expect(editor.locator("#comments-report .comment.return-reason")).to_have_class(re.compile(r"\bresolved\b"))
    click_confirmed(editor, "提交审核")
    expect_status(editor, "待审核")

    # 4. The reviewer passes with the 同意 written in; 5. the approver approves with an opinion of their own.
    reviewer.reload()
    expect(reviewer.locator("#workflow textarea[name=opinion]")).to_have_value("同意")
    click_confirmed(reviewer, "审核通过")
    expect_status(reviewer, "待审批")
    approver = login("approver")
    approver.goto(report)
    click_confirmed(approver, "审批定稿", APPROVAL)
    expect_status(approver, "已定稿")

    # The 审批单: every decision in order, with its opinion; the return's two lines stay two lines.
    approver.locator("#workflow").get_by_role("link", name="查看审批单").click()
    approver.wait_for_url(f"**{report}/editions/1/sheet")
    decisions = approver.locator("table.sheet-decisions tbody tr")
    expect(decisions).to_have_count(5)
    steps = ["提交审核", "退回修改", "提交审核", "审核通过", "审批定稿"]
    expect(decisions.locator("td:first-child")).to_have_text(steps)
    expect(decisions.nth(3)).to_contain_text("审核意见：同意")
    expect(decisions.nth(4)).to_contain_text(f"审批意见：{APPROVAL}")
    assert decisions.nth(1).locator("td").last.inner_text().count("\n") >= 1
    sheet = approver.locator("table.sheet-table")
    expect(sheet.locator("tr", has=approver.locator("th", has_text="审批意见"))).to_contain_text(APPROVAL)
    expect(sheet).to_contain_text(f"自评表指标“{ROW}”")
    approver.screenshot(path=str(ARTIFACTS / "season-sheet.png"), full_page=True)

    # Print: the frozen edition lays out as usual.
    approver.goto(report + "/print")
    expect(approver.locator(".doc-title")).to_contain_text(f"{NEW_YEAR}年度")
