"""A corpus of hostile upload files, written here: each shape that once held a server thread for minutes
or answered 500, and more of the same kind. name → (file name, bytes, what the answer must say)."""

import io
import json
import zipfile

from docx import Document

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_with_body(body: str | bytes) -> bytes:
    """A valid Word file whose body starts with the given WordprocessingML."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    document = Document()
    document.add_paragraph("一、概况")
    buffer = io.BytesIO()
    document.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + body)
            archive.writestr(item.filename, data)
    return out.getvalue()


def _cell(text: str = "x", span: int | str | None = None, vmerge: str | None = None) -> str:
    """One table cell, optionally spanning grid columns or taking part in a vertical merge."""
    properties = ""
    if span is not None:
        properties += f'<w:gridSpan w:val="{span}"/>'
    if vmerge is not None:
        properties += '<w:vMerge/>' if vmerge == "continue" else f'<w:vMerge w:val="{vmerge}"/>'
    return f"<w:tc><w:tcPr>{properties}</w:tcPr><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"


def _table(rows: list[str], columns: int) -> str:
    """A table with a declared grid of `columns` and the given rows."""
    grid = "<w:tblGrid>" + '<w:gridCol w:w="500"/>' * columns + "</w:tblGrid>"
    return f"<w:tbl><w:tblPr/>{grid}" + "".join(f"<w:tr>{row}</w:tr>" for row in rows) + "</w:tbl>"


def _vmerge_chain(rows: int, columns: int) -> str:
    """A table whose rows below the first all continue a vertical merge, in every column."""
    first = _cell("头", vmerge="restart") * columns
    rest = _cell("", vmerge="continue") * columns
    return _table([first] + [rest] * (rows - 1), columns)


def _nested_tables(depth: int) -> str:
    """Tables nested inside table cells, `depth` deep."""
    inner = "<w:p><w:r><w:t>底</w:t></w:r></w:p>"
    for _ in range(depth):
        inner = f"<w:tbl><w:tblGrid><w:gridCol/></w:tblGrid><w:tr><w:tc>{inner}<w:p/></w:tc></w:tr></w:tbl>"
    return inner + "<w:p/>"


def _zip(entries: dict[str, bytes]) -> bytes:
    """A zip with the given members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _deep_json(depth: int) -> bytes:
    """A JSON report whose title is nested `depth` lists deep."""
    return ('{"title": ' + "[" * depth + "1" + "]" * depth + ', "sections": []}').encode()


def _json_report(**fields) -> bytes:
    """A JSON export with one section, fields overridden."""
    data = {"title": "报告", "preamble": "", "sections": [{"level": 1, "title": "概况", "markdown": "正文"}]}
    data.update(fields)
    return json.dumps(data).encode()


TOO_COMPLEX = "表格过于复杂"
UNREADABLE = "无法读取"

# name → (file name, content, a phrase the refusal says; None when the file is accepted after cleaning)
CORPUS = {
    "gridSpan of a million": ("span.docx", lambda: docx_with_body(_table([_cell(span=1_000_000)], 1)), TOO_COMPLEX),
    "gridSpan of ten million": ("span.docx", lambda: docx_with_body(_table([_cell(span=10_000_000)], 1)),
                                TOO_COMPLEX),
    "gridSpan of 5,000 digits": ("span.docx", lambda: docx_with_body(_table([_cell(span="9" * 5000)], 1)),
                                 TOO_COMPLEX),
    "gridSpan that does not match the grid": (
        "grid.docx", lambda: docx_with_body(_table([_cell(span=3) + _cell(), _cell() * 2], 2)), None),
    "vertical merge in the first row": (
        "merge.docx", lambda: docx_with_body(_table([_cell(vmerge="continue") * 3, _cell() * 3], 3)), None),
    "100×20 vertical merge chain": ("chain.docx", lambda: docx_with_body(_vmerge_chain(100, 20)), None),
    "900×20 vertical merge chain": ("chain.docx", lambda: docx_with_body(_vmerge_chain(900, 20)), None),
    "3,000-row table": ("rows.docx", lambda: docx_with_body(_table([_cell() * 2] * 3000, 2)), TOO_COMPLEX),
    "table 100 columns wide": ("wide.docx", lambda: docx_with_body(_table([_cell() * 100], 100)), TOO_COMPLEX),
    "tables nested 300 deep": ("nested.docx", lambda: docx_with_body(_nested_tables(300)), UNREADABLE),
    "20,000 headings": ("headings.docx", lambda: docx_with_body(
        "<w:p><w:r><w:t>一、标题</w:t></w:r></w:p>" * 20_000), "超过"),
    "truncated Word file": ("cut.docx", lambda: docx_with_body("")[:3000], UNREADABLE),
    "not a zip at all": ("fake.docx", lambda: b"PK\x03\x04 this is not really a zip" * 50, UNREADABLE),
    "encrypted Word file (OLE container)": (
        "secret.docx", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000, UNREADABLE),
    "zip without a document": ("empty.docx", lambda: _zip({"hello.txt": b"hi"}), UNREADABLE),
    "JSON nested 100,000 deep": ("deep.json", lambda: _deep_json(100_000), "嵌套层数过多"),
    "JSON nested 50 deep": ("deep.json", lambda: _deep_json(50), "嵌套层数过多"),
    "JSON level of 5,000 digits": (
        "level.json", lambda: b'{"title": "t", "sections": [{"level": ' + b"9" * 5000 + b', "title": "x"}]}',
        "无法解析"),
    "JSON with a lone surrogate in the title": ("surrogate.json", lambda: _json_report(title="甲\ud800乙"), None),
    "JSON with NUL and control characters": (
        "controls.json", lambda: _json_report(preamble="前\u0000言\u0001", sections=[
            {"level": 1, "title": "概\u000b况", "markdown": "正\u001b文\ufffe"}]), None),
    "Markdown with 5,000 headings": ("many.md", lambda: ("\n\n".join(
        f"# 一、第{n}部分" for n in range(5000))).encode(), "超过 1000 个"),
    "text with form feeds from a PDF": ("pdf.txt", lambda: "一、概况\n\n第一页\x0c第二页\r\n".encode(), None),
}
