"""What a paste from Word, WPS, Excel or a web page becomes: Markdown that says the same thing.

The clipboard's HTML is parsed with lxml (libxml2's HTML parser, which reads Word's conditional
comments and `<o:p>` like a browser does) and walked once: paragraphs, bold and italic, lists
(including Word's list paragraphs, whose typed numbers and bullets sit in a `mso-list:Ignore` span),
tables (first row as header, merged cells repeating their text, line breaks kept as `<br>`, `|`
escaped) and headings as bold lines. Everything else — styles, classes, fonts, colours, scripts,
comments, pictures — is dropped; pictures are counted so the editor can say they were not pasted.
Tab-separated text (an Excel range copied as text) becomes a table too.

One Enter is one paragraph on this site (office_text.py), so paragraphs are written one per line.
The result is Markdown text like any typed text: it is sanitised when rendered.
"""

import re
from dataclasses import dataclass

import lxml.html
from lxml import etree

MAX_HTML_CHARS = 2_000_000  # a long Word document's clipboard; more is pasted as plain text
MAX_DEPTH = 150  # deeper nesting is read as plain text (no recursion limit to hit)

_SKIP = {"script", "style", "head", "title", "meta", "link", "xml", "template", "noscript", "svg",
         "math", "object", "embed", "iframe", "button", "input", "select", "textarea", "option",
         "canvas", "video", "audio", "map", "area"}
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "blockquote",
           "pre", "section", "article", "header", "footer", "main", "aside", "nav", "dl", "dt", "dd",
           "hr", "center", "form", "fieldset", "figure", "figcaption", "address", "body", "html"}
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_NEWLINE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])[ \t]*[\r\n]+[ \t\r\n]*(?=[{_CJK}])")
_SPACES = re.compile(r"[ \t\r\n\f\xa0]+")
_ORDERED_MARKER = re.compile(r"^(\d{1,9})[.)．]$")
_TYPED_MARKER = re.compile(r"^(?:[(（]?[\d一二三四五六七八九十]{1,4}[)）、.．]|[(（][\d一二三四五六七八九十]{1,4}[)）]"
                           r"|[①-⑳]|[a-zA-Z][.)．])$")
_LINK_SCHEMES = ("http://", "https://", "mailto:")


@dataclass
class Converted:
    """A paste as Markdown, and how many pictures were left out."""

    markdown: str
    images: int = 0


def _style(element) -> dict[str, str]:
    """An element's inline style as a dict of lower-case properties."""
    out = {}
    for item in (element.get("style") or "").split(";"):
        key, _, value = item.partition(":")
        if value:
            out[key.strip().lower()] = value.strip().lower()
    return out


def _hidden(element) -> bool:
    """Hidden in the source (Excel's hidden rows and columns, Word's mso-hide)."""
    style = _style(element)
    return style.get("display") == "none" or style.get("mso-hide") == "all" or element.get("hidden") is not None


def _escape(text: str) -> str:
    """Text with the characters Markdown would read as markup escaped."""
    text = re.sub(r"([\\`*_\[\]])", r"\\\1", text)
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def _escape_line_start(line: str) -> str:
    """A paragraph that would start a heading, quote, list or table as typed text."""
    if re.match(r"^(?:#|>|[-+]\s|\d{1,9}[.)]\s|\|)", line):
        return "\\" + line if not line[0].isdigit() else re.sub(r"^(\d+)([.)])", r"\1\\\2", line)
    return line


class _Inline:
    """Runs of text with their emphasis, written out as Markdown with adjacent runs merged."""

    def __init__(self):
        self.runs: list[tuple[str, bool, bool, str | None]] = []  # text, bold, italic, link

    def add(self, text: str, bold: bool, italic: bool, link: str | None) -> None:
        if text:
            self.runs.append((text, bold, italic, link))

    def markdown(self, plain: bool = False, cell: bool = False) -> str:
        merged: list[list] = []
        for text, bold, italic, link in self.runs:
            if text == "\n":
                merged.append(["\n", False, False, None])
            elif merged and merged[-1][1:] == [bold, italic, link] and merged[-1][0] != "\n":
                merged[-1][0] += text
            else:
                merged.append([text, bold, italic, link])
        out = []
        for text, bold, italic, link in merged:
            if text == "\n":
                out.append("\n")
                continue
            text = _NEWLINE_BETWEEN_CJK.sub("", text)
            text = _SPACES.sub(" ", text)
            if plain:
                out.append(text)
                continue
            core = text.strip()
            if not core:
                out.append(text)
                continue
            lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
            body = _escape(core)
            if cell:
                body = body.replace("|", "\\|")
            if link:
                body = f"[{body}]({link})"
            marks = ("**" if bold else "") + ("*" if italic else "")
            out.append(f"{lead}{marks}{body}{marks[::-1]}{trail}")
        lines = [_SPACES.sub(" ", line).strip() for line in "".join(out).split("\n")]
        if cell:
            return "<br>".join(line for line in lines if line)
        return "\n".join(lines)


