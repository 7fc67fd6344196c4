"""Print-only typesetting of finished HTML: no stray spaces between Chinese and digits or Latin letters.

Text copied from PDFs carries spaces around figures ("入选全市 2024 年度"); in justified lines they stretch into wide
gaps. The print page and the PDF close them up; the saved text and every other view stay as written.
"""

import re

# Han characters, CJK punctuation and full-width forms on one side; ASCII letters and digits on the other.
_CJK = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
_LATIN = r"[A-Za-z0-9%]"
_SPACES = r"[ \u00a0\u2009\u202f]+"
_GAP = re.compile(rf"(?<={_CJK}){_SPACES}(?={_LATIN})|(?<={_LATIN}){_SPACES}(?={_CJK})")
# Text between tags; tags and their attributes are left alone, and so are <pre> and <code>.
_TEXT = re.compile(r"(<(pre|code)\b.*?</\2>)|(?<=>)([^<]+)(?=<)", re.S | re.I)


def close_cjk_gaps(text: str) -> str:
    """Plain text without spaces between a Chinese character and a digit or Latin letter."""
    return _GAP.sub("", text)


def tighten_html(markup: str) -> str:
    """The same for the text of an HTML fragment (already escaped: entities are kept as they are)."""
    def fix(match: re.Match) -> str:
        if match.group(1):
            return match.group(1)
        return close_cjk_gaps(match.group(3))
    return _TEXT.sub(fix, markup)
