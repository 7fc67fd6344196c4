"""The print page, and the PDF and Word files made from the same content.

An edition never changes, so its files are made once and kept (editions.keep_file), then served as
bytes with an ETag; a draft's are made on each request. PDFs are typeset by the app's PdfPress in a
sandboxed worker, one (PDF_WORKERS) at a time.
"""

from flask import Blueprint, Response, request, url_for
from flask_login import current_user

from .. import audit
from ..db import get_db, transaction
from ..documents import MIMETYPES, document_file, layout_fingerprint, print_html  # noqa: F401 (print_html: shares)
from ..printing import Printable, content_disposition, download_name, from_edition, from_report
from ..reports import get_report

bp = Blueprint("printing", __name__, url_prefix="/reports/<int:report_id>")

def file_response(doc: Printable, fmt: str, fallback: str) -> Response:
    """The document as a PDF or DOCX download with a Chinese file name; an edition's with an ETag."""
    if doc.edition is not None:
        etag = f"{doc.edition['content_hash'][:32]}-{layout_fingerprint()}-{fmt}"
        if request.if_none_match.contains(etag):
            response = Response(status=304)
            response.set_etag(etag)
            return response
    response = Response(document_file(doc, fmt), mimetype=MIMETYPES[fmt])
    edition = doc.edition["number"] if doc.edition else None
    response.headers["Content-Disposition"] = content_disposition(
        download_name(doc, fmt, edition), f"{fallback}.{fmt}")
    if doc.edition is not None:
        response.set_etag(etag)
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