class _Converter:
    """One walk over the parsed clipboard, collecting Markdown blocks."""

    def __init__(self, plain: bool):
        self.plain = plain
        self.blocks: list[tuple[str, str]] = []  # (kind, text): kind "p" joins with \n, others with a blank line
        self.images = 0
        self.inline = _Inline()
        self.word_list: list[str] = []

    # --- blocks ---------------------------------------------------------------------------

    def flush(self) -> None:
        """The inline text gathered so far becomes paragraphs."""
        text = self.inline.markdown(self.plain)
        self.inline = _Inline()
        for line in text.split("\n"):
            line = line.strip().lstrip("\u3000")
            if line:
                self.end_word_list()
                self.blocks.append(("p", line if self.plain else _escape_line_start(line)))

    def end_word_list(self) -> None:
        """Consecutive Word list paragraphs form one list."""
        if self.word_list:
            self.blocks.append(("list", "\n".join(self.word_list)))
            self.word_list = []

    def block(self, element, depth: int) -> None:
        """Walk a block container: inline content becomes paragraphs, blocks are handled by kind."""
        tag = _tag(element)
        if tag in ("ul", "ol"):
            self.flush()
            self.end_word_list()
            lines = self.list_lines(element, 0, depth)
            if lines:
                self.blocks.append(("list", "\n".join(lines)))
            return
        if tag == "table":
            self.flush()
            self.end_word_list()
            self.table(element, depth)
            return
        if tag == "hr":
            self.flush()
            self.end_word_list()
            if not self.plain:
                self.blocks.append(("rule", "---"))
            return
        if tag == "p" and self.is_word_list(element):
            self.flush()
            self.word_list_item(element, depth)
            return
        if tag == "blockquote" and not self.plain:
            self.flush()
            inner = _Converter(self.plain)
            inner.children(element, depth + 1)
            inner.flush()
            inner.end_word_list()
            self.images += inner.images
            text = inner.text()
            if text:
                self.end_word_list()
                self.blocks.append(("quote", "\n".join("> " + line if line else ">" for line in text.split("\n"))))
            return
        self.flush()
        bold = tag in _HEADINGS and not self.plain
        self.children(element, depth + 1, bold=bold)
        self.flush()

    def children(self, element, depth: int, bold: bool = False, italic: bool = False, link=None) -> None:
        """The content of an element: text and inline elements into the current paragraph, blocks apart."""
        if element.text:
            self.inline.add(element.text, bold, italic, link)
        for child in element:
            self.node(child, depth, bold, italic, link)
            if child.tail:
                self.inline.add(child.tail, bold, italic, link)

    def node(self, child, depth: int, bold: bool, italic: bool, link) -> None:
        """One child element, inline or block."""
        tag = _tag(child)
        if tag is None or tag in _SKIP or tag.startswith(("v:", "w:", "m:")) or _hidden(child):
            return
        if tag == "img":
            self.images += 1
            return
        if depth > MAX_DEPTH:
            self.inline.add(child.text_content(), bold, italic, link)
            return
        if "mso-list" in _style(child) and _style(child)["mso-list"] == "ignore":
            return  # Word's typed list marker, read by word_list_item
        if tag == "br":
            self.inline.add("\n", False, False, None)
            return
        if tag in _BLOCKS:
            self.block(child, depth)
            return
        style = _style(child)
        weight = style.get("font-weight", "")
        if tag in ("b", "strong"):
            bold = weight not in ("normal", "400", "lighter")
        elif weight in ("bold", "bolder", "600", "700", "800", "900"):
            bold = True
        elif weight in ("normal", "400"):
            bold = False
        if tag in ("i", "em", "cite") or style.get("font-style") == "italic":
            italic = style.get("font-style") != "normal"
        if tag == "a":
            href = (child.get("href") or "").strip()
            link = href if href.lower().startswith(_LINK_SCHEMES) and not re.search(r"[\s()<>]", href) else None
        self.children(child, depth + 1, bold, italic, link)

    # --- lists ----------------------------------------------------------------------------

    def list_lines(self, element, level: int, depth: int) -> list[str]:
        """An HTML list as Markdown list lines, nested lists indented four spaces a level."""
        ordered = _tag(element) == "ol"
        number = int(element.get("start", "1")) if (element.get("start") or "1").isdigit() else 1
        lines = []
        for item in element:
            if _tag(item) != "li" or _hidden(item):
                continue
            inner = _Converter(self.plain)
            nested: list[str] = []
            inner.inline.add(item.text or "", False, False, None)
            for child in item:
                if _tag(child) in ("ul", "ol") and depth < MAX_DEPTH:
                    nested.extend(self.list_lines(child, level + 1, depth + 1))
                else:
                    inner.node(child, depth + 1, False, False, None)
                if child.tail:
                    inner.inline.add(child.tail, False, False, None)
            inner.flush()
            inner.end_word_list()
            self.images += inner.images
            text = inner.text().replace("\n\n", "\n")
            if self.plain:
                marker = f"{number}、" if ordered else "● "
            else:
                marker = f"{number}. " if ordered else "- "
            first, *rest = text.split("\n") if text else [""]
            pad = "    " * level
            lines.append(pad + marker + first)
            lines.extend(pad + "    " + line for line in rest if line)
            lines.extend(nested)
            number += 1
        return lines

    def is_word_list(self, element) -> bool:
        """A Word or WPS list paragraph (mso-list: lN levelK, or the MsoListParagraph classes)."""
        mso = _style(element).get("mso-list", "")
        return bool(re.match(r"l\d+ level\d", mso)) or "msolistparagraph" in (element.get("class") or "").lower()

    def word_list_item(self, element, depth: int) -> None:
        """A Word list paragraph: its typed marker says bullet, number, or a Chinese number to keep."""
        marker, element = _list_marker(element)
        level = int(m.group(1)) - 1 if (m := re.search(r"level(\d+)", _style(element).get("mso-list", ""))) else 0
        inner = _Converter(self.plain)
        inner.children(element, depth + 1)
        text = inner.inline.markdown(self.plain).replace("\n", " ").strip()
        self.images += inner.images
        if not text:
            return
        if (number := _ORDERED_MARKER.match(marker)) and not self.plain:
            line = f"{number.group(1)}. {text}"
        elif _TYPED_MARKER.match(marker) and level and self.word_list:
            line = marker + text  # "a)" under "1.": a line of that item
        elif _TYPED_MARKER.match(marker) or (number and self.plain):
            # A Chinese number (1、（1）①一、) stays typed: one Enter, one paragraph, as in Word.
            self.end_word_list()
            self.blocks.append(("p", marker + text))
            return
        else:
            line = ("● " if self.plain else "- ") + text
        self.word_list.append("    " * min(level, 3) + line)

    # --- tables ---------------------------------------------------------------------------

    def table(self, element, depth: int) -> None:
        """An HTML table as a Markdown table: a grid with merged cells repeated, first row the header."""
        rows = [row for row in _rows(element) if not _hidden(row)]
        grid: list[list[str]] = []
        pending: dict[tuple[int, int], str] = {}  # (row, column) → text of a cell merged from above
        for r, row in enumerate(rows):
            out: list[str] = []
            column = 0
            for cell in row:
                if _tag(cell) not in ("td", "th") or _hidden(cell):
                    continue
                while (r, column) in pending:
                    out.append(pending.pop((r, column)))
                    column += 1
                inner = _Converter(self.plain)
                inner.children(cell, depth + 1)
                inner.flush()
                inner.end_word_list()
                self.images += inner.images
                text = inner.cell_text()
                span, down = _span(cell.get("colspan")), _span(cell.get("rowspan"))
                for c in range(span):
                    out.append(text)
                    for d in range(1, down):
                        pending[(r + d, column + c)] = text
                column += span
            while (r, column) in pending:
                out.append(pending.pop((r, column)))
                column += 1
            if any(cell.strip() for cell in out):
                grid.append(out)
        if not grid:
            return
        width = max(len(row) for row in grid)
        if len(grid) == 1 and width == 1 or self.plain:
            # A layout table around text, or a cell that holds plain text only: its text, not a grid.
            for row in grid:
                line = "　".join(cell.replace("<br>", " ") for cell in row if cell)
                if line:
                    self.blocks.append(("p", line))
            return
        # The header row is bold already: Word's bold runs there would only add asterisks.
        grid[0] = [cell[2:-2] if re.fullmatch(r"\*\*[^*]+\*\*", cell) else cell for cell in grid[0]]
        self.blocks.append(("table", markdown_table(grid)))

    def cell_text(self) -> str:
        """The content of a table cell on one line: its paragraphs joined by <br>."""
        lines = []
        for kind, text in self.blocks:
            for line in text.split("\n"):
                if kind == "table":
                    continue
                lines.append(line.strip())
        lines = [line.replace("|", "\\|") if not line.startswith("\\|") else line for line in lines if line]
        return "<br>".join(lines)

    def text(self) -> str:
        """The blocks as Markdown: paragraphs one per line, a blank line around lists, tables, quotes."""
        out: list[str] = []
        previous = None
        for kind, text in self.blocks:
            if out and (kind != "p" or previous != "p"):
                out.append("")
            out.append(text)
            previous = kind
        return "\n".join(out)


