"""The report list across units and years: filters, counts per state, sorting, pages."""

from collections.abc import Sequence
from dataclasses import dataclass

import sqlite_utils

from .db import all_rows
from .reports import STATUS_LABELS, UnitChoice
from .users import User

PAGE_SIZE = 50
# Sort keys a person may choose, mapped to fixed SQL (never user text in SQL).
SORTS = {
    "updated": "reports.updated_at DESC, reports.id DESC",
    "year": "reports.year DESC, units.name, reports.id",
    "unit": "units.name, reports.year DESC, reports.id",
    "status": "CASE reports.status WHEN 'draft' THEN 0 WHEN 'submitted' THEN 1 WHEN 'reviewed' THEN 2"
              " ELSE 3 END, reports.updated_at DESC, reports.id",
}
SORT_LABELS = {"updated": "最后修改", "year": "年度", "unit": "单位", "status": "状态"}


@dataclass
class Filters:
    """What the list is narrowed to; None means any."""

    year: int | None = None
    unit_id: int | None = None
    status: str | None = None
    sort: str = "updated"
    page: int = 1

    @classmethod
    def from_args(cls, args) -> "Filters":
        """Filters from query-string values; anything unusable is ignored rather than an error."""
        def number(name):
            value = str(args.get(name, "")).strip()
            return int(value) if value.isdigit() and len(value) < 10 else None

        status = args.get("status") if args.get("status") in STATUS_LABELS else None
        sort = args.get("sort") if args.get("sort") in SORTS else "updated"
        return cls(number("year"), number("unit"), status, sort, max(1, number("page") or 1))


def _where(user: User, filters: Filters, status: bool = True) -> tuple[str, dict]:
    """The WHERE clause (fixed strings only) and its bound values; a unit user always sees only their unit.

    Only the conditions in use are written: `(:x IS NULL OR column = :x)` would keep SQLite from using
    an index, and a district has 10,000 reports.
    """
    clauses, params = [], {}
    if not user.is_admin:
        clauses.append("reports.unit_id = :scope")
        params["scope"] = user.unit_id
    if filters.year is not None:
        clauses.append("reports.year = :year")
        params["year"] = filters.year
    if filters.unit_id is not None:
        clauses.append("reports.unit_id = :unit")
        params["unit"] = filters.unit_id
    if status and filters.status is not None:
        clauses.append("reports.status = :status")
        params["status"] = filters.status
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def status_counts(db: sqlite_utils.Database, user: User, filters: Filters) -> dict[str, int]:
    """How many reports are in each state, within the year and unit chosen."""
    counts = dict.fromkeys(STATUS_LABELS, 0)
    where, params = _where(user, filters, status=False)
    for row in db.query("SELECT status, count(*) AS n FROM reports" + where + " GROUP BY status",  # noqa: S608 (fixed SQL, bound values)
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


def filter_choices(db: sqlite_utils.Database, user: User, all_units: Sequence[UnitChoice]) -> dict:
    """The years and units (of `all_units`, from unit_choices) offered in the filter bar."""
    if user.is_admin:
        years = [r[0] for r in db.execute("SELECT DISTINCT year FROM reports ORDER BY year DESC")]
        return {"years": years, "units": all_units}
    own = user.unit_id  # once: `user` may be a proxy, slow to ask a thousand times
    years = [r[0] for r in db.execute("SELECT DISTINCT year FROM reports WHERE unit_id = ? ORDER BY year DESC",
                                      (own,))]
    return {"years": years, "units": [unit for unit in all_units if unit.id == own]}


def my_todo(db: sqlite_utils.Database, user: User) -> list[dict]:
    """Reports in the states this user's role acts on, within their scope (for 我的待办)."""
    waiting = {"editor": "draft", "reviewer": "submitted", "approver": "reviewed"}.get(user.role)
    if waiting is None:
        return []
    rows, _ = list_page(db, user, Filters(status=waiting, sort="updated"))
    return rows
