"""Pages and parts of pages kept in memory between requests: a long report's page is costly to build.

Each entry is keyed by everything it shows, so a change simply makes a new key and the old entry ages
out: nothing to invalidate. The whole report block is keyed by the report's change count, which
triggers in the database raise on every change to anything the page shows (schema 0008); a section by
its text, number, title and the reader's rights; the unit list, pages of search hits and the home
page's list of reports by the district-wide counts in change_counts (schema 0009, 0010).
"""

import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager

from flask import current_app, g, render_template, request
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from ..db import change_count
from ..reports import UnitChoice, unit_choices

# Stands for the reader's CSRF token (new on every request) inside a kept fragment: every csrf_token()
# gives it while one is built (_csrf_stand_in). Every field and import arrives with NUL removed
# (cleantext.py) and nh3 drops it, so no user text can contain it.
CSRF_MARK = "\x00csrf\x00"
CSRF_MARK_BYTES = CSRF_MARK.encode()
# Stands for the kept report block in the page rendered around it (user text cannot hold NUL either).
BLOCK_MARK = Markup("\x00report\x00")  # noqa: S704 # nosec B704 - a constant
# About 2 KB each: a few MB of memory, room for every section of the reports in use at once.
MAX_FRAGMENTS = 4000
# Whole report blocks: 80 KB for a usual report, up to half a megabyte for a 200-section one.
MAX_PAGES = 64
MAX_PAGE_BYTES = 16_000_000


class FragmentCache:
    """A bounded least-recently-used map shared by the server's threads."""

    def __init__(self, size: int, max_weight: int | None = None, weigh: Callable = len):
        self.size = size
        self.max_weight, self.weigh = max_weight, weigh  # optionally also bound the values' total weight
        self._weight = 0
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The kept value, or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        """Keep a value, dropping the least recently used beyond the size (or the weight)."""
        with self._lock:
            old = self._items.pop(key, None)
            self._weight += self._weigh(value) - self._weigh(old)
            self._items[key] = value
            while len(self._items) > self.size or (self.max_weight and self._weight > self.max_weight
                                                   and len(self._items) > 1):
                self._weight -= self._weigh(self._items.popitem(last=False)[1])

    def _weigh(self, value) -> int:
        """What a value counts against max_weight."""
        return self.weigh(value) if self.max_weight and value is not None else 0

    def kept(self, key, make):
        """The kept value for the key, made by `make()` and kept if there is none."""
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self._weight = 0


# Building a long report page is pure Python work: under the GIL two builds at once take as long as
# one after the other, and worse, every database step of one hands the GIL to the other and waits to
# get it back. So builds take turns (other requests — saves, small pages — go on meanwhile).
page_builds = threading.Lock()

