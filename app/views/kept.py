"""The app's one cache (app.extensions["kept"]): results costly to make, kept until the next write.

Keys are built here, never by callers alone: the database file, the script root (links carry it) and
the reader's scope, then what the caller names. Anything that may change also carries the database's
generation, which every write transaction raises as it commits (db.transaction, schema 0016), so a
write from the site, the CLI or a script makes the next request build afresh: nothing to invalidate.
A shared edition's page never changes and is kept without it. A signed-in request keys with the generation
read together with its session and user (seen_generation), and reads it afresh once it has written itself.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..db import generation, raised

# A page of search hits or of the report list is a few KB to 20 KB, a shared edition up to 500 KB.
MAX_ITEMS = 512
MAX_BYTES = 32_000_000


def _weight(value) -> int:
    """Roughly what a kept value costs in memory: its length when it has one."""
    return len(value) if isinstance(value, bytes | str) else 4096


class Kept:
    """A bounded least-recently-used map shared by the server's threads."""

    def __init__(self, max_items: int = MAX_ITEMS, max_bytes: int = MAX_BYTES):
        self.max_items, self.max_bytes = max_items, max_bytes
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def _get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def _put(self, key, value) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= _weight(old)
            self._items[key] = value
            self._bytes += _weight(value)
            while len(self._items) > self.max_items or (self._bytes > self.max_bytes and len(self._items) > 1):
                self._bytes -= _weight(self._items.popitem(last=False)[1])

    def __len__(self) -> int:
        return len(self._items)

    def get(self, db, what: tuple[Hashable, ...], make: Callable, scope: Hashable = None, changes: bool = True):
        """The value kept for `what` as this reader (`scope`) sees it, made by `make()` when there is none.

        changes=False for what never changes once made (a shared edition): no generation in its key."""
        key = _key(current_app.config["DATABASE"], request.script_root, scope, what,
                   _generation(db) if changes else None)
        value = self._get(key)
        if value is None:
            value = make()
            self._put(key, value)
        return value

    def unchanging(self, database: str, script_root: str, what: tuple[Hashable, ...]):
        """What get(…, changes=False) keeps, or None: looked up without a request (views/shares.KeptSharePages)."""
        return self._get(_key(database, script_root, None, what, None))

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self._bytes = 0


def _key(database: str, script_root: str, scope: Hashable, what: tuple[Hashable, ...], gen: int | None) -> tuple:
    """The one shape of a key: database file, script root (links carry it), reader, what, generation."""
    return (database, script_root, scope, *what, gen)


def seen_generation(db, number: int | None) -> None:
    """Note the generation the request's first read saw (users.session_user reads it with the user)."""
    if number is not None:
        g.kept_generation = (number, raised(db))


def _generation(db) -> int:
    """The generation this request keys with: the one its first read saw, unless the request has written since.

    A page made from what is there now and kept under an older generation is only ever newer than its key says;
    the request's own write must not find what was kept before it, hence the check of raised()."""
    seen = g.get("kept_generation")
    if seen is not None and seen[1] == raised(db):
        return seen[0]
    return generation(db)


def reader_page(db, what: tuple[Hashable, ...], make: Callable[[], bytes]) -> bytes:
    """A whole page kept for this reader's session until the next write anywhere, made by `make()` when there is none.

    Its forms carry this session's CSRF token, valid for the whole session (WTF_CSRF_TIME_LIMIT=None), so the key
    names the session's CSRF secret; the bell's count and the names in the top bar are written in transactions
    too. A request carrying a one-time message (flash) is made afresh and not kept."""
    if "_flashes" in session:
        return make()
    if "csrf_token" not in session:
        generate_csrf()  # the session's CSRF secret, made once; the page signs it only when it is made
    reader = (current_user.id, current_user.role, current_user.unit_id, session["csrf_token"])
    return kept().get(db, what, make, scope=reader)


def kept() -> Kept:
    """This app's cache."""
    return current_app.extensions["kept"]


def install(app) -> None:
    """Give the app its cache (a fresh app starts empty)."""
    app.extensions["kept"] = Kept()
