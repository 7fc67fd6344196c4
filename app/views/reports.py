"""Report pages: create, import, read, edit the header, export."""

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from ..cloning import stale_sections
from ..comments import can_comment, can_reply, comments_by_section, open_count
from ..db import get_db
from ..editions import list_editions
from ..exporters import to_json, to_markdown
from ..importer import parse_bounded
from ..numbering import number_outline
from ..permissions import NotAllowed, can_create_in, can_create_reports, can_edit, require_edit
from ..printing import content_disposition, download_name, from_report
from ..reports import (
    InvalidInput,
    ReportExists,
    check_year,
    get_report,
    standard_outline,
    unit_choices,
    units_for_new_reports,
    update_header,
    year_to_report,
)
from ..reports import create_report as create
from ..sections import get_sections
from ..users import UserError, get_or_create_unit, get_unit
from ..workflow import TRANSITIONS, allowed_actions, last_return
from .form import form_context
from .fragments import all_sections, outline_html, section_renderer
from .kept import reader_page
from .printing import file_response, record_export

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _unit_id(db) -> int:
    """The unit chosen in a form: an existing one by id, or a new one by name (admins)."""
    if current_user.is_admin and request.form.get("unit_name", "").strip():
        try:
            return get_or_create_unit(db, request.form["unit_name"])
        except UserError as error:
            raise InvalidInput(str(error)) from None
    try:
        return int(request.form.get("unit_id", ""))
    except ValueError:
        raise InvalidInput("请选择单位。") from None


def _unit_name(db, unit_id: int) -> str:
    """A unit's name, or InvalidInput when there is no such unit."""
    unit = get_unit(db, unit_id)
    if unit is None:
        raise InvalidInput("所选单位不存在，请刷新页面后重选。")
    return unit["name"]


def _new_form(error: str | None = None, status: int = 200, existing: int | None = None):
    """The page for creating a report from the standard outline, with what was sent and why it failed
    (`existing`: the report that is already there, linked)."""
    _require_create()
    units = units_for_new_reports(current_user, unit_choices(get_db()))
    return render_template("reports/new.html", error=error, form=request.form, units=units,
                           default_year=year_to_report(), existing=existing), status


def _require_create() -> None:
    """Refuse the new-report and import pages to those who may not make reports."""
    if not can_create_reports(current_user):
        raise NotAllowed("您没有新建或导入报告的权限：只有填报人（本单位）和管理员可以。")


@bp.get("/new")
def new_page():
    """The create form on a page of its own: the home page links here when there are many units to choose from."""
    return _new_form()


@bp.post("")
def new():
    """Create a report from the standard outline for a unit and year."""
    db = get_db()
    try:
        year = check_year(request.form.get("year", ""))  # first: a new unit named in the form is made at once
        unit_id = _unit_id(db)
        outline = standard_outline(_unit_name(db, unit_id), year)
    except InvalidInput as error:
        return _new_form(str(error), 422)
    try:
        report_id = create(db, current_user, unit_id, year, outline, how="新建")
    except ReportExists as exists:
        return _new_form(str(exists), 422, existing=exists.report_id)
    return redirect(url_for("reports.show", report_id=report_id), code=303)


@bp.route("/import", methods=["GET", "POST"])
def import_report():
    """Import a report (Markdown, text, Word or our JSON): first a preview of the outline, then create."""
    _require_create()
    db = get_db()
    units = units_for_new_reports(current_user, unit_choices(db))
    if request.method == "GET":
        return render_template("reports/import.html", error=None, form={}, units=units)
    fmt = request.form.get("format", "auto")
    try:
        upload = request.files.get("file")
        with current_app.extensions["upload_gate"].turn():  # sandbox.Busy: 429, upload again shortly
            if upload and upload.filename:
                result = parse_bounded(upload.filename, upload.read(), fmt)
            else:
                result = parse_bounded("", request.form.get("text", ""), fmt)
        text, filename, fmt, parsed = result.text, result.filename, result.fmt, result.parsed
        year = check_year(request.form.get("year", ""))
        if request.form.get("confirm") != "1":
            # Nothing is created until the person has seen what the outline will be.
            numbers = number_outline(s.level for s in parsed.sections)
            return render_template(
                "reports/import_preview.html", parsed=parsed,
                outline=list(zip(numbers, parsed.sections, strict=True)),
                text=text, fmt=fmt, filename=filename, form=request.form, year=year, units=units)
        report_id = create(db, current_user, _unit_id(db), year, parsed, how="导入")
    except InvalidInput as error:
        return render_template("reports/import.html", error=str(error), form=request.form, units=units), 422
    return redirect(url_for("reports.show", report_id=report_id), code=303)


