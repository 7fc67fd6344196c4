"""The indexed form of text for search (search.py): bigrams of Chinese runs, and the SQL function the
search triggers call, registered on every connection by db.connect. Below every other module."""

import html
import re

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[A-Za-z0-9]+(?:\.[0-9]+)?")
_TAGS = re.compile(r"<[^>]+>")


def plain_text(fragment: str) -> str:
    """Visible text of an HTML fragment."""
    return html.unescape(_TAGS.sub(" ", fragment or ""))


def _tokens(text: str) -> list[str]:
    """Bigrams of Chinese runs (a lone character stays itself) and lower-cased words."""
    tokens = []
    for run in _RUNS.findall(text or ""):
        if re.match(rf"[{_CJK}]", run):
            tokens += [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]
        else:
            tokens.append(run.lower())
    return tokens


def index_text(text: str) -> str:
    """What the FTS table stores for a text."""
    return " ".join(_tokens(text))


def cjk_index_text(fragment: str | None) -> str:
    """SQL function for the triggers: the indexed form of an HTML fragment or a title."""
    return index_text(plain_text(fragment or ""))


def register_functions(conn) -> None:
    """Make cjk_index_text() available to this connection's triggers."""
    conn.create_function("cjk_index_text", 1, cjk_index_text, deterministic=True)
