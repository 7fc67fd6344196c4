"""The print page's HTML and the PDF and Word files made from it: needs the app (its templates and its
PDF press), so it is neither a view nor a domain module; the blueprints and the CLI both call it.

An edition never changes, so its files are made once and kept (editions.keep_file); a draft's are made
on each request. PDFs are typeset by the app's PdfPress in a sandboxed worker, PDF_WORKERS at a time.
"""

import contextlib
import functools
import hashlib
from importlib.metadata import version
from pathlib import Path

from flask import current_app, render_template

from . import clock
from .bootstrap import ROOT
from .db import get_db
from .editions import keep_file, kept_file
from .printing import Printable
from .render import time_budget
from .reports import IMPORT_RENDER_SECONDS, InvalidInput

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
    # python-docx takes a twentieth of a second to load: when a Word file is made, not at every start.
    from .docx_export import to_docx

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
