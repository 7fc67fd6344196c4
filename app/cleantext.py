"""One normalisation for all text that comes in: what every output (Word, PDF, SQLite, JSON) can hold.

Invisible characters that no office text needs are removed, never refused: a clerk cannot see them to
take them out, and they come in by accident (text copied from PDFs or old systems). Line breaks of any
kind become "\\n"; Word's manual line break (vertical tab) and page break (form feed) become line
breaks too. Removed: the other control characters (C0 but tab and line feed, DEL, C1), lone
surrogates (half a character: SQLite and Word cannot store them) and Unicode's non-characters
(U+FFFE, U+FFFF, U+FDD0–U+FDEF and their twins in every plane).
"""

import re

_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_UNWANTED = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(1, 17))
    + "]"
)


def clean(text: str) -> str:
    """The text with line breaks as "\\n" and invisible characters that break exports removed."""
    if text.isprintable():  # the common case, checked in C: nothing to do
        return text
    return _UNWANTED.sub("", _LINE_BREAKS.sub("\n", text))


def needs_cleaning(text: str | None) -> bool:
    """Whether clean() would change the text."""
    return text is not None and clean(text) != text


def clean_tree(value):
    """Every string (keys too) in a JSON-like structure cleaned."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [clean_tree(item) for item in value]
    if isinstance(value, dict):
        return {clean_tree(key): clean_tree(item) for key, item in value.items()}
    return value
