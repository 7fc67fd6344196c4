"""A report's activity: its audit rows, for anyone who may read the report."""

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from .. import audit
from ..db import get_db
from ..reports import get_report

bp = Blueprint("activity", __name__)


@bp.get("/reports/<int:report_id>/activity")
def report(report_id: int):
    """Who did what to the report and when, newest first, 50 rows a page."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    result = audit.search(db, audit.AuditFilter(report_id=report_id), current_app.config["TIMEZONE"],
                          audit.page_number(request.args.get("page", "")))
    return render_template("activity/report.html", report=report, result=result)
