"""Markdown as an office writes it: one Enter is a new paragraph, tables typed with the input method's
full-width ｜ or without their |---| row are still tables.

Markdown joins single lines into one paragraph; a clerk who presses Enter once per paragraph (as in
Word and WPS) got one run-on paragraph, and lines typed as "1、…", "●…", "（1）…" ran together.
`prepare()` rewrites the text just before it is rendered (the stored text is what the user typed):

- every line of ordinary text is its own paragraph (a blank line is put between two such lines), so
  the page, the print, the PDF and the Word file all start a new, indented paragraph at each Enter;
- inside a list item or a quotation, where a paragraph break would end the item, a single line break
  is kept as a line break (Markdown's hard break: two spaces at the end of the line);
- lines starting with ｜ or | form a table: ｜ and full-width －：become | - :, and a missing
  |---| row is added after the first row (which becomes the header);
- full-width spaces typed at the start of a paragraph (Tab in the editor, or text from Word) are
  dropped: every paragraph is indented 2em by the page and the print already;
- fenced code (```) and indented continuation lines are left alone.

The same rules run for every output because every output renders through `render.render_markdown`.
"""

import re

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_BULLET = re.compile(r"^\s{0,3}[-*+](?:\s+|$)")
_NUMBERED = re.compile(r"^\s{0,3}\d{1,9}[.)](?:\s+|$)")
_QUOTE = re.compile(r"^\s{0,3}>")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s|$)")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_TABLE_START = re.compile(r"^\s{0,3}[|｜]")
_SEPARATOR_CELL = re.compile(r"^\s*:?-{1,}:?\s*$")
_FULL_WIDTH_TABLE = str.maketrans({"｜": "|", "－": "-", "—": "-", "：": ":"})
_ESCAPED_PIPE = "\x00"


def _table_cells(line: str) -> list[str]:
    """The cells of a table line (escaped \\| kept inside its cell)."""
    body = line.strip().replace("\\|", _ESCAPED_PIPE)
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [cell.replace(_ESCAPED_PIPE, "\\|") for cell in body.split("|")]


def _is_separator(line: str) -> bool:
    """Whether a (normalised) table line is the |---|---| row."""
    cells = _table_cells(line)
    return bool(cells) and all(_SEPARATOR_CELL.match(cell) for cell in cells)


def _normalise_table(rows: list[str]) -> list[str]:
    """A block of table lines with ASCII pipes and a |---| row after the first line."""
    out = []
    for row in rows:
        if "｜" in row:
            row = row.replace("｜", "|")
        out.append(row.strip())
    if len(out) == 1:
        return out  # one line is not enough to tell a table from text that starts with a bar
    if _is_separator(out[1].translate(_FULL_WIDTH_TABLE)):
        out[1] = out[1].translate(_FULL_WIDTH_TABLE)
    else:
        out.insert(1, "|" + "|".join(" --- " for _ in _table_cells(out[0])) + "|")
    return out


def _kind(line: str) -> str:
    """What a line is, as far as paragraph breaks are concerned."""
    if not line.strip():
        return "blank"
    if _INDENTED.match(line):
        return "indented"
    if _TABLE_START.match(line):
        return "table"
    if _BULLET.match(line):
        return "bullets"
    if _NUMBERED.match(line):
        return "numbers"
    if line[0] in " \t":
        return "continued"  # one to three spaces: Markdown carries it on in the item above
    if _QUOTE.match(line):
        return "quote"
    if _HEADING.match(line):
        return "heading"
    return "text"


def _needs_break(previous: str, current: str) -> bool:
    """Whether a blank line goes between two consecutive non-blank lines of these kinds."""
    if current == "indented":
        return False  # a list item's continuation, or text that a blank line would make code
    if current == "continued":
        return previous not in ("bullets", "numbers")
    # Items of one kind of list follow each other; another kind of list starts a new one.
    return not (current == previous and current in ("bullets", "numbers", "quote"))


def prepare(text: str) -> str:
    """The text as it is rendered: Enter is a new paragraph, office-typed tables are tables."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    previous = "blank"
    fence = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if fence is not None:
            out.append(line)
            if line.strip().startswith(fence):
                fence = None
                previous = "blank"
            i += 1
            continue
        opening = _FENCE.match(line)
        if opening:
            if previous != "blank":
                out.append("")
            out.append(line)
            fence = opening.group(1)
            i += 1
            continue
        kind = _kind(line)
        if kind == "table":
            block = []
            while i < len(lines) and _kind(lines[i]) == "table":
                block.append(lines[i])
                i += 1
            if previous != "blank":
                out.append("")
            out.extend(_normalise_table(block))
            previous = "table"
            continue
        if kind != "blank" and previous != "blank":
            if _needs_break(previous, kind):
                out.append("")
            elif kind in ("indented", "continued", "quote"):
                out[-1] = out[-1].rstrip() + "  "  # a line break inside the item or quotation
        if kind == "text":
            line = line.lstrip("\u3000")  # the page indents every paragraph already (2em)
        if kind not in ("indented", "continued") or previous == "blank":
            previous = kind
        out.append(line)
        i += 1
    return "\n".join(out)
