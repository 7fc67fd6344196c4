"""The final page in a real browser: print layout (A4 pages, CJK text, page numbers) and share links."""

import io
import re
import unicodedata
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from app import SAMPLE_REPORT
from tests.e2e.conftest import answer_confirm

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
YEAR = "2034"  # no other test creates a report for this year
UNIT = "广州市荔湾区残疾人联合会"


def import_and_approve(page) -> str:
    """As admin, import the sample for YEAR and take it to an approved edition; returns its path."""
    page.goto("/reports/import")
    page.locator("select[name=unit_id]").select_option(label=UNIT)
    page.locator("input[name=year]").fill(YEAR)
    page.locator("textarea[name=text]").fill(SAMPLE_REPORT.read_text(encoding="utf-8"))
    page.get_by_role("button", name="预览结构").click()
    expect(page.locator(".preview-outline li").first).to_contain_text("一、绩效自评情况")
    page.get_by_role("button", name="确认导入").click()
    page.wait_for_url(re.compile(r"/reports/\d+$"))
    path = "/reports/" + page.url.rsplit("/", 1)[1]
    for button, state in (("提交审核", "待审核"), ("审核通过", "待审批"), ("审批定稿", "已定稿")):
        page.locator("#workflow summary", has_text=button).click()
        page.locator("#workflow").get_by_role("button", name=f"确认{button}", exact=True).click()
        answer_confirm(page)
        expect(page.locator("#status-badge")).to_have_text(state)
    return path


def test_print_layout_and_share_link(login, browser, server):
    admin = login("admin")
    report = import_and_approve(admin)

    # The print page: A4 pages with CJK text and "— N —" page numbers, as Chromium prints it.
    admin.goto(f"{report}/print")
    expect(admin.locator(".doc-title")).to_contain_text("部门整体支出绩效自评表说明")
    expect(admin.locator(".doc-end")).to_contain_text("定稿版本：第 1 版")
    ARTIFACTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "print.png"))
    # A CJK font really draws the title: its glyphs are wider than a missing-glyph box would be.
    width = admin.evaluate("""() => {
        const probe = document.createElement('span');
        probe.textContent = '绩效自评';
        probe.style.fontSize = '16pt';
        document.querySelector('.document-body').appendChild(probe);
        const w = probe.getBoundingClientRect().width; probe.remove(); return w; }""")
    assert width > 60
    pdf = PdfReader(io.BytesIO(admin.pdf(prefer_css_page_size=True)))
    assert len(pdf.pages) >= 3
    box = pdf.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    # NFKC: Chromium's PDFs map some glyphs to Kangxi radicals (⼀ for 一) in their text layer.
    text = unicodedata.normalize("NFKC", re.sub(r"\s+", "", "".join(p.extract_text() for p in pdf.pages)))
    assert "一、绩效自评情况" in text and "—1—" in text and "—2—" in text
    fonts = {str(f) for p in pdf.pages for f in p["/Resources"]["/Font"].values()}
    assert fonts

    # A share link, made here and opened by someone with no account.
    admin.goto(f"{report}/shares")
    admin.locator("input[name=note]").fill("发送给区财政局")
    admin.get_by_role("button", name="创建链接").click()
    url = admin.locator("input.share-url").input_value()
    assert re.fullmatch(rf"{re.escape(server)}/s/[A-Za-z0-9_-]{{32}}", url)

    stranger = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    try:
        page = stranger.new_page()
        response = page.goto(url)
        assert response.status == 200
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "noindex" in response.headers["x-robots-tag"]
        assert "/login" not in page.url
        expect(page.locator(".doc-title")).to_contain_text("部门整体支出绩效自评表说明")
        expect(page.locator(".share-head")).to_contain_text("定稿版本第 1 版")
        page.screenshot(path=str(ARTIFACTS / "share.png"))
        page.get_by_role("link", name="打印版").click()
        expect(page.locator(".doc-heading.level-1").first).to_have_text("一、绩效自评情况")

        admin.goto(f"{report}/shares")  # not reload: that would post the form again
        row = admin.locator("tr", has_text="发送给区财政局")
        expect(row.locator("td").nth(5)).to_have_text("1")  # the print view is not a second visit
        row.get_by_role("button", name="撤销").click()
        expect(admin.locator("tr", has_text="发送给区财政局")).to_contain_text("已撤销")

        response = page.goto(url)
        assert response.status == 404
        expect(page.locator("h1")).to_have_text("链接无效")
    finally:
        stranger.close()
