"""The home page (dashboard of reports), search, and the health check."""

import sqlite3

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from .. import db as database
from .. import search as fulltext
from ..dashboard import (
    MANY_UNITS,
    PAGE_SIZE,
    Filters,
    list_page,
    my_todo,
    report_years,
    status_counts,
    units_named,
)
from ..db import get_db
from ..permissions import reader_scope
from ..reports import unit_choices, units_for_new_reports, visible_units, year_to_report
from ..search import MAX_QUERY_CHARS, more_than_pool
from ..search import search as run_search
from ..workflow import waiting_for
from .kept import kept, reader_page

bp = Blueprint("main", __name__)
SEARCH_PAGE = 20
UNIT_SUGGESTIONS = 20


@bp.get("/healthz")
def healthz():
    """Liveness for monitoring: the database file answers, with this live connection's settings."""
    try:
        settings = database.settings(get_db())  # reads the file header: a real check, still cheap
    except sqlite3.Error as error:
        current_app.logger.error("healthz: database error: %s", error)
        return {"status": "error", "message": "数据库无法访问，请管理员检查服务器日志。"}, 503
    return {"status": "ok", "database": settings}


@bp.get("/")
def index():
    """My to-do list, then every report I may see: filtered, counted by state, sorted, paged."""
    db = get_db()
    filters = Filters.from_args(request.args)
    default_year = year_to_report()

    def page() -> bytes:
        todo = [(r, note) for r in my_todo(db, current_user) if (note := waiting_for(r, current_user))]
        all_units = kept().get(db, ("units",), lambda: unit_choices(db))  # a district has a thousand
        filter_units = visible_units(current_user, all_units)
        years, report_list = _report_list(db, filters)
        chosen = next((unit for unit in filter_units if unit.id == filters.unit_id), None) if filters.unit_id else None
        return render_template(
            "index.html", todo=todo, filters=filters, years=years, filter_units=filter_units,
            chosen_unit=chosen, report_list=report_list, many_units=MANY_UNITS,
            units=units_for_new_reports(current_user, all_units), default_year=default_year, form={},
        ).encode()

    # The home page is the one everyone opens most: kept whole for this reader, as the report page is.
    return Response(reader_page(db, ("home", filters, default_year), page), mimetype="text/html")


def _report_list(db, filters: Filters) -> tuple[list[int], Markup]:
    """The years to choose from and the list itself, kept until the next write for every reader of this scope."""
    def link(**changes):
        """This list's URL with some filters changed (page back to 1 unless given)."""
        values = {"year": filters.year, "unit": filters.unit_id, "unit_name": filters.unit_name,
                  "status": filters.status, "sort": filters.sort, "page": 1, **changes}
        return url_for("main.index", **{k: v for k, v in values.items() if v not in (None, "", 1)
                                        or (k == "page" and v != 1)})

    def years_and_list() -> tuple[list[int], Markup]:
        reports, total = list_page(db, current_user, filters)
        html = render_template(
            "_report_list.html", reports=reports, total=total, filters=filters, link=link,
            counts=status_counts(db, current_user, filters), pages=max(1, -(-total // PAGE_SIZE)))
        return report_years(db, current_user), Markup(html)  # noqa: S704 # nosec B704 - our own template's output

    # Counting a district's ten thousand reports by state and rendering fifty rows is most of the page's
    # cost; the list depends only on the filters and the reader's scope (every unit, or theirs).
    return kept().get(db, ("report list", filters), years_and_list, scope=reader_scope(current_user))


@bp.get("/units/suggest")
def suggest_units():
    """Names of the units I may see that contain what is typed, as <option>s for a <datalist>."""
    db = get_db()
    units = visible_units(current_user, kept().get(db, ("units",), lambda: unit_choices(db)))
    found = units_named(units, request.args.get("unit_name", ""), UNIT_SUGGESTIONS)
    return render_template("_unit_suggestions.html", units=found)


@bp.get("/search")
def search():
    """Find words (two-character Chinese words included) in the titles and text of my reports."""
    query = request.args.get("q", "").strip()[:MAX_QUERY_CHARS]
    page_number = max(1, request.args.get("page", 1, type=int) or 1)
    db = get_db()

    def find() -> tuple:
        found = run_search(db, current_user, query, limit=SEARCH_PAGE + 1, offset=(page_number - 1) * SEARCH_PAGE)
        return found, bool(found) and more_than_pool(db, current_user, query)

    def page() -> bytes:
        # Ranking reads every match of a common word in the district (tens of milliseconds); the hits depend
        # only on the words, the page and the reader's scope (every unit, or their own): kept for them all.
        hits, capped = kept().get(db, ("search", query, page_number), find,
                                  scope=reader_scope(current_user)) if query else ([], False)
        return render_template("search.html", query=query, hits=hits[:SEARCH_PAGE], page=page_number,
                               more=len(hits) > SEARCH_PAGE, pool=fulltext.POOL, capped=capped).encode()

    # The page itself is kept for this reader, as the home page is.
    return Response(reader_page(db, ("search page", query, page_number), page), mimetype="text/html")
