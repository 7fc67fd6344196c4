"""The print page, and the PDF and Word files made from the same content."""

from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, url_for
from flask_login import current_user

from .. import audit, clock, get_db
from ..db import transaction
from ..docx_export import to_docx
from ..printing import Printable, content_disposition, download_name, from_edition, from_report, html_to_pdf
from ..render import time_budget
from ..reports import IMPORT_RENDER_SECONDS, InvalidInput, get_report

bp = Blueprint("printing", __name__, url_prefix="/reports/<int:report_id>")

MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def print_html(doc: Printable, pdf: bool = False, public: bool = False, back_links=(), downloads=()) -> str:
    """The print page's HTML; for the PDF without toolbar and stylesheet link; public: no session."""
    return render_template("print/report.html", doc=doc, pdf=pdf, public=public, back_links=back_links,
                           downloads=downloads, printed_at=clock.now())


def file_response(doc: Printable, fmt: str, fallback: str) -> Response:
    """The document as a PDF or DOCX download with a Chinese file name."""
    if fmt == "pdf":
        stylesheet = Path(current_app.static_folder) / "css" / "print.css"
        body = html_to_pdf(print_html(doc, pdf=True), str(stylesheet))
    elif fmt == "docx":
        with time_budget(IMPORT_RENDER_SECONDS):  # an edition's sections are rendered again for Word
            body = to_docx(doc, doc.tables())
    else:
        raise InvalidInput("不支持的导出格式，可选 pdf 或 docx。")
    response = Response(body, mimetype=MIMETYPES[fmt])
    edition = doc.edition["number"] if doc.edition else None
    response.headers["Content-Disposition"] = content_disposition(
        download_name(doc, fmt, edition), f"{fallback}.{fmt}")
    return response


def record_export(report_id: int, fmt: str, edition: int | None = None) -> None:
    """Exports are audit events: who took which file of which report."""
    db = get_db()
    with transaction(db):
        audit.record(db, "report.export", actor_id=current_user.id, report_id=report_id, format=fmt,
                     edition=edition)


@bp.get("/print")
def report(report_id: int):
    """The report laid out for A4 (the latest edition once approved; a marked draft before)."""
    db = get_db()
    found = get_report(db, current_user, report_id)
    doc = from_report(db, found)
    suffix = {"report_id": report_id}
    if doc.edition:
        downloads = _edition_downloads(report_id, doc.edition["number"])
    else:
        downloads = [("下载 PDF", url_for("reports.export", fmt="pdf", **suffix)),
                     ("下载 Word", url_for("reports.export", fmt="docx", **suffix))]
    return print_html(doc, back_links=[("返回报告", url_for("reports.show", **suffix))], downloads=downloads)


def _edition_downloads(report_id: int, number: int) -> list[tuple[str, str]]:
    """Download links of an edition's files."""
    return [(f"下载 {label}", url_for("printing.edition_file", report_id=report_id, number=number, fmt=fmt))
            for label, fmt in (("PDF", "pdf"), ("Word", "docx"))]


@bp.get("/editions/<int:number>/print")
def edition(report_id: int, number: int):
    """A frozen edition laid out for A4."""
    db = get_db()
    found = get_report(db, current_user, report_id)
    doc = from_edition(db, found, number)
    return print_html(doc, back_links=[
        ("返回报告", url_for("reports.show", report_id=report_id)),
        ("审批单", url_for("workflow.sheet", report_id=report_id, number=number)),
    ], downloads=_edition_downloads(report_id, number))


@bp.get("/editions/<int:number>/export.<fmt>")
def edition_file(report_id: int, number: int, fmt: str):
    """An edition as PDF or DOCX."""
    db = get_db()
    found = get_report(db, current_user, report_id)
    doc = from_edition(db, found, number)
    response = file_response(doc, fmt, f"report-{report_id}-edition-{number}")
    record_export(report_id, fmt, number)
    return response
