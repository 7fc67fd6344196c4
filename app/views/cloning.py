"""Starting next year's report from last year's, and replacing old years one mention at a time."""

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user

from ..cloning import clone_report, replace_year
from ..db import get_db
from ..reports import InvalidInput, get_report
from ..sections import Conflict, get_section

bp = Blueprint("cloning", __name__, url_prefix="/reports/<int:report_id>")


@bp.post("/clone")
def clone(report_id: int):
    """Create next year's draft from this report (its latest edition, else its current text)."""
    new_id = clone_report(get_db(), current_user, report_id, request.form.get("year", ""))
    return redirect(url_for("reports.show", report_id=new_id), code=303)


@bp.post("/sections/<int:section_id>/replace-year")
def replace(report_id: int, section_id: int):
    """Replace one mention of last year by this report's year, after the person clicked it."""
    from .sections import section_fragment

    db = get_db()
    report = get_report(db, current_user, report_id)
    try:
        start, version = int(request.form.get("start", "")), int(request.form.get("version", ""))
    except ValueError:
        raise InvalidInput("参数无效，请刷新页面后重试。") from None
    try:
        replace_year(db, report, current_user, section_id, start, version)
    except Conflict:
        raise InvalidInput("该部分已被他人修改，请刷新页面后再替换。") from None
    if not request.htmx:
        return redirect(url_for("reports.show", report_id=report_id, _anchor=f"section-{section_id}"), code=303)
    return section_fragment("reports/_section.html", report, get_section(db, report_id, section_id))
