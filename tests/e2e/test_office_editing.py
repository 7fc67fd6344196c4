"""Writing as an office writes, in a real browser (#16): paste from Word/WPS/Excel/web pages through real
clipboard events, the toolbar and its shortcuts, Tab and Esc, who else is editing, and unsaved text
kept through a reload and through an expired login."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORDS

pytestmark = pytest.mark.e2e

REPORT = "/reports/1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clipboard"


def section_of(page, words: str) -> str:
    """The id of the section whose outline entry contains `words`."""
    link = page.locator("#outline a", has_text=words)
    expect(link).to_have_count(1)
    return link.get_attribute("href").removeprefix("#section-")


def open_editor(page, sid: str):
    """Click the section's 编辑 and wait for its editor (with its toolbar); returns the textarea."""
    section = page.locator(f"#section-{sid}")
    section.hover()
    section.locator(".section-tools").get_by_role("button", name="编辑").click()
    textarea = page.locator(f"#section-{sid}.editing textarea[name=markdown]")
    expect(textarea).to_be_visible()
    expect(page.locator(f"#section-{sid} [role=toolbar]")).to_be_visible()
    return textarea


def paste(textarea, html: str | None = None, text: str = "") -> bool:
    """Dispatch a real paste event whose clipboard carries text/html and/or text/plain; False when the
    page took the paste over (preventDefault), True when the browser's own paste would go ahead."""
    return textarea.evaluate(
        """(el, data) => {
            const dt = new DataTransfer();
            if (data.html !== null) dt.setData("text/html", data.html);
            dt.setData("text/plain", data.text);
            el.focus();
            return el.dispatchEvent(new ClipboardEvent("paste", {clipboardData: dt, bubbles: true, cancelable: true}));
        }""",
        {"html": html, "text": text},
    )


def save(page, sid: str):
    """Click 保存 and wait for the section to be shown again; returns its body."""
    page.locator(f"#section-{sid}").get_by_role("button", name="保存").click()
    body = page.locator(f"#section-{sid}:not(.editing) .section-body")
    expect(body).to_be_visible()
    return body


@pytest.mark.parametrize("fixture, expected", [
    ("word.html", ["table th:has-text('资金（万元）')", "ul li:has-text('精准康复服务')",
                   "ol li:has-text('预算编制科学')", "em:has-text('康复')", "p:has-text('（1）资产管理规范')"]),
    ("wps.html", ["strong:has-text('预算编制：')", "p:has-text('1、信息公开及时')",
                  "td:has-text('政府采购执行率')"]),
    ("excel.html", ["th:has-text('资金来源')", "td:has-text('2,162.14')", "td:has-text('其他资金|自有')"]),
    ("web.html", ["a[href='https://czj.example.gov.cn/zcfg/2024/123.html']", "ol li:has-text('预算执行')",
                  "td:has-text('80～<90')"]),
])
def test_pasted_office_content_is_saved_and_shown_formatted(login, fixture, expected):
    page = login("editor")
    page.goto(REPORT)
    sid = section_of(page, "共享共荣")
    textarea = open_editor(page, sid)
    textarea.fill("")
    paste(textarea, (FIXTURES / fixture).read_text(encoding="utf-8"), "纯文本")
    expect(textarea).not_to_have_value("")
    pasted = textarea.input_value()
    assert "mso-" not in pasted and "<" not in pasted.replace("<br>", "").replace("<90", "")
    if fixture == "word.html":  # a picture of the editor after a paste, for a human to judge
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(f"#section-{sid}").screenshot(path=str(ARTIFACTS / "editor-paste-word.png"))
    body = save(page, sid)
    for selector in expected:
        expect(body.locator(selector).first).to_be_visible()


def test_excel_text_pastes_as_a_table_and_pictures_are_announced(login):
    page = login("editor")
    page.goto(REPORT)
    sid = section_of(page, "共享共荣")
    textarea = open_editor(page, sid)
    textarea.fill("")
    paste(textarea, None, (FIXTURES / "excel.tsv").read_text(encoding="utf-8"))
    expect(textarea).to_have_value(
        "| 资金来源 | 年初预算数 | 全年预算数 | 全年执行数 |\n| --- | --- | --- | --- |\n"
        "| 财政拨款 | 2,100.00 | 2,162.14 | 2,100.50 |\n| 其他资金 | 0.00 | 0.00 | 0.00 |")
    paste(textarea, (FIXTURES / "word.html").read_text(encoding="utf-8"), "x")
    expect(page.locator(f"#section-{sid} .editor-note")).to_contain_text("1 张图片未粘贴")
    textarea.fill("")
    assert paste(textarea, None, "普通文字\n第二段")  # plain text: the browser's own paste, unchanged


