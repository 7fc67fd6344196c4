"""Finding a 自评表 in a sheet's cells by header names (the cells come from xlsx_import, read in a worker).

The file this site exports reads back exactly; a bureau's template is read by its headers (一级指标, 二级指标,
三级指标, 指标性质/性质, 年度指标值, 实际完成值, 分值, 偏差原因…; 资金来源, 年初预算数, 全年预算数, 全年执行数),
with merged cells (a blank 一级/二级指标 repeats the one above), blank rows and extra columns tolerated.
Where the file has no 方向 or 计量单位 column they are read from the 年度指标值 (≥3000人 → ≥, 人), and
性质 from whether it is a number. Values are returned as found, each with its cell; checking them is
form_import's job, by the editor's rules.
"""

import re
from dataclasses import dataclass, field

from .quantities import QuantityError, parse_quantity
from .scoring import RATINGS
from .xlsx_import import Grid

INDICATOR_COLUMNS = {
    "level1": ("一级指标",), "level2": ("二级指标",), "name": ("三级指标", "指标名称", "三级指标名称"),
    "kind": ("指标性质", "性质"), "direction": ("方向", "指标方向"), "unit": ("计量单位", "单位"),
    "target": ("年度指标值", "指标值", "年度目标值", "目标值"), "actual": ("实际完成值", "实际值", "完成值"),
    "rating": ("评价结果",), "weight": ("分值", "权重"), "override_score": ("调整后得分",),
    "override_reason": ("调整理由",), "reason": ("偏差原因", "偏差原因及改进措施", "偏差原因分析及改进措施"),
}
BUDGET_COLUMNS = {"source": ("资金来源",), "initial": ("年初预算数", "年初预算"),
                  "adjusted": ("全年预算数", "全年预算", "调整后预算数"),
                  "executed": ("全年执行数", "执行数", "全年执行"),
                  "weight": ("分值", "权重")}
HEADER_LABELS = {"contact_name": ("联系人",), "contact_phone": ("联系电话", "电话"), "filled_on": ("填报日期",)}
GOAL_LABELS = {"target": ("年度整体绩效目标", "年度总体目标", "总体目标", "年度绩效目标"),
               "actual": ("实际完成情况", "总体目标完成情况"), "unmet_reason": ("未完成原因", "未完成原因分析")}
ENDS = ("合计", "总计", "总分", "自评得分", "注", "说明", "填表说明", "备注")
_SECTION = re.compile(r"^[一二三四五六七八九十]+、")
_PARENS = re.compile(r"[（(][^）)]*[）)]")
_DIRECTION = re.compile(r"^\s*(≥|>=|＞=|不低于|不少于|≤|<=|＜=|不高于|不超过|=|＝)\s*")
_DIRECTION_WORDS = {"≥": ">=", ">=": ">=", "＞=": ">=", "不低于": ">=", "不少于": ">=", "≤": "<=", "<=": "<=",
                    "＜=": "<=", "不高于": "<=", "不超过": "<=", "=": "=", "＝": "="}
_TITLE_YEAR = re.compile(r"^\s*((?:19|20)\d{2})\s*年度")
_NUMBER_HEAD = re.compile(r"^[-+]?[0-9０-９,，.。]+")


def _label(text: str) -> str:
    """A header as compared: no spaces, line breaks, asterisks or parenthesised notes (（万元）)."""
    return _PARENS.sub("", re.sub(r"[\s*＊:：]", "", text))


def _match(text: str, names: dict[str, tuple[str, ...]]) -> str | None:
    """Which field a header names (偏差原因… by its start)."""
    label = _label(text)
    for name, aliases in names.items():
        if label in aliases or (name == "reason" and label.startswith("偏差原因")):
            return name
    return None


def _columns(grid: Grid, row: int, names: dict, must: str, least: int) -> tuple[dict[str, int], int] | None:
    """(field → column, first header row) if the row (with the row above, for two-row headers) is a header
    row of the table."""
    found: dict[str, int] = {}
    top = row
    for number in (row, row - 1):
        for column, text in grid.row(number):
            name = _match(text, names)
            if name and name not in found and column not in found.values():
                found[name] = column
                top = number
        if number == row and must not in found:
            return None
    return (found, top) if len(found) >= least else None


def ref(row: int, column: int) -> str:
    """A cell's name: C12."""
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


@dataclass
class Found:
    """What was found in the sheet: each value with its cell."""

    header: dict[str, tuple[str, str]] = field(default_factory=dict)
    goals: dict[str, tuple[str, str]] = field(default_factory=dict)
    budget_weight: tuple[str, str] | None = None
    lines: list[dict[str, tuple[str, str]]] | None = None
    indicators: list[dict[str, tuple[str, str]]] | None = None
    year: tuple[str, str] | None = None
    unit: tuple[str, str] | None = None


def _is_end(texts: list[str]) -> bool:
    """A row that closes a table: a section heading, a 合计 or notes row."""
    first = _label(texts[0]) if texts else ""
    return bool(_SECTION.match(texts[0] if texts else "")) or first.startswith(ENDS)


