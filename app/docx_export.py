"""The report as a Word file: official fonts set as East-Asian fonts on every run, A4, page numbers."""

import io
import re
from html.parser import HTMLParser

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from .cleantext import clean
from .printing import Printable

# GB/T 9704: 三号 (16 pt) body in 仿宋; 二号 (22 pt) title in 小标宋; 一、 in 黑体, （一） in 楷体.
BODY_FONT, TITLE_FONT, HEI, KAI = "仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312"
BODY_PT, TITLE_PT = 16, 22
HEADING_FONTS = {1: (HEI, False), 2: (KAI, False), 3: (BODY_FONT, True), 4: (BODY_FONT, False)}
MARGINS_MM = {"top": 37, "right": 26, "bottom": 35, "left": 28}


def _all_scripts(r_pr, name: str) -> None:
    """Name the font for Latin, East-Asian and complex scripts alike, dropping theme fonts."""
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), name)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def xml_safe(text: str) -> str:
    """Text Word's XML can hold. Typed text is cleaned on the way in (cleantext.py); an edition frozen
    before that stays byte-identical, so its text is made safe here, on the way out."""
    return clean(str(text))


def set_font(run, name: str, size: float | None = None, bold: bool | None = None) -> None:
    """Set a run's font for Latin and East-Asian text alike (Word ignores font.name for Chinese)."""
    run.font.name = name
    _all_scripts(run._element.get_or_add_rPr(), name)
    if size is not None:
        run.font.size = Pt(size)
    if bold is not None:
        run.font.bold = bold


def _style_font(style, name: str, size: float, bold: bool = False) -> None:
    """Give a paragraph style the official font, East-Asian included, in black."""
    style.font.name = name
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    _all_scripts(style.element.get_or_add_rPr(), name)


def _page_number(paragraph) -> None:
    """"— N —" with a PAGE field, as official documents number their pages."""
    set_font(paragraph.add_run("— "), "宋体", 14)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    set_font(paragraph.add_run(" —"), "宋体", 14)


def _setup(document, mark: str | None) -> None:
    """A4 with GB/T 9704 margins, styles, and page numbers right on odd pages, left on even."""
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.right_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["right"])
    section.bottom_margin, section.left_margin = Mm(MARGINS_MM["bottom"]), Mm(MARGINS_MM["left"])
    document.settings.odd_and_even_pages_header_footer = True
    for footer, align in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
                          (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        paragraph = footer.paragraphs[0]
        paragraph.alignment = align
        _page_number(paragraph)
    if mark:
        for header in (section.header, section.even_page_header):
            paragraph = header.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            run = paragraph.add_run(xml_safe(mark))
            set_font(run, HEI, 14, True)
            run.font.color.rgb = RGBColor(0xB4, 0x23, 0x18)
    normal = document.styles["Normal"]
    _style_font(normal, BODY_FONT, BODY_PT)
    normal.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
    normal.paragraph_format.line_spacing = Pt(28)
    normal.paragraph_format.space_after = Pt(0)
    for level, (font, bold) in HEADING_FONTS.items():
        style = document.styles[f"Heading {level}"]
        _style_font(style, font, BODY_PT, bold)
        style.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
        style.paragraph_format.space_before = Pt(0)
        style.paragraph_format.space_after = Pt(0)
        style.paragraph_format.line_spacing = Pt(28)


_NEWLINE_SPACE = re.compile(r"\n\s*")  # source layout of the HTML, shown as nothing


class _HtmlToDocx(HTMLParser):
    """Writes the sanitized HTML of a section (p, lists, tables, emphasis) into Word paragraphs."""

    def __init__(self, document):
        super().__init__(convert_charrefs=True)
        self.document = document
        self.paragraph = None
        self.inline: list[str] = []
        self.lists: list[list] = []  # [kind, counter]
        self.table: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def _new_paragraph(self, indent: bool = True):
        self.paragraph = self.document.add_paragraph()
        if not indent:
            self.paragraph.paragraph_format.first_line_indent = Pt(0)
        return self.paragraph

    def handle_starttag(self, tag, attrs):
        if self.table is not None:
            if tag == "tr":
                self.table.append([])
            elif tag in ("td", "th"):
                self.cell = []
            elif tag == "br" and self.cell is not None:
                self.cell.append("\n")  # a line break inside a cell (pasted tables keep them)
            return
        if tag in ("p", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"):
            self._new_paragraph(indent=tag == "p")
            if tag.startswith("h"):
                self.inline.append("strong")
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 0])
        elif tag == "li":
            kind = self.lists[-1] if self.lists else ["ul", 0]
            kind[1] += 1
            self._new_paragraph(indent=False)
            self.paragraph.paragraph_format.left_indent = Pt(BODY_PT * 2 * max(len(self.lists), 1))
            bullet = f"{kind[1]}. " if kind[0] == "ol" else "• "
            set_font(self.paragraph.add_run(bullet), BODY_FONT, BODY_PT)
        elif tag == "br" and self.paragraph is not None:
            self.paragraph.add_run().add_break()
        elif tag == "table":
            self.table = []
        elif tag in ("strong", "b", "em", "i", "u", "del", "s", "sub", "sup", "code"):
            self.inline.append(tag)
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.handle_data(f"［图：{alt}］")

    def handle_endtag(self, tag):
        if self.table is not None:
            if tag in ("td", "th") and self.cell is not None and self.table:
                self.table[-1].append("".join(self.cell).strip())
                self.cell = None
            elif tag == "table":
                add_table(self.document, None, self.table[0] if self.table else [], self.table[1:])
                self.table = None
            return
        if tag in ("p", "li", "blockquote", "pre"):
            self.paragraph = None
        elif tag.startswith("h") and len(tag) == 2:
            self.paragraph = None
            if "strong" in self.inline:
                self.inline.remove("strong")
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag in self.inline:
            self.inline.reverse()
            self.inline.remove(tag)
            self.inline.reverse()

    def handle_data(self, data):
        if self.table is not None:
            if self.cell is not None:
                self.cell.append(_NEWLINE_SPACE.sub("", data))
            return
        # Line breaks are <br> (written above); the newline Markdown puts after one is not a second.
        data = _NEWLINE_SPACE.sub("", data)
        if not data.strip() and self.paragraph is None:
            return
        if self.paragraph is None:
            self._new_paragraph()
        run = self.paragraph.add_run(xml_safe(data))
        set_font(run, BODY_FONT, BODY_PT)
        run.font.bold = True if {"strong", "b"} & set(self.inline) else None
        run.font.italic = True if {"em", "i"} & set(self.inline) else None
        run.font.underline = True if "u" in self.inline else None
        run.font.strike = True if {"del", "s"} & set(self.inline) else None
        run.font.subscript = True if "sub" in self.inline else None
        run.font.superscript = True if "sup" in self.inline else None