def test_toolbar_buttons_shortcuts_and_undo(login):
    page = login("editor")
    page.goto(REPORT)
    sid = section_of(page, "创新创优")
    textarea = open_editor(page, sid)
    bar = page.locator(f"#section-{sid} [role=toolbar]")
    for name in ("加粗", "倾斜", "编号列表", "项目符号列表", "插入表格", "引用", "撤销", "格式说明"):
        expect(bar.get_by_role("button", name=name)).to_be_visible()

    textarea.fill("重点工作")
    textarea.evaluate("el => el.setSelectionRange(0, 4)")
    bar.get_by_role("button", name="加粗").click()
    expect(textarea).to_have_value("**重点工作**")
    bar.get_by_role("button", name="撤销").click()
    expect(textarea).to_have_value("重点工作")

    textarea.evaluate("el => el.setSelectionRange(0, 4)")
    textarea.press("Control+b")
    expect(textarea).to_have_value("**重点工作**")
    textarea.press("Control+z")  # the browser's own undo stack
    expect(textarea).to_have_value("重点工作")
    textarea.evaluate("el => el.setSelectionRange(0, 2)")
    textarea.press("Control+i")
    expect(textarea).to_have_value("*重点*工作")

    textarea.fill("甲\n乙")
    textarea.evaluate("el => el.setSelectionRange(0, 3)")
    bar.get_by_role("button", name="编号列表").click()
    expect(textarea).to_have_value("1. 甲\n2. 乙")
    textarea.evaluate("el => el.setSelectionRange(0, el.value.length)")
    bar.get_by_role("button", name="编号列表").click()
    expect(textarea).to_have_value("甲\n乙")
    textarea.evaluate("el => el.setSelectionRange(0, 3)")
    bar.get_by_role("button", name="项目符号列表").click()
    expect(textarea).to_have_value("- 甲\n- 乙")
    textarea.fill("引文")
    bar.get_by_role("button", name="引用").click()
    expect(textarea).to_have_value("> 引文")

    textarea.fill("")
    bar.get_by_role("button", name="插入表格").click()
    dialog = page.get_by_role("dialog", name="插入表格")
    dialog.get_by_label("行数（含表头）").fill("3")
    dialog.get_by_label("列数").fill("2")
    dialog.get_by_role("button", name="插入").click()
    expect(textarea).to_have_value("| 标题1 | 标题2 |\n| --- | --- |\n|  |  |\n|  |  |")
    expect(page.locator(f"#preview-{sid} th").first).to_have_text("标题1")

    bar.get_by_role("button", name="格式说明").click()
    help_box = page.get_by_role("dialog", name="格式说明")
    expect(help_box.locator("strong", has_text="加粗的文字")).to_be_visible()
    expect(help_box).to_contain_text("先按 Esc 再按 Tab")
    help_box.get_by_role("button", name="关闭").click()
    expect(help_box).to_have_count(0)


def test_tab_moves_between_cells_indents_elsewhere_and_esc_tab_leaves(login):
    page = login("editor")
    page.goto(REPORT)
    sid = section_of(page, "创新创优")
    textarea = open_editor(page, sid)
    textarea.fill("| 项目 | 金额 |\n| --- | --- |\n| 甲 | 1 |")
    textarea.evaluate("el => el.setSelectionRange(2, 2)")
    textarea.press("Tab")
    assert textarea.evaluate("el => el.value.substring(el.selectionStart, el.selectionEnd)") == "金额"
    textarea.press("Tab")  # the end of the header row: the first cell of the next data row
    assert textarea.evaluate("el => el.value.substring(el.selectionStart, el.selectionEnd)") == "甲"
    textarea.press("Tab")
    textarea.press("Tab")  # past the last cell: a new row
    assert textarea.input_value().endswith("| 甲 | 1 |\n|  |  |")
    textarea.fill("段落")
    textarea.evaluate("el => el.setSelectionRange(0, 0)")
    textarea.press("Tab")
    expect(textarea).to_have_value("\u3000\u3000段落")
    assert page.evaluate("document.activeElement.name") == "markdown"  # Tab never landed on 保存
    textarea.press("Escape")
    textarea.press("Tab")
    assert page.evaluate("document.activeElement.name") != "markdown"
    expect(textarea).to_have_value("\u3000\u3000段落")


def test_one_enter_is_one_paragraph_and_full_width_tables_are_tables(login):
    page = login("editor")
    page.goto(REPORT)
    sid = section_of(page, "创新创优")
    textarea = open_editor(page, sid)
    textarea.fill("第一段\n第二段\n1、编号\n｜项目｜金额｜\n｜经费｜100｜")
    preview = page.locator(f"#preview-{sid}")
    expect(preview.locator("p")).to_have_count(3)
    expect(preview.locator("td", has_text="经费")).to_be_visible()
    body = save(page, sid)
    expect(body.locator("p")).to_have_count(3)
    expect(body.locator("th", has_text="项目")).to_be_visible()


