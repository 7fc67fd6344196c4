"""Reading an uploaded .xlsx in a sandboxed worker: cheap structural checks first, then openpyxl (read-only).

A spreadsheet is a zip of XML: a 30 KB file can hold a gigabyte of cells or a shared-strings table of
millions of entries. So before openpyxl parses anything, `check_structure` reads the zip's directory
(declared sizes, which zipfile never exceeds when it decompresses) and the first bytes of the
shared-strings table; then the sheet's declared dimension is checked, and rows are counted as they are
read. Formulas: the value Excel or WPS saved with the formula (its cached result) is taken; a formula
without one (a file written by a program that does not compute) is refused, naming its cells — the
site computes no formulas. Everything runs in `parse_form_task` in a worker process (sandbox.py)
within time, CPU and memory limits; the server gets plain cells back: [row, column, text].
"""

import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse  # refuses entity definitions and DTDs (so does openpyxl with it)

from . import sandbox
from .errors import InvalidInput

MAX_XLSX_BYTES = 3 * 1024 * 1024  # the site's upload limit
MAX_UNCOMPRESSED = 40 * 1024 * 1024  # every member of the zip together, as declared
MAX_SHEET_XML = 16 * 1024 * 1024
MAX_SHARED_XML = 8 * 1024 * 1024
MAX_SHARED_STRINGS = 50_000
MAX_MEMBERS = 400
MAX_ROWS = 2_000  # a 自评表 has a few dozen rows; 200 indicators with room for notes
MAX_COLUMNS = 60
MAX_CELL_CHARS = 5_000
FORM_SHEET = "自评表"
XLSX_LIMITS = sandbox.Limits(seconds=15.0, cpu_seconds=15, memory_bytes=768 * 1024 * 1024)
NOT_XLSX = "文件不是 Excel 工作簿（.xlsx）。旧版 .xls 请在 Excel 或 WPS 中“另存为” .xlsx 后再导入。"
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_COUNT = re.compile(rb'(?:uniqueCount|count)="(\d+)"')


class XlsxRefused(InvalidInput):
    """The file is not a workbook this site reads; the message says why (shown to the user)."""

    user_message = True


def _mb(size: int) -> str:
    """Bytes as megabytes for a message."""
    return f"{size / 1024 / 1024:.0f} MB"


def check_structure(archive: zipfile.ZipFile) -> None:
    """Refuse zip bombs and oversized tables from the zip's directory, before any XML is parsed."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise XlsxRefused(f"文件中的部件过多（{len(members)} 个），不像是一个自评表，未导入。")
    total = sum(member.file_size for member in members)
    if total > MAX_UNCOMPRESSED:
        raise XlsxRefused(f"文件解压后过大（约 {_mb(total)}，上限 {_mb(MAX_UNCOMPRESSED)}），可能是异常文件，未导入。"
                          "自评表通常不到 1 MB；请删去无关的工作表、图片后再导入。")
    names = {member.filename: member for member in members}
    if "xl/workbook.xml" not in names:
        raise XlsxRefused("文件不是 Excel 工作簿（.xlsx）。请在 Excel 或 WPS 中“另存为” .xlsx 后再导入。")
    for name, member in names.items():
        if name.startswith("xl/worksheets/") and member.file_size > MAX_SHEET_XML:
            raise XlsxRefused(f"工作表过大（解压后约 {_mb(member.file_size)}），未导入。自评表通常只有几十行。")
    shared = names.get("xl/sharedStrings.xml")
    if shared is not None:
        if shared.file_size > MAX_SHARED_XML:
            raise XlsxRefused(f"文件中的文字表过大（约 {_mb(shared.file_size)}），未导入。")
        with archive.open(shared) as stream:
            head = stream.read(1024)
        counts = [int(value) for value in _COUNT.findall(head)]
        if counts and max(counts) > MAX_SHARED_STRINGS:
            raise XlsxRefused(f"文件中的不同文字多达 {max(counts):,} 条（上限 {MAX_SHARED_STRINGS:,}），未导入。")


def _text(value) -> str:
    """A cell's value as the text a person would type: 3294, 2162.14, 2025-03-14."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)[:MAX_CELL_CHARS + 1].strip()