def _read_table(grid: Grid, start: int, columns: dict[str, int], key: str, stop_rows: set[int]) -> tuple[list, int]:
    """The table's rows below its header row until a closing row; (rows of field → (text, cell), 合计 row)."""
    rows, total_row = [], 0
    for number in [r for r in grid.rows if r > start]:
        if number in stop_rows:
            break
        texts = [text for _, text in grid.row(number)]
        mapped = {name: (grid.get(number, column), ref(number, column)) for name, column in columns.items()}
        lead = _label(mapped.get(key, ("", ""))[0] or (texts[0] if texts else ""))
        if lead.startswith(("合计", "小计", "总计")):
            total_row = total_row or number
            if key == "source":
                continue  # a budget table may put 合计 first (合计 / 财政拨款 / 其他资金)
            break
        if _is_end(texts):
            break
        if not any(text for text, _ in mapped.values()):
            continue  # a blank row, or notes in an extra column
        rows.append(mapped)
    return rows, total_row


def _beside(grid: Grid, row: int, column: int) -> tuple[str, str] | None:
    """The value next to a label: the next text to its right in the row, else the cell below."""
    for other, text in grid.row(row):
        if other > column:
            return text, ref(row, other)
    below = grid.get(row + 1, column)
    return (below, ref(row + 1, column)) if below and not _match(below, GOAL_LABELS) else None


def find_form(grid: Grid) -> Found:
    """Locate the tables and labelled values of a 自评表 sheet."""
    found = Found()
    indicator_head = budget_head = None
    heads: set[int] = set()  # the rows of both tables' headers: where the other table's rows end
    for number in grid.rows:
        if indicator_head is None:
            found_columns = _columns(grid, number, INDICATOR_COLUMNS, "name", 4)
            if found_columns and ("target" in found_columns[0] or "actual" in found_columns[0]):
                indicator_head = (number, found_columns[0])
                heads.update(range(found_columns[1], number + 1))
                continue
        if budget_head is None:
            found_columns = _columns(grid, number, BUDGET_COLUMNS, "source", 3)
            if found_columns:
                budget_head = (number, found_columns[0])
                heads.update(range(found_columns[1], number + 1))
    if budget_head:
        number, columns = budget_head
        found.lines, total_row = _read_table(grid, number, columns, "source", heads)
        if total_row and "weight" in columns and grid.get(total_row, columns["weight"]):
            found.budget_weight = (grid.get(total_row, columns["weight"]), ref(total_row, columns["weight"]))
        for line in found.lines:
            line.pop("weight", None)
    if indicator_head:
        number, columns = indicator_head
        found.indicators, _ = _read_table(grid, number, columns, "name", heads)
        _fill_down(found.indicators)
    for (number, column), text in grid.cells.items():
        label = _label(text)
        for labels, target in ((HEADER_LABELS, found.header), (GOAL_LABELS, found.goals)):
            for name, aliases in labels.items():
                if label in aliases and name not in target and (value := _beside(grid, number, column)):
                    target[name] = value
        if label in ("年度", "报告年度") and found.year is None:
            found.year = _beside(grid, number, column)
        if label == "单位名称" and found.unit is None:
            found.unit = _beside(grid, number, column)
    if found.year is None:  # a title such as 2024年度部门整体支出绩效自评表
        for (number, column), text in sorted(grid.cells.items()):
            if number <= 3 and (title := _TITLE_YEAR.match(text)):
                found.year = (title.group(1), ref(number, column))
                break
    return found


def _fill_down(rows: list[dict]) -> None:
    """Merged 一级/二级指标 cells hold their text in the first row only: repeat it below."""
    last = {"level1": "", "level2": ""}
    for row in rows:
        for name in ("level1", "level2"):
            text, cell = row.get(name, ("", ""))
            if text:
                last[name] = text
                if name == "level1":
                    last["level2"] = row.get("level2", ("", ""))[0] or last["level2"]
            elif last[name]:
                row[name] = (last[name], cell)


def guess_indicator(fields: dict[str, str]) -> None:
    """Direction, unit and kind from the 年度指标值 when the sheet has no column for them (a bureau template)."""
    target = fields.get("target", "")
    if "direction" not in fields:
        match = _DIRECTION.match(target)
        fields["direction"] = _DIRECTION_WORDS[match.group(1)] if match else ">="
        target = target[match.end():] if match else target
        fields["target"] = target
        actual = _DIRECTION.sub("", fields.get("actual", ""))
        fields["actual"] = actual
    number = _NUMBER_HEAD.match(target.strip())
    if "unit" not in fields:
        fields["unit"] = target.strip()[number.end():].strip() if number else ""
    if "kind" not in fields:
        try:
            parse_quantity(target, fields["unit"], "年度指标值")
            fields["kind"] = "quantitative"
        except QuantityError:
            fields["kind"] = "qualitative"
    if fields["kind"] in ("qualitative", "定性") and not fields.get("rating"):
        actual = fields.get("actual", "").strip()
        if actual in RATINGS:
            fields["rating"], fields["actual"] = actual, ""
