"""The report list across units and years: filters, counts per state, sorting, pages."""

from dataclasses import dataclass

import sqlite_utils

from .db import all_rows
from .reports import STATUS_LABELS
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


_WHERE = (
    " WHERE (:scope IS NULL OR reports.unit_id = :scope)"
    " AND (:year IS NULL OR reports.year = :year)"
    " AND (:unit IS NULL OR reports.unit_id = :unit)"
)


def _params(user: User, filters: Filters) -> dict:
    """Bound values of the WHERE clause; a unit user is always scoped to their unit."""
    return {"scope": None if user.is_admin else user.unit_id, "year": filters.year,
            "unit": filters.unit_id, "status": filters.status}


def status_counts(db: sqlite_utils.Database, user: User, filters: Filters) -> dict[str, int]:
    """How many reports are in each state, within the year and unit chosen."""
    counts = dict.fromkeys(STATUS_LABELS, 0)
    for row in db.query("SELECT status, count(*) AS n FROM reports" + _WHERE + " GROUP BY status",  # noqa: S608 (fixed SQL, bound values)
                        _params(user, filters)):
        counts[row["status"]] = row["n"]
    return counts


def list_page(db: sqlite_utils.Database, user: User, filters: Filters) -> tuple[list[dict], int]:
    """One page of reports (with unit, last editor and last workflow action) and the total count."""
    params = _params(user, filters)
    where = _WHERE + " AND (:status IS NULL OR reports.status = :status)"
    total = db.execute("SELECT count(*) FROM reports JOIN units ON units.id = reports.unit_id" + where,  # noqa: S608 (fixed SQL, bound values)
                       params).fetchone()[0]
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


def filter_choices(db: sqlite_utils.Database, user: User) -> dict:
    """The years and units offered in the filter bar."""
    scope = {"scope": None if user.is_admin else user.unit_id}
    years = [r["year"] for r in db.query(
        "SELECT DISTINCT year FROM reports WHERE (:scope IS NULL OR unit_id = :scope) ORDER BY year DESC",
        scope)]
    units = all_rows(db, "SELECT id, name FROM units WHERE (:scope IS NULL OR id = :scope) ORDER BY name",
                     scope)
    return {"years": years, "units": units}


def my_todo(db: sqlite_utils.Database, user: User) -> list[dict]:
    """Reports in the states this user's role acts on, within their scope (for 我的待办)."""
    waiting = {"editor": "draft", "reviewer": "submitted", "approver": "reviewed"}.get(user.role)
    if waiting is None:
        return []
    rows, _ = list_page(db, user, Filters(status=waiting, sort="updated"))
    return rows
