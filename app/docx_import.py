"""Reading a Word (.docx) report as Markdown text the outline parser understands."""

import io
import re
import zipfile

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from .errors import InvalidInput
from .outline import numbering_level

# A heading style without a typed number still says its level; give it a number of that level
# so the numbering-based parser places it (the number shown is recomputed from position anyway).
_LEVEL_NUMBERS = {1: "一、", 2: "（一）", 3: "1.", 4: "（1）"}
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-4])$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}


def _style_name(paragraph: Paragraph, names: dict) -> str:
    """The paragraph's style name, looked up once per style: python-docx scans every style of the
    document for each unstyled paragraph (~2 ms each, minutes for a long file)."""
    style_id = paragraph._p.style
    if style_id not in names:
        style = paragraph.style
        names[style_id] = (style.name if style is not None else "") or ""
    return names[style_id]


def _heading_level(name: str) -> int | None:
    """The outline level a Word heading style (by name) gives, if any."""
    match = _HEADING_STYLE.match(name.strip())
    return int(match.group(1)) if match else None


def _cell_text(text: str) -> str:
    """A table cell's text on one line, safe inside a Markdown table."""
    return " ".join(text.split()).replace("|", "｜")


# Tables are read from the XML, not through python-docx's cells: those expand every merged cell one
# grid column at a time and walk vertical merges from row to row, which a 36 KB file turns into
# minutes (gridSpan="1000000", a 900-row chain of vMerge) or a crash (a merge in the first row).
# A real report's tables are a few dozen rows by a dozen columns.
MAX_TABLE_COLUMNS = 64
MAX_TABLE_ROWS = 2_000
MAX_TABLE_CELLS = 50_000  # all tables of the file together, after merged cells are spread out
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _too_complex(number: int, why: str) -> InvalidInput:
    """The refusal of a table that is too large or malformed to read."""
    return InvalidInput(f"文件中的表格过于复杂（第 {number} 个表格{why}），未导入任何内容。"
                        "请简化该表格（减少合并单元格或拆分表格）后再导入。")


def _merge_of(tc) -> tuple[int, str | None]:
    """How many grid columns a cell spans, and its vertical merge ("restart", "continue" or None)."""
    properties = tc.find(f"{_W}tcPr")
    if properties is None:
        return 1, None
    span, vmerge = 1, None
    grid_span = properties.find(f"{_W}gridSpan")
    if grid_span is not None:
        value = grid_span.get(f"{_W}val", "1")
        span = int(value) if value.isdigit() and len(value) <= 6 else -1
    merge = properties.find(f"{_W}vMerge")
    if merge is not None:
        vmerge = merge.get(f"{_W}val") or "continue"
    return span, vmerge


def _xml_cell_text(tc) -> str:
    """The text of a cell's paragraphs (and of any table nested in it)."""
    parts = []
    for element in tc.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}p"):
        parts.append(element.text or "" if element.tag == f"{_W}t" else " ")
    return "".join(parts)


def _table_rows(tbl, number: int, budget: list[int]) -> list[list[str]]:
    """A table's rows of cell texts; merged cells repeat their text; InvalidInput past the limits."""
    rows: list[list[str]] = []
    above: dict[int, str] = {}  # grid column → text of the cell a vertical merge continues
    for tr in tbl.iterchildren(f"{_W}tr"):
        if len(rows) >= MAX_TABLE_ROWS:
            raise _too_complex(number, f"超过 {MAX_TABLE_ROWS} 行")
        row: list[str] = []
        for tc in tr.iterchildren(f"{_W}tc"):
            span, vmerge = _merge_of(tc)
            if not 1 <= span <= MAX_TABLE_COLUMNS or len(row) + span > MAX_TABLE_COLUMNS:
                raise _too_complex(number, f"超过 {MAX_TABLE_COLUMNS} 列，或合并单元格的列数不正确")
            column = len(row)
            text = above.get(column, "") if vmerge == "continue" else _cell_text(_xml_cell_text(tc))
            for offset in range(span):
                above[column + offset] = text
            row.extend([text] * span)
        budget[0] -= len(row)
        if budget[0] < 0:
            raise InvalidInput(f"文件中的表格单元格合计超过 {MAX_TABLE_CELLS} 个，未导入任何内容。请拆分文件后再导入。")
        rows.append(row)
    return rows


