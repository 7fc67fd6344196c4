"""The home page (report list) and the health check."""

from datetime import date

from flask import Blueprint, render_template
from flask_login import current_user

from .. import get_db
from ..reports import list_reports, units_for_new_reports
from ..workflow import waiting_for

bp = Blueprint("main", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness for monitoring: the database answers."""
    get_db().execute("SELECT 1").fetchone()
    return {"status": "ok"}


@bp.get("/")
def index():
    """The reports the user may see, and forms to start a new one."""
    db = get_db()
    reports = list_reports(db, current_user)
    todo = [(r, note) for r in reports if (note := waiting_for(r, current_user))]
    return render_template(
        "index.html",
        reports=reports,
        todo=todo,
        units=units_for_new_reports(db, current_user),
        default_year=date.today().year - 1,
        form={},
    )
