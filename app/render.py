"""Markdown to safe HTML: Python-Markdown, then an nh3 allow-list, with bounds on hostile input.

Python-Markdown is quadratic or worse on many shapes of text (thousands of "<x ", "<![CDATA[",
"[a](", setext headings or "---" lines take from seconds to minutes, well inside the 200 KB a
section may hold). A regular expression cannot be interrupted, so the conversion runs in a small
pool of sandboxed worker processes (sandbox.py): a text that takes longer than RENDER_SECONDS is shown as
plain paragraphs and its worker is killed. Sanitising stays in this process.
"""

import atexit
import contextlib
import html
import logging
import os
import re
import threading
import time

import nh3

from . import sandbox
from .office_text import prepare

log = logging.getLogger(__name__)

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "u", "del", "s", "sub", "sup", "code", "pre",
    "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a", "img",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
    "ol": {"start"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
_EXTENSIONS = ["tables", "sane_lists"]

# Python-Markdown's link patterns are quadratic in the number of "[" of one paragraph:
# 2,000 take 0.6 s, 10,000 take ~15 s. Past this budget (sum over paragraphs of the
# count squared) the text is shown as plain paragraphs instead.
BRACKET_BUDGET = 600**2


def _bracket_cost(text: str) -> int:
    """Sum over paragraphs of the squared count of "[" (the slow path's cost)."""
    return sum(block.count("[") ** 2 for block in re.split(r"\n\s*\n", text))


def plain_html(text: str) -> str:
    """Text shown as escaped paragraphs, no Markdown at all."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(
        "<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs
    )


def sanitize(fragment: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render_markdown(text: str, *, office: bool = True) -> str:
    """Render Markdown to sanitized HTML; never crashes or hangs on hostile input.

    `office`: Enter starts a new paragraph and office-typed tables are tables (office_text.py);
    False renders as before issue #16, for editions approved before it (their frozen HTML)."""
    if not text.strip():
        return ""
    if office:
        text = prepare(text)
    if _bracket_cost(text) > BRACKET_BUDGET:
        return plain_html(text)
    rendered = _convert(text)
    if rendered is None:
        # Too slow, or deeply nested lists or quotes that exhaust Python-Markdown's recursion.
        return plain_html(text)
    return sanitize(rendered)


# --- The workers ----------------------------------------------------------------------------------

RENDER_SECONDS = 1.0  # one text; a normal section takes milliseconds
# Texts converted at once (the rest wait for a worker, up to RENDER_WAIT_SECONDS): one per core, two to four.
# More workers than cores convert no faster and each keeps ~18 MB (docs/benchmarks.md, memory).
MAX_WORKERS = min(4, max(2, os.cpu_count() or 2))
# A normal text on a busy server: waiting for a free worker, or for one to start, does not count against
# its RENDER_SECONDS (that would store a well-formed section as plain text only because the machine was busy).
RENDER_WAIT_SECONDS = 10.0
# Per text: CPU a little over its wall time; memory far above what any 200 KB section needs.
_LIMITS = sandbox.Limits(seconds=RENDER_SECONDS, cpu_seconds=2, memory_bytes=512 * 1024 * 1024)
_pool = sandbox.Pool("markdown:" + ",".join(_EXTENSIONS), _LIMITS, MAX_WORKERS)
_budget = threading.local()


@contextlib.contextmanager
def time_budget(seconds: float):
    """Limit the Markdown conversions of a block of work (an import of many sections) to `seconds` in all."""
    _budget.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _budget.deadline = None


def _convert(text: str) -> str | None:
    """Python-Markdown's HTML for the text, or None when it failed or took too long."""
    limit = RENDER_SECONDS
    deadline = getattr(_budget, "deadline", None)  # a block's budget covers its waiting too
    if deadline is not None:
        limit = min(limit, deadline - time.monotonic())
    else:
        deadline = time.monotonic() + RENDER_SECONDS + RENDER_WAIT_SECONDS
    try:
        return _pool.call(text.encode("utf-8"), limit, deadline).decode("utf-8")
    except sandbox.Overrun as overrun:
        if overrun.cause == "time":
            log.warning("Markdown of %d characters took over %.1f s: shown as plain text", len(text), limit)
        elif overrun.cause != "depth":  # too deep is the text's own doing; anything else is worth a line
            log.warning("Markdown worker failed on %d characters (%s): shown as plain text", len(text), overrun)
        return None
    except OSError as error:
        log.error("Markdown worker could not start (%s): converting in the server process", error)
        return _convert_here(text)


def _convert_here(text: str) -> str | None:
    """The conversion without a worker (only if none can be started): no time limit."""
    import markdown

    try:
        return markdown.markdown(text, extensions=_EXTENSIONS, output_format="html")
    except RecursionError:
        return None


def stop_workers() -> None:
    """End the idle Markdown workers."""
    _pool.stop()


atexit.register(stop_workers)
