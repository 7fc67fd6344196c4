"""The 自评表 as tables for print, PDF, Word, share pages and editions, from its JSON (DESIGN §8).

form_tables() gives plain rows (what Word needs); form_html() renders the same rows as escaped HTML,
so every output carries the same figures.
"""

import html
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .scoring import DIRECTIONS, KINDS, BudgetLine, line_rate, percent, score_budget


@dataclass
class FormTable:
    """One table of the form: a caption, one header row and body rows of plain text."""

    kind: str  # header | budget | goals | indicators | total (CSS class form-<kind>)
    title: str
    header: list[str]
    rows: list[list[str]]
    wide: bool = False  # many columns: print landscape
    merge_columns: tuple[int, ...] = ()  # equal consecutive cells here may be merged vertically
    numeric_columns: tuple[int, ...] = ()  # right-aligned figures
    emphasis_rows: tuple[int, ...] = field(default_factory=tuple)  # e.g. the 合计 row


def _decimal(value) -> Decimal | None:
    """A JSON number string as a Decimal, None when blank or malformed."""
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _money(value: Decimal | None) -> str:
    """Two decimals, or empty."""
    return "" if value is None else format(value.quantize(Decimal("0.01")), "f")


def _budget_table(form: dict, score: dict) -> FormTable:
    """预算资金执行情况: 合计 first, then each fund source."""
    budget = form.get("budget") or {}
    lines = [BudgetLine(str(line.get("source", "")), _decimal(line.get("initial")), _decimal(line.get("adjusted")),
                        _decimal(line.get("executed"))) for line in budget.get("lines") or []]
    weight = _decimal(budget.get("weight")) or Decimal(0)
    total = score_budget(lines, weight)
    rows = [["合计", _money(total.initial), _money(total.adjusted), _money(total.executed),
             format(weight, "f"), percent(total.rate), str(score.get("budget", ""))]]
    for line in lines:
        rate = line_rate(line.adjusted, line.executed)
        rows.append([line.source, _money(line.initial), _money(line.adjusted), _money(line.executed), "",
                     percent(rate) if rate is not None else "", ""])
    return FormTable("budget", "预算资金执行情况（万元）",
                     ["资金来源", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"], rows,
                     numeric_columns=(1, 2, 3, 4, 5, 6), emphasis_rows=(0,))


def _target(indicator: dict) -> str:
    """年度指标值 as printed: ≥3000人, or the words of a 定性 indicator."""
    target = indicator.get("target") or ""
    if indicator.get("kind") == "qualitative" or not target:
        return target
    return f"{DIRECTIONS.get(indicator.get('direction'), '')}{target}{indicator.get('unit') or ''}"


def _actual(indicator: dict) -> str:
    """实际完成值 as printed: 3294人, or words with the rating of a 定性 indicator."""
    actual = indicator.get("actual") or ""
    if indicator.get("kind") == "qualitative":
        rating = indicator.get("rating")
        return f"{actual}（{rating}）" if rating and actual else (rating or actual)
    return f"{actual}{indicator.get('unit') or ''}" if actual else ""


def _indicator_rows(form: dict) -> list[list[str]]:
    """One row per indicator; an override shows in the score and its reason beside the deviation note."""
    rows = []
    for indicator in form.get("indicators") or []:
        override = indicator.get("override")
        score, reason = str(indicator.get("score", "")), indicator.get("reason") or ""
        if override:
            score += "（调整）"
            reason = "\n".join(part for part in (reason, f"得分调整理由：{override.get('reason', '')}") if part)
        rows.append([indicator.get("level1", ""), indicator.get("level2", ""), indicator.get("name", ""),
                     KINDS.get(indicator.get("kind"), ""), _target(indicator), _actual(indicator),
                     str(indicator.get("weight", "")), score, reason])
    return rows


def form_tables(form: dict | None, score: dict | None, unit: str = "", year: int | None = None) -> list[FormTable]:
    """The form as plain tables: 基本情况, 预算资金, 年度总体目标, 绩效指标, 自评得分 (empty list without a form)."""
    if not form:
        return []
    score = score or {}
    contact, goals = form.get("contact") or {}, form.get("goals") or {}
    return [
        FormTable("header", "基本情况", ["单位名称", "年度", "联系人", "联系电话", "填报日期"],
                  [[unit, f"{year}年度" if year else "", contact.get("name", ""), contact.get("phone", ""),
                    contact.get("date", "")]]),
        _budget_table(form, score),
        FormTable("goals", "年度总体目标完成情况", ["年度整体绩效目标", "实际完成情况", "未完成原因"],
                  [[goals.get("target", ""), goals.get("actual", ""), goals.get("unmet_reason", "")]]),
        FormTable("indicators", "绩效指标完成情况",
                  ["一级指标", "二级指标", "三级指标", "性质", "年度指标值", "实际完成值", "分值", "得分",
                   "偏差原因分析及改进措施"], _indicator_rows(form), wide=True, merge_columns=(0, 1),
                  numeric_columns=(6, 7)),
        FormTable("total", "自评得分", ["预算执行得分", "绩效指标得分", "总分", "自评等级"],
                  [[str(score.get("budget", "")), str(score.get("indicators", "")), str(score.get("total", "")),
                    str(score.get("grade", ""))]], numeric_columns=(0, 1, 2)),
    ]


def row_spans(table: FormTable) -> list[list[int]]:
    """Per cell: 1 normally, n > 1 for the first of n merged cells, 0 for a cell merged into the one above."""
    spans = [[1] * len(row) for row in table.rows]
    for column in table.merge_columns:
        start = 0
        for index in range(1, len(table.rows) + 1):
            # A run continues while this column and every column left of it repeat the run's first row.
            same = index < len(table.rows) and all(
                table.rows[index][c] == table.rows[start][c] for c in range(column + 1))
            if not same:
                if index - start > 1:
                    spans[start][column] = index - start
                    for merged in range(start + 1, index):
                        spans[merged][column] = 0
                start = index
    return spans


def _cell(tag: str, text: str, classes: list[str], span: int = 1) -> str:
    """One escaped cell; line breaks kept."""
    attrs = f' class="{" ".join(classes)}"' if classes else ""
    if span > 1:
        attrs += f' rowspan="{span}"'
    return f"<{tag}{attrs}>{html.escape(text).replace(chr(10), '<br>')}</{tag}>"


# A run of merged cells taller than this many printed lines is split into chunks that each carry their own label:
# a chunk keeps together on one page (print.css), so a continuation page never shows a blank merged cell (#19).
# About a third of a landscape page, so keeping a chunk whole never leaves much of a page empty.
CHUNK_LINES = 8
# Roughly how many characters of each column fit on one printed line (10.5 pt on the landscape page).
_LINE_CHARS = {2: 12, 4: 8, 5: 8, 8: 18}


def _printed_lines(row: list[str]) -> int:
    """About how many lines a row takes when printed: its tallest cell."""
    return max(sum(-(-len(part) // _LINE_CHARS.get(column, 6)) or 1 for part in text.split("\n"))
               for column, text in enumerate(row))


def _chunks(table: FormTable) -> list[list[int]]:
    """Row indexes in groups that print together: each run of the first merge column, cut at a change of the
    second where a chunk would pass CHUNK_LINES, and a run of the second longer than that cut by lines."""
    if not table.merge_columns:
        return [list(range(len(table.rows)))] if table.rows else []
    columns = table.merge_columns[:2]
    runs: list[list[int]] = []  # rows with the same labels in the merge columns
    for index, row in enumerate(table.rows):
        if runs and all(table.rows[runs[-1][0]][c] == row[c] for c in columns):
            runs[-1].append(index)
        else:
            runs.append([index])
    chunks: list[list[int]] = []
    lines = 0
    for run in runs:
        same_first = chunks and table.rows[chunks[-1][0]][columns[0]] == table.rows[run[0]][columns[0]]
        run_lines = sum(_printed_lines(table.rows[i]) for i in run)
        if not (same_first and lines + run_lines <= CHUNK_LINES):
            chunks.append([])
            lines = 0
        for index in run:
            height = _printed_lines(table.rows[index])
            if chunks[-1] and lines + height > CHUNK_LINES and lines + run_lines > CHUNK_LINES:
                chunks.append([])
                lines = 0
            chunks[-1].append(index)
            lines += height
    return chunks


def table_html(table: FormTable) -> str:
    """One table as escaped HTML with the print classes (table.form-table.form-<kind>); a table with merged
    cells has one tbody per chunk of rows that prints together (merge-group), each with its own labels."""
    classes = f"form-table form-{table.kind}" + (" wide" if table.wide else "")
    head = "".join(_cell("th", text, []) for text in table.header)
    bodies = []
    for chunk in _chunks(table):
        part = FormTable(table.kind, table.title, table.header, [table.rows[i] for i in chunk],
                         merge_columns=table.merge_columns)
        spans = row_spans(part)
        body = []
        for offset, index in enumerate(chunk):
            cells = []
            for column, text in enumerate(table.rows[index]):
                if spans[offset][column] == 0:
                    continue
                cell_classes = ["num"] if column in table.numeric_columns else []
                cells.append(_cell("td", text, cell_classes, spans[offset][column]))
            row_class = ' class="total-row"' if index in table.emphasis_rows else ""
            body.append(f"<tr{row_class}>{''.join(cells)}</tr>")
        group = ' class="merge-group"' if table.merge_columns else ""
        bodies.append(f"<tbody{group}>{''.join(body)}</tbody>")
    return (f'<table class="{classes}"><caption>{html.escape(table.title)}</caption>'
            f"<thead><tr>{head}</tr></thead>{''.join(bodies) or '<tbody></tbody>'}</table>")


def form_html(form: dict | None, score: dict | None, unit: str = "", year: int | None = None) -> str:
    """The whole 自评表 as one HTML fragment (empty string without a form)."""
    tables = form_tables(form, score, unit, year)
    if not tables:
        return ""
    title = f"{year}年度部门整体支出绩效自评表" if year else "部门整体支出绩效自评表"
    parts = [f'<section class="form-doc"><h2 class="form-doc-title">{html.escape(title)}</h2>']
    parts += [table_html(table) for table in tables]
    parts.append("</section>")
    return "\n".join(parts)