def _tag(element) -> str | None:
    """The lower-case tag of an element (None for comments and processing instructions)."""
    tag = element.tag
    if not isinstance(tag, str):
        return None
    if tag.startswith("{"):
        return "ns:" + tag.rsplit("}", 1)[1].lower()
    return tag.lower()


_SUPPORT_LISTS = re.compile(r"<!--\[if !supportLists\]-->(.*?)<!--\[endif\]-->", re.S)


def _list_marker(paragraph):
    """The typed marker of a Word/WPS list paragraph, and the paragraph without it.

    Word writes it inside `<![if !supportLists]>…<![endif]>` (and in a mso-list:Ignore span); WPS only
    the former. lxml reads both forms as a pair of comments around the marker."""
    source = etree.tostring(paragraph, encoding="unicode", with_tail=False)
    found = _SUPPORT_LISTS.search(source)
    if found:
        marker = lxml.html.fragment_fromstring(found.group(1) or " ", create_parent="span").text_content()
        paragraph = lxml.html.fragment_fromstring(source[: found.start()] + source[found.end():])
        return _SPACES.sub("", marker), paragraph
    for span in paragraph.iter("span"):
        if _style(span).get("mso-list") == "ignore":
            return _SPACES.sub("", span.text_content()), paragraph
    return "", paragraph


