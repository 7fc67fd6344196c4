"""The home page (dashboard of reports), search, and the health check."""

import sqlite3
from datetime import date

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user

from .. import db as database
from .. import get_db
from .. import search as fulltext
from ..dashboard import PAGE_SIZE, SORT_LABELS, Filters, filter_choices, list_page, my_todo, status_counts
from ..reports import units_for_new_reports
from ..search import MAX_QUERY_CHARS, more_than_pool
from ..search import search as run_search
from ..workflow import waiting_for
from .fragments import kept_search, kept_unit_choices

bp = Blueprint("main", __name__)
SEARCH_PAGE = 20


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
    reports, total = list_page(db, current_user, filters)
    todo = [(r, note) for r in my_todo(db, current_user) if (note := waiting_for(r, current_user))]
    all_units = kept_unit_choices(db)

    def link(**changes):
        """This list's URL with some filters changed (page back to 1 unless given)."""
        values = {"year": filters.year, "unit": filters.unit_id, "status": filters.status,
                  "sort": filters.sort, "page": 1, **changes}
        return url_for("main.index", **{k: v for k, v in values.items() if v not in (None, "", 1)
                                        or (k == "page" and v != 1)})

    return render_template(
        "index.html", reports=reports, total=total, todo=todo, filters=filters, link=link,
        counts=status_counts(db, current_user, filters), choices=filter_choices(db, current_user, all_units),
        pages=max(1, -(-total // PAGE_SIZE)), sort_labels=SORT_LABELS,
        units=units_for_new_reports(current_user, all_units), default_year=date.today().year - 1, form={},
    )


@bp.get("/search")
def search():
    """Find words (two-character Chinese words included) in the titles and text of my reports."""
    query = request.args.get("q", "").strip()[:MAX_QUERY_CHARS]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    hits, capped = [], False
    if query:
        db = get_db()

        def find() -> tuple:
            found = run_search(db, current_user, query, limit=SEARCH_PAGE + 1, offset=(page - 1) * SEARCH_PAGE)
            return found, bool(found) and more_than_pool(db, current_user, query)

        # The hits depend only on the words, the page and the reader's scope: every unit, or their own.
        hits, capped = kept_search(db, None if current_user.is_admin else current_user.unit_id, query, page, find)
    return render_template("search.html", query=query, hits=hits[:SEARCH_PAGE], page=page,
                           more=len(hits) > SEARCH_PAGE, pool=fulltext.POOL, capped=capped)
