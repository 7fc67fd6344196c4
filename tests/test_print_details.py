"""Print details (#19): stray spaces between Chinese and figures closed up in print and PDF only, watermark as
decoration, the layout rules that keep headers, rows and the closing line together."""

import io
import re
import unicodedata
from pathlib import Path

from pypdf import PdfReader

from app.form_render import FormTable, table_html
from app.form_store import add_row, form_json
from app.reports import get_report
from app.sections import get_sections, save_section
from app.typeset import close_cjk_gaps, tighten_html
from app.users import get_user
from tests.test_printing import approve

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
    assert "thead + tbody tr:first-child { break-before: avoid;" in css
    assert ".form-doc tbody.merge-group { break-inside: avoid;" in css
    assert ".document-body tr, .form-doc tr { page-break-inside: avoid; break-inside: avoid; }" in css
    assert ".doc-end { break-before: avoid;" in css


# A long 绩效指标 table: groups longer than a landscape page, some rows several lines tall.
# Labels of their own, so that finding them on a page is not luck.
LONG_GROUPS = [("长表产出甲", "数量乙一", 14, ""),
               ("长表产出甲", "质量乙二", 9,
                "因部分项目受场地改造影响延期，已于次年一季度完成；今后加强计划管理，按季度跟踪进度。"),
               ("长表效益丙", "社会效益丁", 16, "受服务对象需求变化影响。改进措施：加强需求调研。"),
               ("长表满意戊", "满意程度己", 5, "")]
HEADER_END = "偏差原因分析及改进措施"  # the last cell of the 绩效指标 header row


def _lengthen_indicators(db, report_id: int) -> dict[str, str]:
    """Add 44 indicators in long 一级/二级 groups; returns each new indicator's name → its 一级指标."""
    admin = get_user(db, 1)
    report, level1_of = get_report(db, admin, report_id), {}
    for level1, level2, count, reason in LONG_GROUPS:
        for _ in range(count):
            name = f"长表指标{len(level1_of) + 1:02d}"
            add_row(db, report, admin, "indicators", {
                "level1": level1, "level2": level2, "name": name, "kind": "quantitative", "direction": ">=",
                "unit": "人", "target": "100", "actual": "98", "weight": "1", "reason": reason})
            level1_of[name] = level1
    return level1_of


# Chromium's PDFs map some common characters to CJK radicals (⼈ ⻔ ⻓); NFKC folds the Kangxi ones, not these.
RADICALS = str.maketrans("⻔⻓⺠⻅⻋⻘⻜⻢⻆⻩⻬⻄⻝⻚⻛⻥⻦⻰⻉⻙", "门长民见车青飞马角黄齐西食页风鱼鸟龙贝韦")


def _page_texts(data: bytes) -> list[str]:
    """Each page's text, white space removed (pypdf spaces CJK glyphs apart), radicals read as characters."""
    return [unicodedata.normalize("NFKC", re.sub(r"\s+", "", page.extract_text())).translate(RADICALS)
            for page in PdfReader(io.BytesIO(data)).pages]


def _assert_print_rules(pages: list[str], closing: str, level1_of: dict[str, str]) -> None:
    """The header row of the 绩效指标 table has a data row after it on its page; every indicator row on a page
    has its 一级指标 label on that page; the closing line shares the last page with the document's end."""
    # The rows of the 绩效指标 table on a page follow its header row (repeated on every page it runs over) and
    # end where the 自评得分 table begins.
    rows = {number: text.split(HEADER_END, 1)[1].split("自评得分预算执行得分", 1)[0]
            for number, text in enumerate(pages) if HEADER_END in text}
    assert rows, "the 绩效指标 table was not found"
    for number, text in rows.items():
        assert any(name in text for name in level1_of), f"page {number + 1}: the header row without a row after it"
        for name, level1 in level1_of.items():
            if name in text:
                assert level1 in text.replace(name, ""), f"page {number + 1}: {name} without its 一级指标 {level1}"
    # `closing` is how the closing block begins; before it on the last page there must be more than a watermark.
    last, closing = re.sub(r"—\d+—", "", pages[-1]), unicodedata.normalize("NFKC", closing)
    assert closing in last
    before = last.split(closing, 1)[0]
    assert re.sub("草稿|送审稿", "", before), "the closing line stands alone on the last page"


def _all_indicators(db, report_id: int) -> dict[str, str]:
    """Every indicator of the report: name → 一级指标."""
    form, _ = form_json(db, report_id)
    return {i["name"]: i["level1"] for i in form["indicators"]}


def test_sample_report_pdf_keeps_the_header_with_rows_and_the_closing_line_with_the_text(auth, app, db):
    report_id = app.config["SAMPLE_ID"]
    auth.login()
    pages = _page_texts(auth.get(f"/reports/{report_id}/export.pdf").data)
    _assert_print_rules(pages, "本稿为草稿，未经审批定稿", _all_indicators(db, report_id))
    approve(db, report_id)  # the edition ends with its version and hash
    pages = _page_texts(auth.get(f"/reports/{report_id}/editions/1/export.pdf").data)
    _assert_print_rules(pages, "定稿版本：第", _all_indicators(db, report_id))
    assert "内容哈希(SHA-256)" in pages[-1]


def test_long_indicator_table_repeats_its_labels_on_every_page_and_keeps_the_rules(auth, app, db):
    report_id = app.config["SAMPLE_ID"]
    _lengthen_indicators(db, report_id)
    auth.login()
    pages = _page_texts(auth.get(f"/reports/{report_id}/export.pdf").data)
    with_rows = [text for text in pages if "长表指标" in text]
    assert len(with_rows) >= 2, "the table should run over several pages"
    _assert_print_rules(pages, "本稿为草稿，未经审批定稿", _all_indicators(db, report_id))


def test_long_merged_runs_print_in_chunks_that_each_carry_their_labels():
    rows = [["产出指标", "数量指标", f"指标{n}", "定量", "≥1", "1", "1", "1", ""] for n in range(20)]
    rows += [["产出指标", "质量指标", "合格率", "定量", "≥90%", "95%", "5", "5", ""]]
    table = FormTable("indicators", "绩效指标完成情况", ["一级指标"] * 9, rows, merge_columns=(0, 1))
    bodies = table_html(table).split('<tbody class="merge-group">')[1:]
    assert len(bodies) == 3  # 8 + 8 + (4 数量 with the 质量 row: one 一级 run, cut where it passes 8 lines)
    for body in bodies:
        first = re.search(r"<tr>(.*?)</tr>", body).group(1)
        assert first.startswith('<td rowspan="') and "产出指标</td>" in first.split("</td>", 1)[0] + "</td>"
    assert sum(body.count("<tr") for body in bodies) == 21
