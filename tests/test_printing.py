"""The final page: print layout, PDF and DOCX exports, download names."""

import io
import re
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from pypdf import PdfReader

from app import printing
from app.printing import content_disposition, download_name
from app.users import get_user
from app.workflow import perform


def approve(db, report_id):
    """Take the report through to an approved edition."""
    for action in ("submit", "pass", "approve"):
        perform(db, report_id, get_user(db, 1), action)


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    """The PDF and all its text with white space removed (CJK extraction spaces letters apart)."""
    reader = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)
    return reader, re.sub(r"\s+", "", text)


def test_print_page_has_the_document_and_no_site_chrome(auth, app):
    auth.login()
    page = auth.get(f"/reports/{app.config['SAMPLE_ID']}/print")
    assert page.status_code == 200
    assert "css/print.css" in page.text
    assert 'class="doc-title"' in page.text and "2024年度广州市荔湾区残疾人联合会" in page.text
    assert 'class="doc-heading level-1"' in page.text and "绩效自评情况" in page.text
    assert 'class="doc-heading level-2"' in page.text
    assert 'class="status-mark"' in page.text and "草稿" in page.text
    assert "退出登录" not in page.text and 'class="topbar"' not in page.text
    assert 'class="screen-only print-toolbar"' in page.text


def test_print_stylesheet_follows_gbt_9704(app):
    css = (Path(app.static_folder) / "css" / "print.css").read_text(encoding="utf-8")
    assert "size: A4" in css
    assert "margin: 37mm 26mm 35mm 28mm" in css
    assert 'content: "— " counter(page) " —"' in css
    assert "@page :right" in css and "@bottom-right" in css and "@page :left" in css and "@bottom-left" in css
    assert "font-size: 16pt" in css and "font-size: 22pt" in css
    fangsong = re.search(r"--fangsong: ([^;]+);", css).group(1)
    assert fangsong.index("仿宋_GB2312") < fangsong.index("FangSong") < fangsong.index("Noto Serif CJK SC")
    assert '"方正小标宋简体"' in css and '"SimHei"' in css and '"KaiTi"' in css and '"AR PL UKai CN"' in css