report_pages = FragmentCache(MAX_PAGES, MAX_PAGE_BYTES, weigh=lambda pieces: sum(map(len, pieces)))
sections_cache = FragmentCache(MAX_FRAGMENTS)
outline_cache = FragmentCache(MAX_FRAGMENTS // 40)  # one entry per report outline in use
options_cache = FragmentCache(8)  # the district's unit list (and an old one while it changes)
unit_lists = FragmentCache(4)
search_pages = FragmentCache(256)  # a page of hits is a few KB
report_lists = FragmentCache(256)  # the home page's list: fifty rows, 20 KB at most


@contextmanager
def _csrf_stand_in():
    """While a kept block is built, every csrf_token() in it gives the stand-in, not this reader's token."""
    # flask-wtf keeps the request's token in g (documented): macros imported without context call
    # the global csrf_token(), which a template variable could not replace.
    real = generate_csrf()
    g.csrf_token = CSRF_MARK
    try:
        yield
    finally:
        g.csrf_token = real


def report_block(report: dict, reader: tuple, build: Callable[[], str]) -> tuple[bytes, ...]:
    """The report page's #report block, as UTF-8 pieces between CSRF stand-ins: kept until the report changes."""
    # Besides the report, the block depends only on who reads it (`reader`: their id for comment
    # buttons, role and unit for rights); the change count covers the report's rows and the names
    # shown with them.
    key = (report["id"], report["change_count"], *reader)
    pieces = report_pages.get(key)
    if pieces is None:
        with page_builds, _csrf_stand_in():
            # Readers who waited here while the same page was built take the built one.
            pieces = report_pages.kept(key, lambda: tuple(build().encode().split(CSRF_MARK_BYTES)))
    return pieces


def page_around(page: str, block: tuple[bytes, ...]) -> bytes:
    """The page rendered around BLOCK_MARK, with the block put in its place and this reader's token in it."""
    # Kept and joined as bytes: a long page is half a megabyte, and every copy of it as text
    # (markup, template output, encoding, replacing) costs as much as serving it.
    head, tail = page.split(BLOCK_MARK, 1)
    return b"".join((head.encode(), generate_csrf().encode().join(block), tail.encode()))


def section_renderer(context: dict):
    """The function the report page calls for each section's HTML (`reports/_section.html`)."""
    report = context["report"]
    comments, year_refs = context.get("comments") or {}, context.get("year_refs") or {}
    rights = (report["id"], context["editable"], context["can_comment"], context["can_reply"])
    token = generate_csrf()  # the stand-in itself while the whole block is being built for keeping

    def build(section) -> str:
        with _csrf_stand_in():
            return render_template("reports/_section.html", **context, section=section)

    def render(section) -> Markup:
        if comments.get(section.id) or year_refs.get(section.id):
            # Threads and old-year mentions change without the section changing: never kept.
            return Markup(render_template("reports/_section.html", **context, section=section))  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja
        key = (*rights, section.id, section.version, section.number, section.level, section.title,
               section.has_children, section.stale, section.carried_confirmed_at, hash(section.html))
        html = sections_cache.kept(key, lambda: build(section))
        return Markup(html if token == CSRF_MARK else html.replace(CSRF_MARK, token))  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja

    return render


def all_sections(render):
    """The function the report page calls once for all its sections, each rendered by `render`."""
    return lambda sections: Markup("".join([render(section) for section in sections]))  # noqa: S704 # nosec B704 - joined fragments of our own template


def outline_html(sections) -> Markup:
    """The report's table of contents (`reports/_outline.html`), kept while no heading changes."""
    key = tuple((s.id, s.level, s.number, s.title) for s in sections)
    html = outline_cache.kept(key, lambda: render_template("reports/_outline.html", sections=sections))
    return Markup(html)  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja


def unit_options(units, selected=None) -> Markup:
    """The <option>s of a unit choice (UnitChoice pairs), `selected` (an id) marked: a district has a thousand."""
    key = tuple(units)  # (id, name) pairs
    html = options_cache.kept(key, lambda: render_template("_unit_options.html", units=units))
    chosen = str(selected if selected is not None else "").strip()
    if chosen.isdecimal() and chosen.isascii():  # a form sent back may hold anything
        html = html.replace(f'<option value="{int(chosen)}">', f'<option value="{int(chosen)}" selected>', 1)
    return Markup(html)  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja


def this_database() -> str:
    """Which database a kept value came from: tests run many apps in one process, each over its own file."""
    return current_app.config["DATABASE"]


def kept_unit_choices(db) -> tuple[UnitChoice, ...]:
    """Every unit by name, kept until one is added, removed or renamed (the dashboard shows them twice)."""
    return unit_lists.kept((this_database(), change_count(db, "units")), lambda: unit_choices(db))


def kept_search(db, scope: str | int | None, query: str, page: int, find: Callable[[], tuple]) -> tuple:
    """A page of search results (what `find()` returns), kept until any report text, title or state changes."""
    # Ranking reads every match of a common word in the district (tens of milliseconds); the next page,
    # the way back and colleagues looking for the same word are then served from memory.
    return search_pages.kept((this_database(), change_count(db, "search"), scope, query, page), find)


def kept_report_list(db, scope: str | int | None, filters, make: Callable[[], tuple]) -> tuple:
    """The home page's years and list of reports (what `make()` returns), kept until any report changes."""
    # Counting a district's ten thousand reports by state and rendering fifty rows is most of the home
    # page's cost; the list depends only on the filters and the reader's scope (every unit, or theirs).
    key = (this_database(), request.script_root, change_count(db, "reports"), scope, filters)
    return report_lists.kept(key, make)