def test_who_else_is_editing_is_seen_and_goes_on_cancel(login):
    editor = login("editor")
    admin = login("admin")
    editor.goto(REPORT)
    admin.goto(REPORT)
    sid = section_of(editor, "党建引领")
    open_editor(editor, sid)
    mark = admin.locator(f"#section-{sid} .presence-mark")
    expect(mark).to_have_text("填报人甲正在编辑", timeout=30_000)
    # The next person to open it is told first.
    open_editor(admin, sid)
    expect(admin.locator(f"#section-{sid} .presence-note")).to_contain_text("填报人甲正在编辑此部分")
    admin.locator(f"#section-{sid}").get_by_role("button", name="取消").click()
    editor.locator(f"#section-{sid}").get_by_role("button", name="取消").click()
    expect(mark).to_have_count(0, timeout=30_000)


def test_unsaved_text_survives_a_reload_and_is_offered_back(login):
    page = login("editor")
    page.goto(REPORT)
    sid = section_of(page, "多措并举")
    textarea = open_editor(page, sid)
    saved = textarea.input_value()
    textarea.fill(saved + "\n重载前写下的一段")
    page.wait_for_timeout(500)  # kept after 300 ms of quiet
    page.reload()
    textarea = open_editor(page, sid)
    offer = page.locator(f"#section-{sid} .draft-offer")
    expect(offer).to_be_visible()
    expect(offer.locator("ins")).to_have_text("重载前写下的一段")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(f"#section-{sid}").screenshot(path=str(ARTIFACTS / "editor-draft-offer.png"))
    offer.get_by_role("button", name="恢复未保存的内容").click()
    expect(textarea).to_have_value(saved + "\n重载前写下的一段")
    body = save(page, sid)
    expect(body).to_contain_text("重载前写下的一段")
    keys = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('draft:'))")
    assert keys == []  # a successful save clears the kept copy
    open_editor(page, sid)
    expect(page.locator(f"#section-{sid} .draft-offer")).to_have_count(0)


def test_an_expired_login_during_save_loses_nothing(login):
    page = login("editor")
    page.goto(REPORT)
    sid = section_of(page, "扩面提质")
    textarea = open_editor(page, sid)
    textarea.fill("登录过期前写好的正文\n第二段")
    page.context.clear_cookies()  # as the server sees an expired session: no session at all
    page.locator(f"#section-{sid}").get_by_role("button", name="保存").click()
    page.wait_for_url("**/login?**")
    assert f"next=/reports/1/sections/{sid}/edit" in unquote(page.url)
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORDS["editor"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**/reports/1/sections/{sid}/edit")
    offer = page.locator(f"#section-{sid} .draft-offer")
    expect(offer).to_be_visible()
    offer.get_by_role("button", name="恢复未保存的内容").click()
    body = save(page, sid)
    expect(body.locator("p", has_text="第二段")).to_be_visible()
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('draft:'))") == []


def test_form_text_cells_get_the_plain_toolbar_and_plain_paste(login):
    page = login("editor")
    page.goto(REPORT)
    page.locator("#form-goals").get_by_role("button", name="编辑目标").click()
    cell = page.locator("#form-goals textarea[name=actual]")
    expect(cell).to_be_visible()
    bar = page.locator("#form-goals .f-actual [role=toolbar]")
    for name in ("编号列表", "项目符号列表", "撤销", "格式说明"):
        expect(bar.get_by_role("button", name=name)).to_be_visible()
    expect(bar.get_by_role("button", name="加粗")).to_have_count(0)  # the cell is plain text
    cell.fill("")
    paste(cell, (FIXTURES / "wps.html").read_text(encoding="utf-8"), "纯文本")
    expect(cell).to_have_value(
        "（四）管理效率分析\n预算编制：年初预算编制完整，细化率达100%。\n1、信息公开及时\n2、采购执行规范\n"
        "注：以上按*号标注的为重点。\n指标　完成值\n政府采购执行率　98.5%")
    cell.evaluate("el => el.setSelectionRange(0, 0)")
    bar.get_by_role("button", name="项目符号列表").click()
    expect(cell).to_have_value(re.compile("^● （四）管理效率分析\n"))
    page.locator("#form-goals").get_by_role("button", name="保存").click()
    expect(page.locator("#form-goals .goal-text").nth(1)).to_contain_text("● （四）管理效率分析")


def test_comment_box_has_the_toolbar(login):
    page = login("reviewer")
    page.goto(REPORT)
    box = page.locator("#comments-report details.add-comment")
    box.locator("summary").click()
    expect(box.get_by_role("toolbar").get_by_role("button", name="加粗")).to_be_visible()
