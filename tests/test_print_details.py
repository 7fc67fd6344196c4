"""Print details (#19): stray spaces between Chinese and figures closed up in print and PDF only, watermark as
decoration, the layout rules that keep headers, rows and the closing line together."""

import io
import re
from pathlib import Path

from pypdf import PdfReader

from app.reports import get_report, get_sections
from app.sections import save_section
from app.typeset import close_cjk_gaps, tighten_html
from app.users import get_user

PASTED = "2024年，本会入选全市 2024 年度无障碍环境建设示范单位，新增 ABC 项目 12 个，覆盖率 98 %。"
PRINT_CSS = Path(__file__).resolve().parents[1] / "static" / "css" / "print.css"


def test_spaces_between_chinese_and_figures_are_closed_up():
    assert close_cjk_gaps("入选全市 2024 年度") == "入选全市2024年度"
    assert close_cjk_gaps("新增 ABC 项目") == "新增ABC项目"
    assert close_cjk_gaps("in 2024 and 2025") == "in 2024 and 2025"  # between Latin words: kept
    assert close_cjk_gaps("康复 服务") == "康复 服务"  # between Chinese words: the writer's choice, kept


def test_only_text_is_touched_not_tags_attributes_or_code():
    markup = '<p title="全市 2024 年">全市 2024 年</p><code>x = 1 年 2</code><a href="/a 1">第 3 条</a>'
    expected = '<p title="全市 2024 年">全市2024年</p><code>x = 1 年 2</code><a href="/a 1">第3条</a>'
    assert tighten_html(markup) == expected


def test_print_page_and_pdf_close_the_gaps_and_the_text_stays_as_written(auth, app, db):
    report_id = app.config["SAMPLE_ID"]
    admin = get_user(db, 1)
    section = get_sections(db, report_id)[1]
    save_section(db, get_report(db, admin, report_id), admin, section.id, PASTED, section.version)
    auth.login()
    page = auth.get(f"/reports/{report_id}/print").text
    assert "入选全市2024年度无障碍环境建设示范单位，新增ABC项目12个，覆盖率98 %" in page
    assert "全市 2024 年度" not in page
    # The saved text and the report page keep what was typed.
    assert "入选全市 2024 年度" in auth.get(f"/reports/{report_id}").text
    assert get_sections(db, report_id)[1].markdown == PASTED
    pdf = auth.get(f"/reports/{report_id}/export.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "全市2024年度" in text  # pypdf puts a space where the PDF leaves a gap wider than a glyph's advance


def test_watermark_is_drawn_from_its_attribute_and_hidden_from_screen_readers(auth, app):
    auth.login()
    page = auth.get(f"/reports/{app.config['SAMPLE_ID']}/print").text
    assert re.search(r'<div class="status-mark" aria-hidden="true" data-mark="草稿"></div>', page)
    assert ".status-mark::before { content: attr(data-mark); }" in PRINT_CSS.read_text(encoding="utf-8")


def test_print_rules_keep_headers_with_rows_and_the_closing_line_with_the_text():
    css = re.sub(r"\s+", " ", PRINT_CSS.read_text(encoding="utf-8"))
    assert "caption, thead, thead tr { break-after: avoid;" in css
    assert "tbody tr:first-child { break-before: avoid;" in css
    assert ".document-body tr, .form-doc tr { page-break-inside: avoid; break-inside: avoid; }" in css
    assert ".doc-end { break-before: avoid;" in css
