"""Reading a report's outline out of Markdown or plain text by its numbering, not its # marks."""

import re
from dataclasses import dataclass, field

NO_SECTIONS = "没有识别出任何章节标题（如“一、”“（一）”“1.”），请检查编号后再导入。"

# The level of a heading is told by how it is numbered; real files get their # counts wrong.
_NUMBERINGS = [
    (1, re.compile(r"^([一二三四五六七八九十]+)\s*、\s*")),
    (2, re.compile(r"^[（(]\s*([一二三四五六七八九十]+)\s*[）)]\s*")),
    # "1.5万元" is an amount, not a heading: the separator must not be followed by a digit.
    (3, re.compile(r"^(\d{1,2})\s*[.、．](?!\d)\s*")),
    (4, re.compile(r"^[（(]\s*(\d{1,2})\s*[）)]\s*")),
]
_HASH_LINE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LEAD = re.compile(r"^(\*\*|__)(.+?)\1\s*(.*)$")
_MARKDOWN_LIST_ITEM = re.compile(r"^\d{1,9}[.)]\s")
_SENTENCE_END = tuple("。；！？;!?")
_RUN_ON_COLON = re.compile(r"[：:]\s*\S")
_TITLE_ENDINGS = ("报告", "说明")
# A numbered line longer than this is a paragraph that happens to start with a number.
MAX_HEADING_CHARS = 60


@dataclass
class ParsedSection:
    """One heading found in the text, with the body text under it."""

    level: int
    title: str
    body_lines: list[str] = field(default_factory=list)

    @property
    def markdown(self) -> str:
        """The body as Markdown, without leading or trailing blank lines."""
        return "\n".join(self.body_lines).strip("\n").strip()


@dataclass
class ParsedReport:
    """A report read from text: its title, preamble and sections in document order."""

    title: str
    preamble: str
    sections: list[ParsedSection]
    form: object = None  # the 自评表 (form_model.Form) it carries: a JSON import, a template, the sample


def numbering_level(text: str) -> tuple[int, str] | None:
    """(level, text after the number) when text starts with an outline number, else None."""
    for level, pattern in _NUMBERINGS:
        match = pattern.match(text)
        if match:
            return level, text[match.end():]
    return None


def clean_title(text: str) -> str:
    """A heading's title as shown: emphasis marks and a trailing full stop dropped."""
    text = text.strip()
    while len(text) > 4 and text[:2] in ("**", "__") and text.endswith(text[:2]):
        text = text[2:-2].strip()
    return text.rstrip("。.：: ").strip()


def _reads_as_sentence(rest: str) -> bool:
    """A numbered line whose text is a sentence or a run-in paragraph, not a heading."""
    stripped = rest.strip().rstrip("*_ ")
    return (
        not stripped
        or stripped.endswith(_SENTENCE_END)
        or bool(_RUN_ON_COLON.search(stripped))
        or len(stripped) > MAX_HEADING_CHARS
    )


def looks_like_markdown(text: str) -> bool:
    """Whether pasted text uses Markdown (headings, emphasis, tables or lists)."""
    return bool(
        re.search(r"^(#{1,6}\s|\s*[-*+]\s|\s*\|.*\|\s*$|>\s)", text, re.MULTILINE)
        or re.search(r"\*\*[^*\n]+\*\*", text)
    )


def _normalise(text: str) -> list[str]:
    """Lines without BOM, carriage returns or trailing white space."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [line.rstrip() for line in text.split("\n")]


def parse(text: str, plain: bool | None = None) -> ParsedReport:
    """Split a report's text into title, preamble and numbered sections.

    plain=True reads every line as its own paragraph (text pasted from Word);
    None decides by whether the text looks like Markdown.
    """
    if plain is None:
        plain = not looks_like_markdown(text)
    lines = _normalise(text)
    # Where the author marked numbered headings with #, a bare "1. …" line is a list item.
    hash_headings = any(
        (m := _HASH_LINE.match(line)) and numbering_level(clean_title(m.group(2)) or "")
        for line in lines
    )

    title = ""
    preamble: list[str] = []
    sections: list[ParsedSection] = []

    for raw in lines:
        line = raw.strip().lstrip("\u3000").strip()
        heading = None  # (level, title, run-in body)
        hash_match = _HASH_LINE.match(line)
        bold_match = _BOLD_LEAD.match(line)
        if hash_match:
            inner = clean_title(hash_match.group(2))
            found = numbering_level(inner)
            if found:
                heading = (found[0], clean_title(found[1]), "")
            elif not title and not sections:
                title = inner
                continue
        elif bold_match and numbering_level(bold_match.group(2).strip()):
            level, rest = numbering_level(bold_match.group(2).strip())
            heading = (level, clean_title(rest), bold_match.group(3).strip())
        elif not hash_headings or not _MARKDOWN_LIST_ITEM.match(line):
            found = numbering_level(line)
            if found and not _reads_as_sentence(found[1]):
                heading = (found[0], clean_title(found[1]), "")
        first_line = not title and not sections and not any(p.strip() for p in preamble)
        if heading is None and first_line and clean_title(line).endswith(_TITLE_ENDINGS):
            title = clean_title(line)
            continue

        if heading is not None and heading[1]:
            section = ParsedSection(level=heading[0], title=heading[1])
            if heading[2]:
                section.body_lines.append(heading[2])
            sections.append(section)
            continue

        target = sections[-1].body_lines if sections else preamble
        if plain:
            # Each line of plain text is a paragraph of its own.
            if line:
                if target and target[-1] != "":
                    target.append("")
                target.append(line)
        else:
            target.append(raw)

    return ParsedReport(
        title=title,
        preamble="\n".join(preamble).strip(),
        sections=sections,
    )
