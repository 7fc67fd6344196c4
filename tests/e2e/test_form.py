"""The 自评表 in a real browser: change a value and see row, total and grade follow; refused input stores nothing.

The report is created here for its own year so that the other browser tests, which edit report 1,
neither disturb it nor are disturbed by it."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import answer_confirm

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
UNIT = "广州市荔湾区残疾人联合会"
YEAR = "2032"  # no other test creates a report for this year


def create_report(page) -> str:
    """As admin, 按标准提纲新建 a report for UNIT and YEAR (it starts from the default template)."""
    page.goto("/")
    form = page.locator("form", has=page.get_by_role("button", name="新建报告"))
    form.locator("select[name=unit_id]").select_option(label=UNIT)
    form.get_by_label("年度").fill(YEAR)
    form.get_by_role("button", name="新建报告").click()
    page.wait_for_url(re.compile(r"/reports/\d+$"))
    return "/reports/" + page.url.rsplit("/", 1)[1]


def indicator_row(page, name: str):
    """The indicator's row in the 自评表, found by its 三级指标 name."""
    return page.locator("#indicator-rows > tr", has=page.locator("td.name", has_text=name))


def open_row(page, name: str) -> str:
    """Click 编辑 on an indicator's row; returns the row's id once its edit panel is shown."""
    row = indicator_row(page, name)
    row_id = row.get_attribute("id")
    row.get_by_role("button", name="编辑").click()
    expect(page.locator(f"#{row_id}.row-edit form")).to_be_visible()
    return row_id


def save_row(page, row_id: str) -> None:
    """保存 and wait for the row to come back in view mode."""
    page.locator(f"#{row_id}").get_by_role("button", name="保存").click()
    expect(page.locator(f"#{row_id}.row-edit")).to_have_count(0)


def expect_total(page, total: str, grade: str) -> None:
    """The score badge in the header and the total above the form both read this."""
    expect(page.locator("#score-badge")).to_have_text(f"自评得分 {total} · {grade}")
    expect(page.locator("#form-total .total")).to_have_text(total)
    expect(page.locator("#form-total .grade")).to_have_text(grade)


def test_changing_values_rescores_row_total_and_grade_in_place(login):
    page = login("admin")
    report = create_report(page)
    page.goto(report + "#form")
    expect_total(page, "0.00", "差")
    page.evaluate("window.__marker = 1")

    # 实际完成值 typed in full-width with a percent sign: the preview scores it while typing.
    row_id = open_row(page, "重点工作任务完成率")
    page.locator(f"#{row_id} input[name=actual]").fill("１００%")
    expect(page.locator(f"#{row_id}-preview")).to_contain_text("本行得分 25.00")
    expect(page.locator(f"#{row_id}-preview")).to_contain_text("保存后总分 25.00")
    save_row(page, row_id)
    expect(page.locator(f"#{row_id}-score")).to_contain_text("25.00")
    expect(page.locator(f"#{row_id}")).to_contain_text("100%")
    expect_total(page, "25.00", "差")

    row_id = open_row(page, "年度履职目标实现程度")
    page.locator(f"#{row_id} select[name=rating]").select_option("达成")
    save_row(page, row_id)
    expect(page.locator(f"#{row_id}-score")).to_contain_text("25.00")
    expect_total(page, "50.00", "差")

    row_id = open_row(page, "服务对象满意度")
    page.locator(f"#{row_id} input[name=actual]").fill("95")
    save_row(page, row_id)
    expect(page.locator(f"#{row_id}-score")).to_contain_text("10.00")
    expect_total(page, "60.00", "中")
    assert page.evaluate("window.__marker") == 1, "the page reloaded instead of swapping in place"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#form").screenshot(path=str(ARTIFACTS / "form.png"))

    # Refused input: the message stands beside the field, the row stays open, nothing is stored.
    row_id = open_row(page, "预算执行率")
    page.locator(f"#{row_id} input[name=actual]").fill("九十七")
    page.locator(f"#{row_id}").get_by_role("button", name="保存").click()
    expect(page.locator(f"#{row_id}-err-actual")).to_have_text(re.compile("实际完成值须为数字"))
    expect(page.locator(f"#{row_id}.row-edit")).to_be_visible()
    expect_total(page, "60.00", "中")
    assert page.evaluate("window.__marker") == 1

    page.once("dialog", lambda dialog: dialog.accept())  # leaving with the refused edit still open
    page.reload()
    expect(indicator_row(page, "预算执行率").locator("td").nth(5)).to_have_text("")
    expect_total(page, "60.00", "中")


def test_the_checks_panel_follows_the_form(login):
    page = login("admin")
    page.goto("/")
    links = page.locator("a", has_text=f"{YEAR}年度{UNIT}")
    # Run on its own, the test makes the report itself.
    report = links.first.get_attribute("href") if links.count() else create_report(page)
    page.goto(report)
    checks = page.locator("#checks")
    expect(checks).not_to_contain_text("个错误")
    row_id = open_row(page, "结转结余率")
    page.locator(f"#{row_id} input[name=weight]").fill("9")
    save_row(page, row_id)
    expect(checks.locator("summary")).to_contain_text("1 个错误")
    expect(checks).to_contain_text("分值合计为 105 分")
    page.locator("#workflow summary", has_text="提交审核").click()
    page.locator("#workflow").get_by_role("button", name="确认提交审核", exact=True).click()
    answer_confirm(page)
    expect(page.locator("#messages")).to_contain_text("提交前检查发现 1 个错误")
    expect(page.locator("#status-badge")).to_have_text("草稿")
    # The page's own refresh of who else is editing (every 2 s here) leaves the message where it is.
    with page.expect_response(lambda response: response.url.endswith("/presence"), timeout=10_000) as polled:
        pass
    assert polled.value.ok
    page.wait_for_timeout(100)  # the answer swapped in
    expect(page.locator("#messages")).to_contain_text("提交前检查发现 1 个错误", timeout=500)
    row_id = open_row(page, "结转结余率")
    page.locator(f"#{row_id} input[name=weight]").fill("4")
    save_row(page, row_id)
    expect(checks.locator("summary")).not_to_contain_text("个错误")