def _rows(table) -> list:
    """The rows of a table, not of the tables inside its cells."""
    rows = []
    for child in table:
        tag = _tag(child)
        if tag == "tr":
            rows.append(child)
        elif tag in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in child if _tag(row) == "tr")
    return rows


def _span(value: str | None) -> int:
    """A colspan or rowspan, bounded (a hostile 1e9 would fill memory)."""
    return min(int(value), 50) if value and value.strip().isdigit() and int(value) > 0 else 1


def markdown_table(grid: list[list[str]]) -> str:
    """Rows of cell texts as a Markdown table, the first row as header, short rows padded."""
    width = max(len(row) for row in grid)
    lines = []
    for index, row in enumerate(grid):
        cells = row + [""] * (width - len(row))
        lines.append("| " + " | ".join(cell or " " for cell in cells) + " |")
        if index == 0:
            lines.append("|" + "|".join(" --- " for _ in range(width)) + "|")
    return "\n".join(lines)


def html_to_markdown(html: str, plain: bool = False) -> Converted:
    """The clipboard's HTML as Markdown (or as plain lines for a plain-text field)."""
    if not html.strip():
        return Converted("")
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return Converted("")
    converter = _Converter(plain)
    body = root.find("body")
    converter.block(body if body is not None else root, 0)
    converter.flush()
    converter.end_word_list()
    return Converted(converter.text(), converter.images)


def tsv_to_markdown(text: str) -> str | None:
    """Tab-separated lines (an Excel range copied as text) as a Markdown table; None if not a table."""
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) < 2 or not all("\t" in line for line in lines):
        return None
    grid = [[_escape(cell.strip().strip('"')).replace("|", "\\|") for cell in line.split("\t")] for line in lines]
    return markdown_table(grid)
