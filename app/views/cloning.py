"""Starting next year's report from last year's, and settling last year's traces one by one."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from ..cloning import clone_report, confirm_carried, mark_year, replace_year
from ..db import get_db
from ..reports import InvalidInput, ReportExists, get_report
from ..sections import Conflict, get_section, get_sections

bp = Blueprint("cloning", __name__, url_prefix="/reports/<int:report_id>")


@bp.post("/clone")
def clone(report_id: int):
    """Create next year's draft from this report (its latest edition, else its current text)."""
    try:
        new_id = clone_report(get_db(), current_user, report_id, request.form.get("year", ""))
    except ReportExists as exists:
        return render_template("reports/exists.html", message=str(exists), existing=exists.report_id), 422
    return redirect(url_for("reports.show", report_id=new_id), code=303)


def _start() -> int:
    """The position of the year mention the form names."""
    try:
        return int(request.form.get("start", ""))
    except ValueError:
        raise InvalidInput("参数无效，请刷新页面后重试。") from None


def _section_changed(report: dict, section_id: int):
    """The section re-rendered with the checks (htmx), or the report page at the section."""
    from .form import form_context
    from .sections import section_fragment

    if not request.htmx:
        return redirect(url_for("reports.show", report_id=report["id"], _anchor=f"section-{section_id}"), code=303)
    db = get_db()
    return section_fragment("reports/_section_saved.html", report, get_section(db, report["id"], section_id),
                            sections=get_sections(db, report["id"]), **form_context(db, report))


@bp.post("/sections/<int:section_id>/replace-year")
def replace(report_id: int, section_id: int):
    """Replace one mention of last year by this report's year, after the person clicked it."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        raise InvalidInput("参数无效，请刷新页面后重试。") from None
    try:
        replace_year(db, report, current_user, section_id, _start(), version)
    except Conflict:
        raise InvalidInput("该部分已被他人修改，请刷新页面后再替换。") from None
    return _section_changed(report, section_id)


@bp.post("/sections/<int:section_id>/keep-year")
def keep_year(report_id: int, section_id: int):
    """Mark one mention of last year 有意保留 (an intended comparison), or take the mark back (keep=0)."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    mark_year(db, report, current_user, section_id, _start(), keep=request.form.get("keep", "1") != "0")
    return _section_changed(report, section_id)


@bp.post("/sections/<int:section_id>/confirm-carried")
def confirm(report_id: int, section_id: int):
    """确认无需修改: a 未更新 section stays as last year's on purpose (the checks then list it as confirmed)."""
    from .reports import report_context

    db = get_db()
    report = get_report(db, current_user, report_id)
    confirm_carried(db, report, current_user, section_id)
    if not request.htmx:
        return redirect(url_for("reports.show", report_id=report_id, _anchor="checks"), code=303)
    return render_template("reports/_report.html", **report_context(db, get_report(db, current_user, report_id)))
