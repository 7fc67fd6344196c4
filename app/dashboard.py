"""The report list across units and years: filters, counts per state, sorting, pages."""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

import sqlite_utils

from .db import all_rows, rows
from .permissions import ALL_UNITS, reader_scope
from .reports import STATUS_LABELS, UnitChoice
from .users import User
from .workflow import DUTIES

PAGE_SIZE = 50
# Sort keys a person may choose, mapped to fixed SQL (never user text in SQL).
SORTS = {
    "updated": "reports.updated_at DESC, reports.id DESC",
    "year": "reports.year DESC, units.name, reports.id",
    "unit": "units.name, reports.year DESC, reports.id",
    "status": "CASE reports.status WHEN 'draft' THEN 0 WHEN 'submitted' THEN 1 WHEN 'reviewed' THEN 2"
              " ELSE 3 END, reports.updated_at DESC, reports.id",
}
# A drop-down of more units than this is hard to use (a district has a thousand) and heavy to send on
# every visit: the filter then asks for part of a unit's name, and new reports get a page of their own.
MANY_UNITS = 30
UNIT_NAME_CHARS = 100


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to; None means any."""

    year: int | None = None
    unit_id: int | None = None
    status: str | None = None
    sort: str = "updated"
    page: int = 1
    unit_name: str | None = None  # part of a unit's name, for when there are too many units to list

    @classmethod
    def from_args(cls, args) -> "Filters":
        """Filters from query-string values; anything unusable is ignored rather than an error."""
        def number(name):
            value = str(args.get(name, "")).strip()
            return int(value) if value.isdigit() and len(value) < 10 else None

        status = args.get("status") if args.get("status") in STATUS_LABELS else None
        sort = args.get("sort") if args.get("sort") in SORTS else "updated"
        unit_name = str(args.get("unit_name", "")).strip()[:UNIT_NAME_CHARS] or None
        return cls(year=number("year"), unit_id=number("unit"), status=status, sort=sort,
                   page=max(1, number("page") or 1), unit_name=unit_name)

    @property
    def narrowed(self) -> bool:
        """Whether anything but the order and the page is chosen."""
        return any(value is not None for value in (self.year, self.unit_id, self.status, self.unit_name))


def _where(user: User, filters: Filters, status: bool = True) -> tuple[str, dict]:
    """The WHERE clause (fixed strings only) and its bound values; a unit user always sees only their unit.

    Only the conditions in use are written: `(:x IS NULL OR column = :x)` would keep SQLite from using
    an index, and a district has 10,000 reports.
    """
    clauses, params = [], {}
    scope = reader_scope(user)
    if scope != ALL_UNITS:
        clauses.append("reports.unit_id = :scope")
        params["scope"] = scope
    if filters.year is not None:
        clauses.append("reports.year = :year")
        params["year"] = filters.year
    if filters.unit_id is not None:
        clauses.append("reports.unit_id = :unit")
        params["unit"] = filters.unit_id
    if filters.unit_name is not None:
        # instr, not LIKE: the person's % and _ are plain characters, with nothing to escape.
        clauses.append("reports.unit_id IN (SELECT id FROM units WHERE instr(name, :unit_name) > 0)")
        params["unit_name"] = filters.unit_name
    if status and filters.status is not None:
        clauses.append("reports.status = :status")
        params["status"] = filters.status
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def status_counts(db: sqlite_utils.Database, user: User, filters: Filters) -> dict[str, int]:
    """How many reports are in each state, within the year and unit chosen."""
    counts = dict.fromkeys(STATUS_LABELS, 0)
    where, params = _where(user, filters, status=False)
    for row in rows(db, "SELECT status, count(*) AS n FROM reports" + where + " GROUP BY status",  # noqa: S608 (fixed SQL, bound values)
             params):
        counts[row["status"]] = row["n"]
    return counts


def list_page(db: sqlite_utils.Database, user: User, filters: Filters) -> tuple[list[dict], int]:
    """One page of reports (with unit, last editor and last workflow action) and the total count."""
    where, params = _where(user, filters)
    total = db.execute("SELECT count(*) FROM reports" + where, params).fetchone()[0]  # noqa: S608 (fixed SQL, bound values)
    rows = all_rows(
        db,
        "SELECT reports.id, reports.year, reports.title, reports.status, reports.updated_at,"  # noqa: S608 (only fixed strings are joined)
        " reports.unit_id, units.name AS unit_name, updater.display_name AS updated_by_name,"
        " (SELECT action FROM workflow_events WHERE report_id = reports.id ORDER BY id DESC LIMIT 1)"
        " AS last_action"
        " FROM reports JOIN units ON units.id = reports.unit_id"
        " LEFT JOIN users AS updater ON updater.id = reports.updated_by"
        + where + " ORDER BY " + SORTS[filters.sort] + " LIMIT :limit OFFSET :offset",
        {**params, "limit": PAGE_SIZE, "offset": (filters.page - 1) * PAGE_SIZE},
    )
    for row in rows:
        row["status_label"] = STATUS_LABELS[row["status"]]
    return rows, total


def report_years(db: sqlite_utils.Database, user: User) -> list[int]:
    """The years that have reports the user may list, latest first (the filter's choice of year)."""
    where, params = _where(user, Filters())
    return [r[0] for r in db.execute("SELECT DISTINCT year FROM reports" + where + " ORDER BY year DESC",  # noqa: S608 (fixed SQL, bound values)
                                     params)]


def units_named(all_units: Sequence[UnitChoice], part: str, limit: int) -> list[UnitChoice]:
    """The first `limit` units (of `all_units`, by name) whose name contains `part`."""
    part = part.strip()[:UNIT_NAME_CHARS]
    return list(islice((unit for unit in all_units if part in unit.name), limit))


def my_todo(db: sqlite_utils.Database, user: User) -> list[dict]:
    """Reports in the states this user's role acts on, within their scope (for 我的待办)."""
    waiting = DUTIES.get(user.role, (None, None))[0]
    if waiting is None:
        return []
    rows, _ = list_page(db, user, Filters(status=waiting, sort="updated"))
    return rows
