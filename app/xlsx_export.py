"""Workbooks out (openpyxl): the year summary (two sheets) and one report's 自评表 laid out like the printed table.

Numbers are written as numbers (amounts, scores and rates with two decimals shown), headers in Chinese,
the header row frozen, columns as wide as their longest text. The 自评表 sheet is also what
xlsx_import reads back: every value the form holds has its own cell, so a round trip is lossless.
"""

import io
import re
from collections.abc import Iterable
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .clock import local
from .form_model import Form, kind_label
from .scoring import DIRECTIONS, FormScore, line_rate

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TWO = "0.00"
PERCENT = "0.00%"
BOLD = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="DDE3EA")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center")
MAX_WIDTH = 60

SUMMARY_HEADERS = ("单位", "状态", "最后修改", "总分", "等级", "预算执行率", "预算执行得分", "绩效指标得分",
                   "错误数", "提示数", "报告编号", "报告标题")
INDICATOR_HEADERS = ("单位", "状态", "一级指标", "二级指标", "三级指标", "性质", "方向", "计量单位", "年度指标值",
                     "实际完成值", "评价结果", "分值", "得分")
BUDGET_HEADERS = ("资金来源", "年初预算数", "全年预算数", "全年执行数", "执行率", "分值", "得分")
FORM_INDICATOR_HEADERS = ("一级指标", "二级指标", "三级指标", "性质", "方向", "计量单位", "年度指标值", "实际完成值",
                          "评价结果", "分值", "得分", "调整后得分", "调整理由", "偏差原因及改进措施")


_WIDE = re.compile("[^\x00-\u2e7f]")  # CJK and full-width forms take two character widths


def _width(value) -> int:
    """How many character widths a value takes (a Chinese character counts two)."""
    text = value if isinstance(value, str) else (f"{value:.2f}" if isinstance(value, float) else str(value))
    if "\n" in text:
        text = max(text.split("\n"), key=len)
    # Counted by the regex engine: a district's workbook measures some 170,000 cells.
    return len(text) if text.isascii() else len(text) + len(_WIDE.findall(text))


def _fit(sheet, widths: dict[int, int]) -> None:
    """Set each column's width from its longest value, within reason."""
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 6), MAX_WIDTH)


def _number(value: Decimal | str | None):
    """A Decimal (or Decimal text) as a number for the cell; None stays empty."""
    if value in (None, ""):
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else float(value)


def _table(sheet, start: int, headers: Iterable[str], rows: Iterable[list], formats: dict[int, str],
           widths: dict[int, int]) -> int:
    """Write a header row and rows from `start` with borders and number formats; the next free row."""
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(start, column, header)
        cell.font, cell.fill, cell.border, cell.alignment = BOLD, HEAD_FILL, BOX, WRAP
        widths[column] = max(widths.get(column, 0), _width(header))
    row_number = start
    for row_number, values in enumerate(rows, start=start + 1):  # noqa: B007 (the last number is returned)
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row_number, column, value)
            cell.border = BOX
            if column in formats and isinstance(value, int | float):
                cell.number_format = formats[column]
            if value is not None:
                widths[column] = max(widths.get(column, 0), _width(value))
    return row_number + 1


def _save(workbook: Workbook) -> bytes:
    """The workbook as bytes."""
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _stream(workbook: Workbook, title: str, headers: tuple[str, ...], lines: list[list], formats: dict[int, str],
            freeze: str) -> None:
    """A sheet of a write-only workbook: widths from the lines, then the header row and the lines."""
    sheet = workbook.create_sheet(title)
    widths = {column: _width(header) for column, header in enumerate(headers, start=1)}
    for line in lines:
        for column, value in enumerate(line, start=1):
            if value is not None:
                widths[column] = max(widths[column], _width(value))
    _fit(sheet, widths)  # before any row: a streamed sheet writes its columns first
    sheet.freeze_panes = freeze
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(lines) + 1}"
    head = []
    for header in headers:
        cell = WriteOnlyCell(sheet, header)
        cell.font, cell.fill = BOLD, HEAD_FILL
        head.append(cell)
    sheet.append(head)
    for line in lines:
        out = []
        for column, value in enumerate(line, start=1):
            if column in formats and isinstance(value, int | float):
                cell = WriteOnlyCell(sheet, value)
                cell.number_format = formats[column]
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)


def summary_workbook(rows: list, indicators: dict[int, list], year: int, zone: str = "Asia/Shanghai") -> bytes:
    """Sheet 1 汇总: one row per unit; sheet 2 指标明细: every indicator of every unit with a report.

    `indicators`: report id → its (indicator, score) pairs (summary.indicator_scores)."""
    # Streamed (write-only): a district's thousand units and fifteen thousand indicators in a few seconds.
    workbook = Workbook(write_only=True)
    lines = [[row.unit_name, row.status_label, local(row.updated_at, zone) if row.updated_at else "",
              _number(row.total), row.grade or "", float(row.rate) if row.rate is not None else None,
              _number(row.budget_score), _number(row.indicator_score),
              row.errors if row.report_id else None, row.warnings if row.report_id else None,
              row.report_id, row.title] for row in rows]
    _stream(workbook, "汇总", SUMMARY_HEADERS, lines, {4: TWO, 6: PERCENT, 7: TWO, 8: TWO}, "B2")
    _stream(workbook, "指标明细", INDICATOR_HEADERS, list(_indicator_lines(rows, indicators)), {12: TWO, 13: TWO},
            "A2")
    workbook.properties.title = f"{year}年度部门整体支出绩效自评汇总"
    return _save(workbook)


