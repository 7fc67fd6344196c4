"""The print rules of #19 in Chromium's own print (what 打印 in the browser gives), not only in WeasyPrint's PDF:
merged 一级指标 labels on every page of a long indicator table, the header row never without a row, the closing
line never alone on the last page."""

from pathlib import Path

import pytest

from tests.test_print_details import _all_indicators, _assert_print_rules, _lengthen_indicators, _page_texts

pytestmark = pytest.mark.e2e

PRINT_CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "print.css"


def chromium_pdf(browser, page_html: str) -> bytes:
    """The print page as Chromium prints it (A4 from the stylesheet, no header and footer)."""
    style = "<style>" + PRINT_CSS.read_text(encoding="utf-8") + "</style>"
    head, rest = page_html.split("</head>", 1)
    page = browser.new_page()
    try:
        body = rest.replace("<script", "<template").replace("</script>", "</template>")  # the page as printed
        page.set_content(head + style + "</head>" + body)
        return page.pdf(prefer_css_page_size=True)
    finally:
        page.close()


@pytest.mark.parametrize("long_table", [False, True], ids=["sample", "long indicator table"])
def test_chromium_print_keeps_labels_headers_and_the_closing_line(browser, auth, app, db, long_table):
    report_id = app.config["SAMPLE_ID"]
    if long_table:
        _lengthen_indicators(db, report_id)
    auth.login()
    pages = _page_texts(chromium_pdf(browser, auth.get(f"/reports/{report_id}/print").text))
    if long_table:
        assert sum("长表指标" in text for text in pages) >= 2
    _assert_print_rules(pages, "本稿为草稿，未经审批定稿", _all_indicators(db, report_id))
