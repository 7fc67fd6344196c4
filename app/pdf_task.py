"""The PDF worker's task (run by app/worker_main.py, never in a server thread): WeasyPrint over a print page.

A module of its own, so that a PDF worker loads WeasyPrint and nothing of the server: every export starts a
fresh worker, and its imports count against the export's time.
"""

import json
import struct

from weasyprint import CSS, HTML


def typeset_task(payload: bytes) -> bytes:
    """Worker side of PdfPress.typeset: WeasyPrint over the print page's HTML and stylesheet."""
    size = struct.unpack(">I", payload[:4])[0]
    stylesheet = json.loads(payload[4:4 + size])["stylesheet"]
    html = payload[4 + size:].decode("utf-8")
    return HTML(string=html, url_fetcher=_no_fetching()).write_pdf(stylesheets=[CSS(filename=stylesheet)])


def _no_fetching():
    """A WeasyPrint URL fetcher that fetches nothing.

    A picture in a section's Markdown (![](http://10.0.0.1/admin)) would otherwise make the server
    request any address it can reach whenever someone, even a share link's reader, downloads the PDF.
    The print page needs no resource but the stylesheet, which is passed in as a file.
    """
    try:
        from weasyprint.urls import URLFetcher  # WeasyPrint 68 and later: a class
    except ImportError:  # pragma: no cover (older WeasyPrint: any function is a fetcher)
        return refuse_fetch
    return URLFetcher(allowed_protocols=())


def refuse_fetch(url: str, *args, **kwargs):
    """The fetcher of older WeasyPrint versions: refuse every URL."""
    raise ValueError(f"PDF 中不载入外部资源：{url[:100]}")
