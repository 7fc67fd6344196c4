"""Next year from last year in a real browser: 未更新 flags appear, and go once a section is edited."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

NEW_YEAR = "2035"  # no other test creates a report for this year


def clone_next_year(page, report: str, year: str) -> str:
    """Start `year`'s report from `report` through its 新建下一年度 menu; the new report's path."""
    page.goto(report)
    page.locator(".clone-menu summary").click()
    page.locator(".clone-menu input[name=year]").fill(year)
    page.locator(".clone-menu").get_by_role("button", name="新建").click()
    page.wait_for_url(re.compile(r"/reports/\d+$"))
    return "/reports/" + page.url.rsplit("/", 1)[1]


def test_clone_flags_untouched_sections_until_edited(login):
    page = login("editor")
    clone_next_year(page, "/reports/1", NEW_YEAR)
    expect(page.locator(".report-title")).to_contain_text(f"{NEW_YEAR}年度")

    heading = page.locator(".section", has=page.locator(".section-title", has_text="自评结论")).first
    expect(heading.locator(".tag.stale")).to_have_text("未更新")
    flagged = page.locator(".tag.stale").count()
    assert flagged >= 5

    sid = heading.get_attribute("id")
    section = page.locator(f"#{sid}")
    section.hover()
    section.locator(".section-tools").get_by_role("button", name="编辑").click()
    textarea = page.locator(f"#{sid}.editing textarea[name=markdown]")
    textarea.fill(f"{NEW_YEAR}年度，单位全面完成了年度绩效目标。")
    page.locator(f"#{sid}").get_by_role("button", name="保存").click()
    expect(page.locator(f"#{sid}")).not_to_have_class(re.compile(r"\bediting\b"))
    expect(page.locator(f"#{sid} .tag.stale")).to_have_count(0)
    expect(page.locator(".tag.stale")).to_have_count(flagged - 1)
