"""Enter means a new paragraph, and office-typed tables are tables (#16), in every output."""

import io

import pytest
from docx import Document

from app.docx_export import to_docx
from app.office_text import prepare
from app.printing import Printable, PrintSection
from app.render import render_markdown


@pytest.mark.parametrize("text, paragraphs", [
    ("第一段\n第二段", ["第一段", "第二段"]),
    ("情况如下：\n1、康复服务\n① 就业\n●宣传\n·培训\n（1）补贴", [
        "情况如下：", "1、康复服务", "① 就业", "●宣传", "·培训", "（1）补贴"]),
    ("　　首行缩进的段落\n　　第二段", ["首行缩进的段落", "第二段"]),
    ("空行分段照旧\n\n第二段", ["空行分段照旧", "第二段"]),
])
def test_each_enter_starts_a_paragraph(text, paragraphs):
    html = render_markdown(text)
    assert html.count("<p>") == len(paragraphs)
    for paragraph in paragraphs:
        assert f"<p>{paragraph}</p>" in html


@pytest.mark.parametrize("text", [
    "｜项目｜金额｜\n｜财政拨款｜2162.14｜",            # the input method's full-width bar
    "| 项目 | 金额 |\n| 财政拨款 | 2162.14 |",       # no |---| row
    "｜项目｜金额｜\n｜－－｜－－｜\n｜财政拨款｜2162.14｜",  # full-width separator row
    "说明如下：\n| 项目 | 金额 |\n|---|---|\n| 财政拨款 | 2162.14 |\n合计见上表。",  # no blank lines around
])
def test_office_typed_tables_are_tables(text):
    html = render_markdown(text)
    assert "<th>项目</th>" in html and "<td>财政拨款</td>" in html and "<td>2162.14</td>" in html
    assert "｜" not in html and "---" not in html


def test_lists_and_quotes_keep_line_breaks_inside_and_end_at_text():
    html = render_markdown("- 康复\n  续写一行\n- 就业\n正文\n> 引文甲\n> 引文乙\n后记")
    assert "<li>康复<br>" in html and "续写一行</li>" in html
    assert html.count("<li>") == 2 and "<p>正文</p>" in html
    assert "引文甲<br>" in html and "<p>后记</p>" in html


def test_markdown_lists_separated_from_the_paragraph_before():
    html = render_markdown("工作如下：\n- 甲\n- 乙\n1. 一\n2. 二")
    assert "<p>工作如下：</p>" in html and "<ul>" in html and "<ol>" in html


def test_a_rule_under_a_line_is_a_rule_not_a_heading():
    assert "<hr>" in render_markdown("文字\n---\n尾") and "<h2>" not in render_markdown("文字\n---")


def test_prepare_is_idempotent_and_code_is_left_alone():
    text = "甲\n乙\n｜a｜b｜\n｜c｜d｜\n- x\n  y\n    z\n\n```\n原样\n保留\n```"
    once = prepare(text)
    assert prepare(once) == once
    assert "```\n原样\n保留\n```" in once


def test_legacy_rendering_joins_lines_as_before():
    assert render_markdown("甲\n乙", office=False) == "<p>甲\n乙</p>"


def _docx_paragraphs(html: str) -> list[str]:
    doc = Printable(report_id=1, unit="某单位", year=2024, title="标题", preamble_html="", body_html="",
                    sections=[PrintSection(1, "一、", "情况", rendered=html)], mark=None)
    document = Document(io.BytesIO(to_docx(doc)))
    return [p.text for p in document.paragraphs if p.text.strip()]


def test_word_export_has_one_paragraph_per_enter_and_breaks_in_cells():
    html = render_markdown("第一段\n第二段\n- 康复\n  续写")
    paragraphs = _docx_paragraphs(html)
    assert "第一段" in paragraphs and "第二段" in paragraphs
    assert any(p.endswith("康复\n续写") for p in paragraphs)  # one break, not two


def test_migration_renders_stored_html_again_and_marks_old_editions(app, db):
    """Sections saved before #16 show their lines as paragraphs; editions keep their frozen HTML."""
    from app.printing import from_edition
    from app.reports import get_report
    from app.schema import MIGRATIONS, migrate
    from app.users import get_user
    from app.workflow import perform

    rid = app.config["SAMPLE_ID"]
    sid = db.execute("SELECT id FROM sections WHERE report_id = ? ORDER BY id LIMIT 1", (rid,)).fetchone()[0]
    db.execute("UPDATE sections SET markdown = ?, html = ? WHERE id = ?",
               ("甲\n乙", render_markdown("甲\n乙", office=False), sid))
    db.execute("UPDATE reports SET preamble = ?, preamble_html = ? WHERE id = ?",
               ("前言一\n前言二", "<p>前言一\n前言二</p>", rid))
    admin = get_user(db, 1)
    for action in ("submit", "pass", "approve"):
        perform(db, rid, admin, action)
    frozen = db.execute("SELECT html FROM editions WHERE report_id = ?", (rid,)).fetchone()[0]
    # Back to the database as it stood before migration 0014.
    db.execute("ALTER TABLE editions DROP COLUMN line_breaks")
    db.execute("UPDATE sections SET html = ? WHERE id = ?", ("<p>甲\n乙</p>", sid))
    before = [name for name, _ in MIGRATIONS].index("0014_line_breaks")
    db.execute(f"PRAGMA user_version = {before}")

    assert migrate(db) == [name for name, _ in MIGRATIONS[before:]]  # 0014 and what came after it
    assert db.execute("SELECT html FROM sections WHERE id = ?", (sid,)).fetchone()[0] == "<p>甲</p>\n<p>乙</p>"
    assert "<p>前言一</p>" in db.execute("SELECT preamble_html FROM reports WHERE id = ?", (rid,)).fetchone()[0]
    edition = db.execute("SELECT html, line_breaks FROM editions WHERE report_id = ?", (rid,)).fetchone()
    assert edition == (frozen, 0)
    printable = from_edition(db, get_report(db, admin, rid), 1)
    assert "<p>甲\n乙</p>" in printable.sections[0].html  # Word gets what was approved


def test_markdown_export_shows_each_enter_as_a_paragraph_in_any_reader(auth, app, db):
    """The exported file has a blank line at each Enter and completed tables; JSON keeps the typed text."""
    rid = app.config["SAMPLE_ID"]
    sid = db.execute("SELECT id FROM sections WHERE report_id = ? ORDER BY id LIMIT 1", (rid,)).fetchone()[0]
    db.execute("UPDATE sections SET markdown = ? WHERE id = ?", ("甲\n乙\n｜项目｜金额｜\n｜经费｜1｜", sid))
    auth.login()
    exported = auth.get(f"/reports/{rid}/export.md").text
    assert "## 一、绩效自评情况\n\n甲\n\n乙\n\n|项目|金额|\n| --- | --- |\n|经费|1|\n\n###" in exported
    data = auth.get(f"/reports/{rid}/export.json").json
    assert data["sections"][0]["markdown"] == "甲\n乙\n｜项目｜金额｜\n｜经费｜1｜"