def _indicator_lines(rows: list, indicators: dict[int, list]):
    """Sheet 2's lines: unit, its state, then the indicator's levels, values, weight and score."""
    for row in rows:
        for indicator, score in indicators.get(row.report_id, ()) if row.report_id else ():
            quantitative = indicator.kind == "quantitative"
            yield [row.unit_name, row.status_label, indicator.level1, indicator.level2, indicator.name,
                   kind_label(indicator), DIRECTIONS.get(indicator.direction, "") if quantitative else "",
                   indicator.unit, _number(indicator.target) if quantitative else indicator.target,
                   _number(indicator.actual) if quantitative else indicator.actual, indicator.rating or "",
                   _number(indicator.weight), _number(score)]


def form_workbook(form: Form, score: FormScore, unit: str, year: int, title: str = "") -> bytes:
    """One report's 自评表 on one sheet, in the printed table's order, with the scores the site computed."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "自评表"
    widths: dict[int, int] = {}
    last_column = get_column_letter(len(FORM_INDICATOR_HEADERS))
    sheet["A1"] = title or f"{year}年度部门整体支出绩效自评表"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.merge_cells(f"A1:{last_column}1")
    header = form.header
    pairs = [("单位名称", unit, "年度", year), ("联系人", header.contact_name, "联系电话", header.contact_phone),
             ("填报日期", header.filled_on, None, None)]
    for row_number, (label, value, label2, value2) in enumerate(pairs, start=2):
        sheet.cell(row_number, 1, label).font = BOLD
        sheet.cell(row_number, 2, value)
        if label2:
            sheet.cell(row_number, 4, label2).font = BOLD
            sheet.cell(row_number, 5, value2)
    row = 6
    sheet.cell(row, 1, "一、预算资金执行情况（单位：万元）").font = BOLD
    budget = score.budget
    lines = [[line.source, _number(line.initial), _number(line.adjusted), _number(line.executed),
              _rate(line_rate(line.adjusted, line.executed)), None, None] for line in form.lines]
    lines.append(["合计", _number(budget.initial), _number(budget.adjusted), _number(budget.executed),
                  _rate(budget.rate), _number(form.budget_weight), _number(budget.score)])
    row = _table(sheet, row + 1, BUDGET_HEADERS, lines, {2: TWO, 3: TWO, 4: TWO, 5: PERCENT, 6: TWO, 7: TWO},
                 widths)
    row += 1
    sheet.cell(row, 1, "二、年度总体目标完成情况").font = BOLD
    goals = (("年度整体绩效目标", form.goals.target), ("实际完成情况", form.goals.actual),
             ("未完成原因", form.goals.unmet_reason))
    for offset, (label, text) in enumerate(goals, start=1):
        sheet.cell(row + offset, 1, label).font = BOLD
        cell = sheet.cell(row + offset, 2, text)
        cell.alignment = WRAP
        sheet.merge_cells(start_row=row + offset, start_column=2, end_row=row + offset,
                          end_column=len(FORM_INDICATOR_HEADERS))
    row += 5
    sheet.cell(row, 1, "三、绩效指标完成情况").font = BOLD
    header_row = row + 1
    indicator_rows = []
    for indicator, scored in zip(form.indicators, score.indicators, strict=True):
        quantitative = indicator.kind == "quantitative"
        indicator_rows.append([
            indicator.level1, indicator.level2, indicator.name, kind_label(indicator),
            DIRECTIONS.get(indicator.direction, "") if quantitative else "", indicator.unit,
            _number(indicator.target) if quantitative else indicator.target,
            _number(indicator.actual) if quantitative else indicator.actual, indicator.rating or "",
            _number(indicator.weight), _number(scored.score),
            _number(indicator.override_score) if indicator.override_score is not None else None,
            indicator.override_reason, indicator.reason])
    weights = sum((i.weight for i in form.indicators), Decimal(0))
    indicator_rows.append(["合计", None, None, None, None, None, None, None, None, _number(weights),
                           _number(score.indicator_total), None, None, None])
    row = _table(sheet, header_row, FORM_INDICATOR_HEADERS, indicator_rows, {10: TWO, 11: TWO, 12: TWO}, widths)
    _merge_levels(sheet, header_row + 1, len(form.indicators))
    row += 1
    sheet.cell(row, 1, "四、自评得分").font = BOLD
    _table(sheet, row + 1, ("预算执行得分", "绩效指标得分", "总分", "自评等级"),
           [[_number(budget.score), _number(score.indicator_total), _number(score.total), score.grade]],
           {1: TWO, 2: TWO, 3: TWO}, widths)
    widths[1] = max(widths.get(1, 0), 16)
    widths[2] = min(widths.get(2, 0), 40)  # the goals' long text wraps in its merged cell instead
    _fit(sheet, widths)
    sheet.freeze_panes = "A2"
    sheet.print_options.gridLines = False
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    workbook.properties.title = title or f"{year}年度部门整体支出绩效自评表"
    return _save(workbook)


def _rate(rate: Decimal | None):
    """An execution rate as a fraction for a percent-formatted cell."""
    return float(rate) if rate is not None else None


def _merge_levels(sheet, first: int, count: int) -> None:
    """Merge runs of the same 一级指标 (and, within them, 二级指标) down the rows, as the printed table does."""
    for column in (1, 2):
        start = first
        for row in range(first + 1, first + count + 1):
            same = row < first + count and all(
                sheet.cell(row, c).value == sheet.cell(start, c).value for c in range(1, column + 1))
            if not same:
                if row - start > 1:
                    sheet.merge_cells(start_row=start, start_column=column, end_row=row - 1, end_column=column)
                    sheet.cell(start, column).alignment = WRAP
                start = row


def report_workbook(db, report: dict) -> bytes:
    """A report's live 自评表 as a workbook (the scores as the report page shows them)."""
    from .form_store import load_form

    form = load_form(db, report["id"])
    return form_workbook(form, form.score(), report["unit_name"], report["year"])