def test_submitted_report_prints_as_review_copy_and_approved_as_edition(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    auth.login()
    perform(db, rid, get_user(db, 1), "submit")
    assert "送审稿" in auth.get(f"/reports/{rid}/print").text
    perform(db, rid, get_user(db, 1), "pass")
    perform(db, rid, get_user(db, 1), "approve")
    page = auth.get(f"/reports/{rid}/print").text
    content_hash = db.execute("SELECT content_hash FROM editions").fetchone()[0]
    assert 'class="status-mark"' not in page
    assert "定稿版本：第 1 版" in page and content_hash in page
    assert auth.get(f"/reports/{rid}/editions/1/print").status_code == 200


def test_pdf_is_a4_with_chinese_headings_and_page_numbers(auth, app):
    auth.login()
    response = auth.get(f"/reports/{app.config['SAMPLE_ID']}/export.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader, text = pdf_text(response.data)
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert len(reader.pages) >= 3
    for heading in ["一、绩效自评情况", "（三）履职效能分析", "二、存在的主要问题和下一步改进措施"]:
        assert heading in text
    assert "—1—" in text and "—2—" in text


def test_pdf_without_a_chinese_font_is_refused_with_a_clear_message(auth, app, monkeypatch):
    monkeypatch.setattr(printing, "cjk_font_installed", lambda: False)
    auth.login()
    response = auth.get(f"/reports/{app.config['SAMPLE_ID']}/export.pdf")
    assert response.status_code == 503
    assert "没有安装中文字体" in response.text and "fonts-noto-cjk" in response.text


def test_docx_has_headings_with_east_asian_fonts_a4_and_page_numbers(auth, app):
    auth.login()
    response = auth.get(f"/reports/{app.config['SAMPLE_ID']}/export.docx")
    assert response.status_code == 200
    document = Document(io.BytesIO(response.data))
    headings = [(p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert ("Heading 1", "一、绩效自评情况") in headings
    assert ("Heading 2", "（三）履职效能分析") in headings
    assert ("Heading 3", "1.扩面提质，在完善残疾人康复服务上持续用力") in headings
    first_h1 = next(p for p in document.paragraphs if p.style.name == "Heading 1")
    assert first_h1.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    body = next(p for p in document.paragraphs if p.text.startswith("坚持以习近平"))
    assert body.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert (round(section.top_margin.mm), round(section.left_margin.mm)) == (37, 28)
    footer_xml = section.footer._element.xml
    assert 'w:instr="PAGE"' in footer_xml and "— " in footer_xml
    assert "草稿" in section.header._element.xml


def test_download_names_are_chinese_with_ascii_fallback_and_safe():
    header = content_disposition("2024年度-某单位-自评表说明.pdf", "report-1.pdf")
    assert header.startswith('attachment; filename="report-1.pdf"; filename*=UTF-8\'\'')
    assert "%E8%87%AA%E8%AF%84" in header  # 自评
    hostile = download_name({"year": 2024, "unit_name": "某局/../\r\nX-Evil: 1"}, "pdf")
    assert "/" not in hostile and "\r" not in hostile and "\n" not in hostile and ".." in hostile
    assert "\r" not in content_disposition("a\r\nb.pdf", "a\r\nb.pdf")


def test_export_response_carries_the_encoded_name(auth, app):
    auth.login()
    response = auth.get(f"/reports/{app.config['SAMPLE_ID']}/export.docx")
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''2024" in disposition and 'filename="report-1.docx"' in disposition


@pytest.mark.parametrize("fmt, magic", [("pdf", b"%PDF"), ("docx", b"PK")])
def test_cli_exports_pdf_and_docx_to_a_file(runner, app, tmp_path, fmt, magic):
    output = tmp_path / f"out.{fmt}"
    result = runner.invoke(args=["export-report", str(app.config["SAMPLE_ID"]), "--format", fmt,
                                 "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes().startswith(magic)
    refused = runner.invoke(args=["export-report", str(app.config["SAMPLE_ID"]), "--format", fmt])
    assert refused.exit_code != 0 and "-o" in refused.output


def test_edition_files_are_the_frozen_text(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    approve(db, rid)
    perform(db, rid, get_user(db, 1), "reopen", "补充")
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    auth.login()
    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "重新打开后改写", "version": "1"})
    response = auth.get(f"/reports/{rid}/editions/1/export.docx")
    text = "\n".join(p.text for p in Document(io.BytesIO(response.data)).paragraphs)
    assert "重新打开后改写" not in text and "高标准完成了年度各项目标任务" in text
    assert "第 1 版" in text


def test_the_form_prints_as_tables_after_the_narrative_on_landscape_pages(auth, app):
    auth.login()
    rid = app.config["SAMPLE_ID"]
    page = auth.get(f"/reports/{rid}/print").text
    assert page.index('class="doc-heading level-1"') < page.index('class="form-doc"')
    assert 'class="form-table form-budget"' in page and "康复资助审批人数" in page
    reader, text = pdf_text(auth.get(f"/reports/{rid}/export.pdf").data)
    assert "部门整体支出绩效自评表" in text and "康复资助审批人数" in text
    last = reader.pages[-1].mediabox
    assert float(last.width) > float(last.height)  # landscape


def test_docx_carries_the_form_tables_on_a_landscape_section(auth, app):
    from docx.enum.section import WD_ORIENT

    auth.login()
    document = Document(io.BytesIO(auth.get(f"/reports/{app.config['SAMPLE_ID']}/export.docx").data))
    cells = {cell.text for table in document.tables for row in table.rows for cell in row.cells}
    assert "康复资助审批人数" in cells and "2162.14" in cells
    assert document.sections[-1].orientation == WD_ORIENT.LANDSCAPE
    first_cell = document.tables[0].rows[0].cells[0].paragraphs[0].runs[0]
    assert first_cell._element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"


def test_placeholders_print_with_frozen_values_in_editions(auth, app, db):
    rid = app.config["SAMPLE_ID"]
    sid = db.execute("SELECT id FROM sections WHERE title = '自评结论'").fetchone()[0]
    auth.login()
    auth.post(f"/reports/{rid}/sections/{sid}", {"markdown": "自评得分{{总分}}分，等级{{等级}}。", "version": "1"})
    approve(db, rid)
    document = Document(io.BytesIO(auth.get(f"/reports/{rid}/editions/1/export.docx").data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "{{总分}}" not in text and re.search(r"自评得分\d+\.\d\d分，等级[优良中差]", text)
