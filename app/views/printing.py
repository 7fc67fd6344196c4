"""The print page, and the PDF and Word files made from the same content.

An edition never changes, so its files are made once and kept (editions.keep_file), then served as
bytes with an ETag; a draft's are made on each request. PDFs are typeset by the app's PdfPress in a
sandboxed worker, one (PDF_WORKERS) at a time.
"""

import contextlib
import functools
import hashlib
from importlib.metadata import version
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_login import current_user

from .. import audit, clock
from ..bootstrap import ROOT
from ..db import get_db, transaction
from ..docx_export import to_docx
from ..editions import keep_file, kept_file
from ..printing import Printable, content_disposition, download_name, from_edition, from_report
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


@functools.cache
def layout_fingerprint() -> str:
    """What an edition's files look like besides its content: the print stylesheet and templates, the
    Word and form layout code, the typesetter's version. A kept file made in another layout is made again."""
    digest = hashlib.sha256(version("weasyprint").encode() + version("python-docx").encode())
    for path in sorted([ROOT / "static" / "css" / "print.css", ROOT / "app" / "docx_export.py",
                        ROOT / "app" / "form_render.py", *(ROOT / "templates" / "print").glob("*.html")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _make(doc: Printable, fmt: str) -> bytes:
    """Make the document's PDF or Word file now."""
    if fmt == "pdf":
        stylesheet = Path(current_app.static_folder) / "css" / "print.css"
        return current_app.extensions["pdf_press"].typeset(print_html(doc, pdf=True), str(stylesheet))
    with time_budget(IMPORT_RENDER_SECONDS):  # an edition's sections are rendered again for Word
        return to_docx(doc, doc.tables())


def document_file(doc: Printable, fmt: str) -> bytes:
    """The PDF or Word file of a document: an edition's as kept (made on first request), a draft's anew."""
    if fmt not in MIMETYPES:
        raise InvalidInput("不支持的导出格式，可选 pdf 或 docx。")
    # Word files are made in this process from our own data; only PDFs take turns on the press.
    turn = current_app.extensions["pdf_press"].turn() if fmt == "pdf" else contextlib.nullcontext()
    if doc.edition is None:
        with turn:
            return _make(doc, fmt)
    db, layout = get_db(), layout_fingerprint()
    body = kept_file(db, doc.edition, fmt, layout)
    if body is None:
        with turn:
            # Requests that waited for the turn find the file the first one made.
            body = kept_file(db, doc.edition, fmt, layout)
            if body is None:
                body = _make(doc, fmt)
                keep_file(db, doc.edition, fmt, layout, body)
    return body


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
