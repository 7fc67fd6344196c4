"""Reading a Word (.docx) report as Markdown text the outline parser understands."""

import io
import re
import zipfile

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from .outline import numbering_level
from .reports import InvalidInput

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


def _table_markdown(table: Table) -> str:
    """A Word table as a Markdown table (first row as header; merged cells repeat their text)."""
    rows = [[_cell_text(cell.text) for cell in row.cells] for row in table.rows]
    rows = [r for r in rows if any(r)]
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


def docx_to_markdown(data: bytes) -> str:
    """The document as Markdown: headings marked with #, paragraphs apart, tables as tables."""
    _check_size(data)
    try:
        document = Document(io.BytesIO(data))
    # lxml's XMLSyntaxError (a broken or oversized part) is a SyntaxError, not a ValueError.
    except (zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as error:
        raise InvalidInput(_UNREADABLE) from error
    parts: list[str] = []
    titled = False
    style_names: dict = {}
    for count, block in enumerate(_blocks(document), start=1):
        if count > MAX_BLOCKS:
            raise InvalidInput(f"该 Word 文件超过 {MAX_BLOCKS} 个段落和表格，不能导入；请拆分后再导入。")
        if isinstance(block, Table):
            table = _table_markdown(block)
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