def report_context(db, report: dict, **extra) -> dict:
    """What the report page and its fragments need: sections, comments, actions, editions."""
    returned = last_return(db, report["id"]) if report["status"] == "submitted" else None
    sections = get_sections(db, report["id"])
    context = {
        "report": report,
        "sections": sections,
        "editable": can_edit(current_user, report),
        "comments": comments_by_section(db, report["id"]),
        "can_comment": can_comment(current_user, report),
        "can_reply": can_reply(current_user, report),
        "actions": [(name, TRANSITIONS[name]) for name in allowed_actions(report, current_user)],
        "editions": list_editions(db, report["id"]),
        "resubmitted_after_return": returned is not None,
        "year_refs": stale_sections(db, report),
        "may_clone": can_create_in(current_user, report["unit_id"]),
        "editing": None,
        "conflict": None,
        **form_context(db, report, sections=sections),
        **extra,
    }
    context["open_comments"] = open_count(context["comments"])
    context["section_html"] = section_renderer(context)
    context["sections_html"] = all_sections(context["section_html"])
    context["outline_html"] = outline_html
    return context


@bp.get("/<int:report_id>")
def show(report_id: int):
    """The report: outline beside the numbered sections, each editable in place."""
    db = get_db()

    def page() -> bytes:
        report = get_report(db, current_user, report_id)
        return render_template("reports/show.html", report=report, report_html=Markup(  # noqa: S704 # nosec B704 - our own template's output
            render_template("reports/_report.html", **report_context(db, report)))).encode()

    # The whole page is kept for this reader (views/kept.reader_page): building a long report's page costs ten
    # times serving it. The report is read, and the reader's right to it checked, only when the page is made: a
    # page kept for this reader at this generation was allowed then, and nothing has been written since (under
    # load each statement saved counts).
    return Response(reader_page(db, ("report page", report_id), page), mimetype="text/html")


@bp.route("/<int:report_id>/header", methods=["GET", "POST"])
def header(report_id: int):
    """Edit the report's title and preamble."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    require_edit(current_user, report)
    if request.method == "POST":
        try:
            version = int(request.form.get("version", ""))
        except ValueError:
            raise InvalidInput("缺少版本号，请刷新页面后重试。") from None
        try:
            update_header(db, report, current_user, request.form.get("title", ""),
                          request.form.get("preamble", ""), version)
        except InvalidInput as error:
            return render_template("reports/header.html", report=report, error=str(error),
                                   form=request.form), 409
        return redirect(url_for("reports.show", report_id=report_id), code=303)
    return render_template("reports/header.html", report=report, error=None, form=report)


@bp.get("/<int:report_id>/export.<fmt>")
def export(report_id: int, fmt: str):
    """Download the report as JSON, Markdown, PDF or Word, or its 自评表 as an Excel workbook."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    if fmt in ("pdf", "docx"):
        doc = from_report(db, report)
        response = file_response(doc, fmt, f"report-{report_id}")
        record_export(report_id, fmt, doc.edition["number"] if doc.edition else None)
        return response
    if fmt == "xlsx":
        # openpyxl takes a tenth of a second to load: when a workbook is made, not at every start.
        from ..xlsx_export import XLSX_MIMETYPE, report_workbook

        body, mimetype = report_workbook(db, report), XLSX_MIMETYPE
    elif fmt == "json":
        body, mimetype = to_json(db, report), "application/json"
    elif fmt == "md":
        body, mimetype = to_markdown(db, report), "text/markdown"
    else:
        raise InvalidInput("不支持的导出格式，可选 json、md、pdf、docx 或 xlsx。")
    record_export(report_id, fmt)
    response = Response(body, mimetype=mimetype if fmt == "xlsx" else mimetype + "; charset=utf-8")
    name = download_name(report, fmt)
    if fmt == "xlsx":  # the workbook holds the 自评表 alone, not the 说明
        name = name.replace("自评表说明", "自评表")
    response.headers["Content-Disposition"] = content_disposition(name, f"report-{report_id}.{fmt}")
    return response
