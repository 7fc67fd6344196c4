"""Rendered sections of the report page, kept between requests: a long report's page is mostly these.

Each entry is keyed by everything the section's HTML shows (text, number, title, the reader's rights),
so a changed section simply gets a new key and the old entry ages out: nothing to invalidate.
"""

import threading
from collections import OrderedDict

from flask import render_template
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

# Stands for the reader's CSRF token (new on every request) inside a kept fragment. Requests with NUL
# are refused and nh3 drops it, so no user text can contain it.
CSRF_MARK = "\x00csrf\x00"
# About 2 KB each: a few MB of memory, room for every section of the reports in use at once.
MAX_FRAGMENTS = 4000


class FragmentCache:
    """A bounded least-recently-used map shared by the server's threads."""

    def __init__(self, size: int):
        self.size = size
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
        """Keep a value, dropping the least recently used beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

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


# Building a long report page is pure Python work: under the GIL two builds at once take as long as
# one after the other, and worse, every database step of one hands the GIL to the other and waits to
# get it back. So builds take turns (other requests — saves, small pages — go on meanwhile).
page_builds = threading.Lock()

sections_cache = FragmentCache(MAX_FRAGMENTS)
outline_cache = FragmentCache(MAX_FRAGMENTS // 40)  # one entry per report outline in use
options_cache = FragmentCache(8)  # the district's unit list (and an old one while it changes)


def section_renderer(context: dict):
    """The function the report page calls for each section's HTML (`reports/_section.html`)."""
    report = context["report"]
    comments, year_refs = context.get("comments") or {}, context.get("year_refs") or {}
    rights = (report["id"], context["editable"], context["can_comment"], context["can_reply"])
    token = generate_csrf() if context["can_comment"] else None

    def render(section) -> Markup:
        if comments.get(section.id) or year_refs.get(section.id):
            # Threads and old-year mentions change without the section changing: never kept.
            return Markup(render_template("reports/_section.html", **context, section=section))  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja
        key = (*rights, section.id, section.version, section.number, section.level, section.title,
               section.has_children, section.stale, hash(section.html))
        html = sections_cache.kept(key, lambda: render_template("reports/_section.html", **context, section=section,
                                                                 csrf=CSRF_MARK))
        return Markup(html.replace(CSRF_MARK, token) if token else html)  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja

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
    """The <option>s of a unit choice, `selected` (an id) marked: a district has a thousand units."""
    key = tuple((unit["id"], unit["name"]) for unit in units)
    html = options_cache.kept(key, lambda: render_template("_unit_options.html", units=units))
    chosen = str(selected if selected is not None else "").strip()
    if chosen.isdecimal() and chosen.isascii():  # a form sent back may hold anything
        html = html.replace(f'<option value="{int(chosen)}">', f'<option value="{int(chosen)}" selected>', 1)
    return Markup(html)  # noqa: S704 # nosec B704 - our own template's output, escaped by Jinja
