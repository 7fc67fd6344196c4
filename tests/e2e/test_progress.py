"""Long exports and imports show that they are at work, in a real browser."""

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

REPORT = "/reports/1"
UNIT = "广州市荔湾区残疾人联合会"


def _slowly(route) -> None:
    """Hold a request back a moment, as a big report's export or import would take."""
    time.sleep(1.0)
    route.continue_()


def test_word_export_shows_progress_then_saves_the_file_under_its_chinese_name(login):
    page = login("editor")
    page.goto(REPORT)
    page.route(re.compile(r".*/export\.docx$"), _slowly)
    page.locator("details.export-menu summary").click()
    link = page.locator("details.export-menu a", has_text="Word")
    with page.expect_download() as download:
        link.click()
        expect(link).to_have_text("正在生成 Word，请稍候…")
        expect(link).to_have_attribute("aria-busy", "true")
        expect(page.locator("progress.download-progress")).to_have_count(1)
    assert download.value.suggested_filename.endswith("-自评表说明.docx")
    assert "荔湾区残疾人联合会" in download.value.suggested_filename
    expect(link).to_have_text("Word（DOCX）")
    expect(page.locator("progress.download-progress")).to_have_count(0)
    assert page.url.endswith(REPORT)  # the page stayed as it was


def test_a_failed_export_says_why_in_the_page(login):
    page = login("editor")
    page.goto(REPORT)
    page.route(re.compile(r".*/export\.pdf$"), lambda route: route.fulfill(
        status=503, headers={"HX-Retarget": "#messages", "Content-Type": "text/html; charset=utf-8"},
        body='<div class="message error" role="alert"><span>服务器没有安装中文字体</span></div>'))
    page.locator("details.export-menu summary").click()
    page.locator("details.export-menu a", has_text="PDF").click()
    expect(page.locator("#messages")).to_contain_text("服务器没有安装中文字体")
    expect(page.locator("details.export-menu a", has_text="PDF")).to_have_text("PDF")
    assert page.url.endswith(REPORT)


def test_import_button_shows_it_is_working_until_the_next_page(login):
    page = login("admin")
    page.goto("/reports/import")
    page.route(re.compile(r".*/reports/import$"),
               lambda route: _slowly(route) if route.request.method == "POST" else route.continue_())
    # The state to check lasts only while the POST is on its way: note it in the tab's storage.
    page.evaluate("""() => document.addEventListener("submit", () => setTimeout(() => {
        const button = document.querySelector("form[data-busy] button[type=submit]");
        const bar = document.querySelector("progress[data-busy-indicator]");
        sessionStorage.setItem("busy", JSON.stringify([button.disabled, button.textContent, !bar.hidden]));
    }, 100))""")
    page.locator("select[name=unit_id]").select_option(label=UNIT)
    page.locator("input[name=year]").fill("2041")
    page.locator("textarea[name=text]").fill("# 进度测试报告\n\n一、绩效自评情况\n\n正文。\n")
    page.get_by_role("button", name="预览结构").click()
    expect(page.locator(".preview-outline li").first).to_contain_text("一、绩效自评情况")
    assert page.evaluate("JSON.parse(sessionStorage.getItem('busy'))") == [True, "正在读取文件，请稍候…", True]