def _table_markdown(table: Table, number: int, budget: list[int]) -> str:
    """A Word table as a Markdown table (first row as header; merged cells repeat their text)."""
    rows = [r for r in _table_rows(table._tbl, number, budget) if any(r)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _blocks(document):
    """Paragraphs and tables in document order."""
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield Paragraph(child, document)
        elif tag == "tbl":
            yield Table(child, document)


# A .docx is a zip: 200 KB can unpack to 200 MB of XML (a "zip bomb") or two million paragraphs
# that take python-docx minutes. A long real report unpacks to a few MB and a few thousand paragraphs.
MAX_UNPACKED_BYTES = 15 * 1024 * 1024
MAX_BLOCKS = 10_000
MAX_XML_PARAGRAPHS = 60_000  # all paragraphs, table cells' included: 10,000 blocks and large tables
_UNREADABLE = "无法读取该 Word 文件：请确认是 .docx 格式（旧的 .doc 请先在 Word 中另存为 .docx）。"


def _check_size(data: bytes) -> None:
    """InvalidInput unless the zip is readable and unpacks to a sane size."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as error:
        raise InvalidInput(_UNREADABLE) from error
    if unpacked > MAX_UNPACKED_BYTES:
        raise InvalidInput(f"该 Word 文件解压后超过 {MAX_UNPACKED_BYTES // 1024 // 1024} MB，不能导入。"
                           "请删去其中的图片或拆分为几个文件后再导入。")
    # Counted in the XML before python-docx builds a tree of it: paragraphs in table cells count too.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            body = archive.read("word/document.xml")
    except KeyError as error:
        raise InvalidInput(_UNREADABLE) from error
    paragraphs = body.count(b"<w:p>") + body.count(b"<w:p ")
    if paragraphs > MAX_XML_PARAGRAPHS:
        raise InvalidInput(f"该 Word 文件的段落和表格过多（共 {paragraphs} 个段落，含表格中的；上限 "
                           f"{MAX_XML_PARAGRAPHS} 个），不能导入；请拆分后再导入。")


def docx_to_markdown(data: bytes) -> str:
    """The document as Markdown: headings marked with #, paragraphs apart, tables as tables."""
    _check_size(data)
    try:
        document = Document(io.BytesIO(data))
    # lxml's XMLSyntaxError (a broken or oversized part) is a SyntaxError, not a ValueError.
    except (zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as error:
        if "memory" in str(error).lower():  # libxml2 under the worker's memory limit
            raise MemoryError(str(error)) from error
        raise InvalidInput(_UNREADABLE) from error
    blocks = len(document.element.body)  # paragraphs and tables (and the section settings)
    if blocks > MAX_BLOCKS + 1:
        raise InvalidInput(f"该 Word 文件超过 {MAX_BLOCKS} 个段落和表格，不能导入；请拆分后再导入。")
    parts: list[str] = []
    titled = False
    style_names: dict = {}
    tables, cells_left = 0, [MAX_TABLE_CELLS]
    for count, block in enumerate(_blocks(document), start=1):
        if count > MAX_BLOCKS:
            raise InvalidInput(f"该 Word 文件超过 {MAX_BLOCKS} 个段落和表格，不能导入；请拆分后再导入。")
        if isinstance(block, Table):
            tables += 1
            table = _table_markdown(block, tables, cells_left)
            if table:
                parts.append(table)
            continue
        text = " ".join(block.text.split())
        if not text:
            continue
        name = _style_name(block, style_names)
        style = name.strip().lower()
        level = _heading_level(name)
        if not titled and not parts and (style in _TITLE_STYLES or text.endswith(("报告", "说明"))):
            parts.append(f"# {text}")
            titled = True
        elif level is not None:
            prefix = "" if numbering_level(text) else _LEVEL_NUMBERS[level]
            parts.append(f"{'#' * (level + 1)} {prefix}{text}")
        elif block.runs and all(run.bold for run in block.runs if run.text.strip()) and numbering_level(text):
            parts.append(f"**{text}**")
        else:
            parts.append(text)
    if not parts:
        raise InvalidInput("Word 文件中没有文字内容。")
    return "\n\n".join(parts) + "\n"
