"""The report page in a real browser: edit in place, conflicts, the unsaved-edit guard, structure."""

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import answer_confirm

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

REPORT = "/reports/1"


def section_id(page, heading: str) -> str:
    """The id of the section whose outline entry reads exactly `heading` (number + title)."""
    link = page.locator("#outline").get_by_role("link", name=heading, exact=True)
    expect(link).to_have_count(1)
    return link.get_attribute("href").removeprefix("#section-")


def open_editor(page, sid: str):
    """Hover the section, click its 编辑 and wait for the edit form; returns its textarea."""
    section = page.locator(f"#section-{sid}")
    section.hover()
    section.locator(".section-tools").get_by_role("button", name="编辑").click()
    textarea = page.locator(f"#section-{sid}.editing textarea[name=markdown]")
    expect(textarea).to_be_visible()
    return textarea


def mark_page(page) -> None:
    """Leave a marker in the window that only a full page load would wipe out."""
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page) -> None:
    """The marker set by mark_page is still there: htmx swapped, nothing reloaded."""
    assert page.evaluate("window.__marker") == 1


def outline_texts(page) -> list[str]:
    """The outline's entries, in order."""
    return [t.strip() for t in page.locator("#outline li").all_inner_texts()]


def test_report_page_screenshot(login):
    """A picture of the report at a common office-laptop size, for a human to judge."""
    page = login("editor")
    page.goto(REPORT)
    expect(page.locator("#outline")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"))
    page.screenshot(path=str(ARTIFACTS / "report-full.png"), full_page=True)
    assert (ARTIFACTS / "report.png").stat().st_size > 0


def test_edit_section_in_place(login):
    """Edit → live preview → save swaps the rendered section in without a reload, and it persists."""
    page = login("editor")
    page.goto(REPORT)
    entries = outline_texts(page)
    for expected in ["一、绩效自评情况", "（一）部门整体支出绩效目标", "（二）自评结论",
                     "1.扩面提质，在完善残疾人康复服务上持续用力"]:
        assert expected in entries, entries
    sid = section_id(page, "（二）自评结论")
    mark_page(page)

    textarea = open_editor(page, sid)
    textarea.fill("**加粗测试** 新内容")
    expect(page.locator(f"#preview-{sid} strong")).to_have_text("加粗测试")

    page.locator(f"#section-{sid}").get_by_role("button", name="保存").click()
    section = page.locator(f"#section-{sid}")
    expect(section).not_to_have_class(re.compile(r"\bediting\b"))
    expect(section.locator(".section-body strong")).to_have_text("加粗测试")
    expect(section.locator(".section-body")).to_contain_text("新内容")
    expect(section.locator("textarea")).to_have_count(0)
    expect(section.locator(".section-title")).to_have_text("（二）自评结论")
    assert_not_reloaded(page)
    assert "（二）自评结论" in outline_texts(page)

    page.reload()
    section = page.locator(f"#section-{sid}")
    expect(section.locator(".section-body strong")).to_have_text("加粗测试")
    expect(section.locator(".section-body")).to_contain_text("新内容")
    expect(section.locator(".section-body")).not_to_contain_text("坚强领导")

    # A new title reaches the outline in place; saving the text alone leaves the outline as it is.
    mark_page(page)
    for title in ("自评结论及得分", "自评结论"):
        open_editor(page, sid)
        page.locator(f"#section-{sid}.editing input[name=title]").fill(title)
        page.locator(f"#section-{sid}").get_by_role("button", name="保存").click()
        expect(page.locator("#outline").get_by_role("link", name=f"（二）{title}", exact=True)).to_have_count(1)
    assert_not_reloaded(page)


def test_concurrent_save_shows_conflict_and_keeps_other_text(login):
    """B saves first; A's stale save gets the conflict view, not an overwrite; A may then save."""
    page_a = login("editor")
    page_b = login("admin")
    page_a.goto(REPORT)
    page_b.goto(REPORT)
    sid = section_id(page_a, "（一）部门整体支出绩效目标")
    textarea_a = open_editor(page_a, sid)
    textarea_b = open_editor(page_b, sid)

    textarea_b.fill("乙方先保存的文本。")
    page_b.locator(f"#section-{sid}").get_by_role("button", name="保存").click()
    expect(page_b.locator(f"#section-{sid} .section-body")).to_have_text("乙方先保存的文本。")

    mark_page(page_a)
    textarea_a.fill("甲方后保存的文本。")
    with page_a.expect_response(lambda r: r.request.method == "POST"
                                and r.url.endswith(f"/sections/{sid}")) as answer:
        page_a.locator(f"#section-{sid}").get_by_role("button", name="保存").click()
    assert answer.value.status == 409
    conflict = page_a.locator(f"#section-{sid}.conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("未保存")
    expect(conflict.locator("textarea[name=markdown]")).to_have_value("甲方后保存的文本。")
    expect(conflict.locator(".theirs")).to_contain_text("乙方先保存的文本。")
    assert_not_reloaded(page_a)

    page_b.reload()
    body_b = page_b.locator(f"#section-{sid} .section-body")
    expect(body_b).to_have_text("乙方先保存的文本。")

    conflict.get_by_role("button", name="以此文本保存为新版本").click()
    section_a = page_a.locator(f"#section-{sid}")
    expect(section_a).not_to_have_class(re.compile(r"\bconflict\b"))
    expect(section_a.locator(".section-body")).to_have_text("甲方后保存的文本。")
    expect(page_a.locator(".conflict")).to_have_count(0)
    assert_not_reloaded(page_a)

    page_b.reload()
    expect(body_b).to_have_text("甲方后保存的文本。")


def test_leaving_with_unsaved_edit_asks_first(login):
    """Typing in the editor arms beforeunload; dismissing it keeps the page and the text."""
    page = login("editor")
    page.goto(REPORT)
    sid = section_id(page, "（四）管理效率分析")
    textarea = open_editor(page, sid)
    textarea.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("尚未保存的补充")
    mark_page(page)

    dialogs = []

    def dismiss(dialog):
        dialogs.append((dialog.type, dialog.message))
        dialog.dismiss()

    page.on("dialog", dismiss)
    # Trying to leave by the top navigation: the browser asks, the user stays.
    page.locator(".topnav").get_by_role("link", name="报告列表").click()
    deadline = time.monotonic() + 5
    while not dialogs and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert [kind for kind, _ in dialogs] == ["beforeunload"]
    page.wait_for_timeout(300)
    assert page.url.endswith(REPORT)
    assert_not_reloaded(page)
    assert textarea.input_value().endswith("尚未保存的补充")

    # Cancelling the edit asks too (the site's dialog); 取消 there keeps the editor open.
    page.locator(f"#section-{sid}").get_by_role("button", name="取消").click()
    assert "尚未保存" in answer_confirm(page, "取消")
    page.wait_for_timeout(300)
    expect(page.locator(f"#section-{sid}.editing")).to_be_visible()
    assert textarea.input_value().endswith("尚未保存的补充")


def test_add_and_delete_subsection_renumbers_outline(login):
    """结构 → 添加下级 inserts a first subsection and renumbers; 删除 (confirmed) takes it out."""
    page = login("editor")
    page.goto(REPORT)
    parent = section_id(page, "（三）履职效能分析")
    before = outline_texts(page)
    assert "1.扩面提质，在完善残疾人康复服务上持续用力" in before, before
    mark_page(page)

    section = page.locator(f"#section-{parent}")
    section.hover()
    menu = section.locator(".section-tools details.menu")
    menu.locator("summary").click()
    expect(menu.locator(".menu-body")).to_be_visible()
    menu.locator("input[name=title]").fill("结构测试小节")
    menu.get_by_role("button", name="添加下级").click()

    outline = page.locator("#outline")
    expect(outline).to_contain_text("1.结构测试小节")
    expect(outline).to_contain_text("2.扩面提质，在完善残疾人康复服务上持续用力")
    after = outline_texts(page)
    assert len(after) == len(before) + 1
    assert after.index("1.结构测试小节") == after.index("（三）履职效能分析") + 1
    assert_not_reloaded(page)
    child = section_id(page, "1.结构测试小节")
    expect(page.locator(f"#section-{child} .section-title")).to_have_text("1.结构测试小节")

    new_section = page.locator(f"#section-{child}")
    new_section.hover()
    new_menu = new_section.locator(".section-tools details.menu")
    new_menu.locator("summary").click()
    new_menu.get_by_role("button", name="删除").click()
    assert "结构测试小节" in answer_confirm(page)

    expect(page.locator(f"#section-{child}")).to_have_count(0)
    expect(outline).not_to_contain_text("结构测试小节")
    expect(outline).to_contain_text("1.扩面提质，在完善残疾人康复服务上持续用力")
    assert outline_texts(page) == before
    assert_not_reloaded(page)

    page.reload()
    assert outline_texts(page) == before


def _move(page, heading: str, direction: str) -> None:
    """Open the 结构 menu of the section `heading` and press the move button `direction`."""
    section = page.locator(f"#section-{section_id(page, heading)}")
    section.hover()
    menu = section.locator(".section-tools details.menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    menu.get_by_role("button", name=direction).click()


def test_structure_change_does_not_silently_discard_open_edit(login):
    """A structure change re-renders the whole document: with unsaved text open, it asks first."""
    page = login("editor")
    page.goto(REPORT)
    before = outline_texts(page)
    sid = section_id(page, "（四）管理效率分析")
    textarea = open_editor(page, sid)
    textarea.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("不能悄悄丢失的文字")
    editor = page.locator(f"#section-{sid}.editing textarea[name=markdown]")
    try:
        # Refused: nothing moves and the unsaved text stays in its editor.
        _move(page, "（一）部门整体支出绩效目标", "下移")
        assert "尚未保存" in answer_confirm(page, "取消")
        page.wait_for_timeout(200)
        expect(editor).to_have_count(1, timeout=500)
        assert editor.input_value().endswith("不能悄悄丢失的文字")
        assert outline_texts(page) == before

        # Agreed: the move goes through (the user chose to drop the text).
        _move(page, "（一）部门整体支出绩效目标", "下移")
        answer_confirm(page)
        expect(page.locator("#outline li").nth(1)).to_have_text("（一）自评结论")
    finally:
        if outline_texts(page) != before:  # the move went through: put the section back
            _move(page, "（二）部门整体支出绩效目标", "上移")
            expect(page.locator("#outline li").nth(1)).to_have_text(before[1])