def add_table(document, title: str | None, header: list[str], rows: list[list[str]], size: float = 10.5):
    """A bordered Word table with the header row in bold, every cell in the body font."""
    if title:
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.first_line_indent = Pt(0)
        set_font(paragraph.add_run(xml_safe(title)), HEI, 14)
    width = max([len(header)] + [len(r) for r in rows]) if (header or rows) else 0
    if not width:
        return
    table = document.add_table(rows=0, cols=width)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for index, values in enumerate([header] + rows if header else rows):
        cells = table.add_row().cells
        for cell, value in zip(cells, list(values) + [""] * (width - len(values)), strict=True):
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.first_line_indent = Pt(0)
            paragraph.paragraph_format.line_spacing = 1.0
            set_font(paragraph.add_run(xml_safe(str(value))), BODY_FONT, size, bold=bool(header) and index == 0)


def to_docx(printable: Printable, tables: list | None = None) -> bytes:
    """The report as DOCX bytes: title, numbered headings as Word headings, body, tables, sign-off."""
    document = Document()
    _setup(document, printable.mark)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.first_line_indent = Pt(0)
    title.paragraph_format.space_after = Pt(BODY_PT)
    title.paragraph_format.line_spacing = Pt(36)
    set_font(title.add_run(xml_safe(printable.title)), TITLE_FONT, TITLE_PT)
    converter = _HtmlToDocx(document)
    if printable.preamble_html:
        converter.feed(printable.preamble_html)
    for section in printable.sections:
        heading = document.add_paragraph(style=f"Heading {section.level}")
        font, bold = HEADING_FONTS[section.level]
        set_font(heading.add_run(xml_safe(f"{section.number}{section.title}")), font, BODY_PT, bold)
        converter.paragraph = None
        converter.feed(section.html)
        converter.close()
        converter.reset()
    if tables:
        # The 自评表 is wide: it goes on landscape pages of its own, margins kept.
        landscape = document.add_section(WD_SECTION.NEW_PAGE)
        landscape.orientation = WD_ORIENT.LANDSCAPE
        landscape.page_width, landscape.page_height = Mm(297), Mm(210)
        landscape.top_margin, landscape.bottom_margin = Mm(28), Mm(26)
        landscape.left_margin, landscape.right_margin = Mm(28), Mm(26)
    for table_title, header, rows in tables or []:
        add_table(document, table_title, header, rows)
    if printable.edition:
        note = document.add_paragraph()
        note.paragraph_format.first_line_indent = Pt(0)
        note.paragraph_format.space_before = Pt(BODY_PT)
        set_font(note.add_run(xml_safe(
            f"定稿版本：第 {printable.edition['number']} 版　内容哈希（SHA-256）：{printable.edition['content_hash']}"
        )), BODY_FONT, 9)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
