"""Markdown to safe HTML: Python-Markdown, then an nh3 allow-list, with bounds on hostile input.

Python-Markdown is quadratic or worse on many shapes of text (thousands of "<x ", "<![CDATA[",
"[a](", setext headings or "---" lines take from seconds to minutes, well inside the 200 KB a
section may hold). A regular expression cannot be interrupted, so the conversion runs in a small
pool of worker processes: a text that takes longer than RENDER_SECONDS is shown as plain paragraphs
and its worker is killed. Sanitising stays in this process.
"""

import atexit
import contextlib
import html
import logging
import queue
import re
import struct
import subprocess
import sys
import threading
import time

import nh3

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
MAX_WORKERS = 4  # texts converted at once (the rest wait, within their own time limit)
STARTUP_SECONDS = 30.0  # a worker's first import of Python-Markdown, on a slow server
# The worker is a plain `python -c` program that imports nothing of this application, speaking
# length-prefixed UTF-8 over its stdin and stdout: the same on Linux and Windows, no fork.
_WORKER = r"""
import struct, sys, markdown
extensions = sys.argv[1].split(",")
source, sink = sys.stdin.buffer, sys.stdout.buffer
sink.write(b"R"); sink.flush()
while True:
    head = source.read(4)
    if len(head) < 4:
        break
    text = source.read(struct.unpack(">I", head)[0]).decode("utf-8")
    try:
        flag, body = b"H", markdown.markdown(text, extensions=extensions, output_format="html").encode("utf-8")
    except RecursionError:
        flag, body = b"N", b""
    sink.write(flag + struct.pack(">I", len(body)) + body); sink.flush()
"""
_idle: list["_Worker"] = []
_idle_lock = threading.Lock()
_slots = threading.BoundedSemaphore(MAX_WORKERS)
_budget = threading.local()


class _Worker:
    """One worker process, and a thread that hands its answers over through a queue."""

    def __init__(self):
        self.process = subprocess.Popen(  # noqa: S603 (this interpreter, our own program text, no shell)
            [sys.executable, "-c", _WORKER, ",".join(_EXTENSIONS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, name="markdown-worker-reader", daemon=True).start()
        try:
            ready = self.answers.get(timeout=STARTUP_SECONDS)
        except queue.Empty:
            ready = None
        if ready != "ready":
            self.close()
            raise OSError("the Markdown worker did not start")

    def _read(self) -> None:
        """Pass each answer on: "ready", an HTML string, None (too deeply nested), or EOFError at the end."""
        out = self.process.stdout
        try:
            if out.read(1) == b"R":
                self.answers.put("ready")
            while head := out.read(5):
                body = out.read(struct.unpack(">I", head[1:])[0])
                self.answers.put(body.decode("utf-8") if head[:1] == b"H" else None)
        except (OSError, ValueError, struct.error):
            pass
        self.answers.put(EOFError)

    def convert(self, text: str, timeout: float):
        """The answer for the text, or queue.Empty when it takes too long."""
        data = text.encode("utf-8")
        self.process.stdin.write(struct.pack(">I", len(data)) + data)
        self.process.stdin.flush()
        return self.answers.get(timeout=timeout)

    def close(self) -> None:
        """Stop the process (it may be stuck in a regular expression) and release its pipes."""
        self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass  # unsent bytes to a process that is gone


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
    started = time.monotonic()
    limit = RENDER_SECONDS
    deadline = getattr(_budget, "deadline", None)
    if deadline is not None:
        limit = min(limit, deadline - started)
    if limit <= 0 or not _slots.acquire(timeout=limit):
        return None
    try:
        for _attempt in range(2):  # an idle worker that has died meanwhile is replaced once
            with _idle_lock:
                worker = _idle.pop() if _idle else None
            if worker is None:
                try:
                    worker = _Worker()
                except OSError as error:
                    log.error("Markdown worker could not start (%s): converting in the server process", error)
                    return _convert_here(text)
            left = limit - (time.monotonic() - started)
            try:
                answer = worker.convert(text, max(left, 0.0))
            except (OSError, queue.Empty):
                answer = EOFError
            if answer is not EOFError:
                with _idle_lock:
                    _idle.append(worker)
                return answer
            worker.close()
            if time.monotonic() - started >= limit:
                log.warning("Markdown of %d characters took over %.1f s: shown as plain text", len(text), limit)
                return None
        return None
    finally:
        _slots.release()


def _convert_here(text: str) -> str | None:
    """The conversion without a worker (only if none can be started): no time limit."""
    import markdown

    try:
        return markdown.markdown(text, extensions=_EXTENSIONS, output_format="html")
    except RecursionError:
        return None


def stop_workers() -> None:
    """End the idle workers (the processes also end by themselves when the server's pipes close)."""
    with _idle_lock:
        while _idle:
            _idle.pop().close()


atexit.register(stop_workers)