def _column_letter(number: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _uncached_formulas(archive: zipfile.ZipFile, path: str) -> list[str]:
    """The cells of a sheet that hold a formula without a saved result."""
    found = []
    with archive.open(path) as stream:
        for _, element in iterparse(stream, events=("end",)):
            if element.tag == _NS + "c":
                formula, value = element.find(_NS + "f"), element.find(_NS + "v")
                if formula is not None and (value is None or value.text in (None, "")):
                    found.append(element.get("r", "?"))
                element.clear()
            elif element.tag == _NS + "row":
                element.clear()
    return found


def _sheet(workbook):
    """The sheet named 自评表, else the first one."""
    return workbook[FORM_SHEET] if FORM_SHEET in workbook.sheetnames else workbook.worksheets[0]


def read_cells(data: bytes) -> dict:
    """The chosen sheet's non-empty cells as {"sheet", "cells": [[row, column, text], …]}; XlsxRefused if not."""
    try:
        return _read_cells(data)
    except DefusedXmlException:
        raise XlsxRefused("文件中含有 XML 实体或文档类型定义（Excel 和 WPS 保存的文件从不含有），可能是恶意构造的文件，"
                          "未导入。") from None


def _read_cells(data: bytes) -> dict:
    """read_cells without the guard around it."""
    from openpyxl import load_workbook

    if len(data) > MAX_XLSX_BYTES:
        raise XlsxRefused(f"文件过大（上限 {_mb(MAX_XLSX_BYTES)}），未导入。")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise XlsxRefused(NOT_XLSX) from None
    check_structure(archive)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as error:
        cause = error
        while cause is not None:  # openpyxl wraps what the XML parser refused in a ValueError of its own
            if isinstance(cause, DefusedXmlException):
                raise cause from None
            cause = cause.__cause__ or cause.__context__
        raise XlsxRefused(f"无法读取该工作簿（{type(error).__name__}）。"
                          "请用 Excel 或 WPS 打开后另存一份再导入。") from None
    sheet = _sheet(workbook)
    declared_rows, declared_columns = sheet.max_row, sheet.max_column
    if (declared_rows or 0) > MAX_ROWS or (declared_columns or 0) > 16384:
        raise XlsxRefused(f"工作表“{sheet.title}”有 {declared_rows:,} 行，超过上限 {MAX_ROWS:,} 行，未导入。"
                          "请只保留自评表本身再导入。")
    uncached = _uncached_formulas(archive, sheet._worksheet_path)  # noqa: SLF001 (openpyxl keeps the path there)
    if uncached:
        shown = "、".join(uncached[:5]) + ("等" if len(uncached) > 5 else "")
        raise XlsxRefused(f"工作表中有 {len(uncached)} 个公式没有计算结果（{shown}）。本系统不计算公式："
                          "请在 Excel 或 WPS 中打开并保存该文件（公式会算出结果）后再导入，或把公式改为数值。")
    # A dimension may understate the sheet, and openpyxl would then stop reading at it: read every row
    # and count them instead.
    sheet.reset_dimensions()
    cells = []
    for row_number, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
        if row_number > MAX_ROWS:
            raise XlsxRefused(f"工作表“{sheet.title}”超过 {MAX_ROWS:,} 行，未导入。请只保留自评表本身再导入。")
        for column, value in enumerate(values, start=1):
            text = _text(value)
            if len(text) > MAX_CELL_CHARS:
                raise XlsxRefused(f"单元格 {_column_letter(column)}{row_number} 的文字过长"
                                  f"（超过 {MAX_CELL_CHARS} 字），未导入。")
            if text:
                cells.append([row_number, column, text])
    workbook.close()
    return {"sheet": sheet.title, "cells": cells}


def parse_form_task(payload: bytes) -> bytes:
    """Worker side of read_bounded: the workbook's bytes in, its cells as JSON out."""
    return json.dumps(read_cells(payload), ensure_ascii=False).encode("utf-8")


@dataclass
class Grid:
    """A sheet's non-empty cells by (row, column), as text."""

    sheet: str
    cells: dict[tuple[int, int], str]

    def get(self, row: int, column: int) -> str:
        """The text of a cell ("" when empty)."""
        return self.cells.get((row, column), "")

    @property
    def rows(self) -> list[int]:
        """The numbers of the rows with any text, in order."""
        return sorted({row for row, _ in self.cells})

    def row(self, number: int) -> list[tuple[int, str]]:
        """A row's (column, text) pairs, left to right."""
        return sorted((column, text) for (row, column), text in self.cells.items() if row == number)


_OVERRUN = {
    "time": "读取该表格超过 {seconds:.0f} 秒，已停止，未导入任何内容。"
            "请只保留自评表本身（删去无关的工作表和大量空行）后再导入。",
    "memory": "读取该表格所需的内存超过限制，已停止，未导入任何内容。请只保留自评表本身后再导入。",
    "depth": "表格文件的结构嵌套过深，无法读取，未导入任何内容。",
    "crash": "无法读取该表格文件，未导入任何内容。请用 Excel 或 WPS 打开后另存一份 .xlsx 再导入。",
}


def read_bounded(data: bytes, limits: sandbox.Limits = XLSX_LIMITS) -> Grid:
    """Read an uploaded workbook in a sandboxed worker; InvalidInput when it is refused or overruns a limit."""
    if len(data) > MAX_XLSX_BYTES:
        raise InvalidInput(f"文件过大（上限 {_mb(MAX_XLSX_BYTES)}），未导入。")
    if not data.startswith(b"PK"):
        raise InvalidInput(NOT_XLSX)
    try:
        answer = sandbox.run_once("xlsx", data, limits)
    except sandbox.Refused as refusal:
        raise InvalidInput(str(refusal)) from None
    except sandbox.Overrun as overrun:
        raise InvalidInput(_OVERRUN[overrun.cause].format(seconds=limits.seconds)) from None
    result = json.loads(answer)
    return Grid(result["sheet"], {(row, column): text for row, column, text in result["cells"]})
