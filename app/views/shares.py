"""Share links: manage them on a report; open them without an account at /s/<token>."""

import re
import time

from flask import Blueprint, Flask, Response, current_app, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

from ..db import get_db, thread_db
from ..editions import latest_number, number_of
from ..printing import Printable, from_edition, from_report
from ..reports import STATUS_LABELS, InvalidInput, get_report
from ..requestlog import log_request, name_request
from ..shares import ViewCounts, create_share, list_shares, open_share, revoke_share
from ..users import User
from .headers import SHARE_PAGE_HEADERS
from .kept import kept
from .limits import client_address, retry_after, throttles
from .printing import file_response, print_html

bp = Blueprint("shares", __name__)

# The share's reader has no account: content is read as a system reader of that one report.
_READER = User(id=0, username="share", display_name="分享链接", role="admin", unit_id=None,
               unit_name=None, active=True)


def _page(report: dict, token: str | None = None, status: int = 200, error: str | None = None):
    """The share list of a report, with a newly made link shown once."""
    db = get_db()
    view_counts().flush(current_app.config["DATABASE"])  # the list shows every view so far
    return render_template(
        "shares/manage.html", report=report, shares=list_shares(db, report["id"]), token=token,
        new_url=url_for("shares.view", token=token, _external=True) if token else None, error=error,
        latest_edition=latest_number(db, report["id"]),
    ), status


@bp.get("/reports/<int:report_id>/shares")
def manage(report_id: int):
    """The report's share links: who made them, expiry, views, revoke."""
    return _page(get_report(get_db(), current_user, report_id))


@bp.post("/reports/<int:report_id>/shares")
def create(report_id: int):
    """Make a link; its URL is shown on this response only (only its hash is kept)."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    try:
        # A date, when given, wins over the preset number of days.
        expires = request.form.get("expires_date", "").strip() or request.form.get("expires", "")
        token = create_share(db, report, current_user, expires,
                             request.form.get("note", ""), current_app.config["TIMEZONE"],
                             draft=request.form.get("draft") == "1")
    except InvalidInput as error:
        return _page(report, status=422, error=str(error))
    return _page(report, token=token)


@bp.post("/reports/<int:report_id>/shares/<int:share_id>/revoke")
def revoke(report_id: int, share_id: int):
    """Revoke a link."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    revoke_share(db, report, current_user, share_id)
    return _page(report)


class ShareNotFound(Exception):
    """Malformed, unknown, revoked or expired: all answered alike."""


def not_found_page():
    """The one plain 404 page of /s/: it tells nothing about why. Guessing is limited per address:
    past SHARE_MISSES_PER_ADDRESS misses in a minute, every /s/ link answers 429 until the minute is over."""
    limit, address = throttles()["share_address"], client_address()
    wait = limit.retry_after(address)
    if wait:
        return render_template("shares/not_found.html", busy=True), 429, retry_after(wait)
    limit.hit(address)
    return render_template("shares/not_found.html", busy=False), 404


def _shared(token: str) -> tuple[dict, Printable]:
    """What a token shows: its frozen edition, or the live draft marked 草稿; ShareNotFound otherwise."""
    share = _open(token)
    return share, _document(share)


def _document(share: dict) -> Printable:
    """The share's frozen edition, or the live draft marked 草稿."""
    db = get_db()
    report = get_report(db, _READER, share["report_id"])
    if share["edition_id"] is None:
        # A draft share: the report as it stands, which since its approval is its latest edition.
        doc = from_report(db, report)
        if doc.edition is None:
            doc.mark = doc.mark or "草稿"
    else:
        doc = from_edition(db, report, number_of(db, share["edition_id"]))
    return doc


def _open(token: str) -> dict:
    """The live share of a token (one indexed read), or ShareNotFound."""
    if throttles()["share_address"].retry_after(client_address()):
        raise ShareNotFound  # answered 429: while an address is held back, good links wait too
    share = open_share(get_db(), token)
    if share is None:
        raise ShareNotFound
    return share


@bp.get("/s/<token>")
def view(token: str):
    """The shared report, read-only, without an account: an edition's page is made once and kept as bytes."""
    share = _open(token)
    view_counts().add(current_app.config["DATABASE"], share["id"])
    if share["edition_id"] is None:  # a draft changes: made for each view
        return render_template("shares/view.html", doc=_document(share), token=token, STATUS_LABELS=STATUS_LABELS)
    # The page names its own token in its links, so it is kept per link; an edition never changes.
    body = kept().get(get_db(), ("share page", share["id"]), lambda: render_template(
        "shares/view.html", doc=_document(share), token=token, STATUS_LABELS=STATUS_LABELS).encode(),
        changes=False)
    return Response(body, mimetype="text/html")


@bp.get("/s/<token>/print")
def print_page(token: str):
    """The shared report laid out for A4."""
    _, doc = _shared(token)
    return print_html(doc, public=True, back_links=[("返回", url_for("shares.view", token=token))],
                      downloads=[("下载 PDF", url_for("shares.pdf", token=token))])


@bp.get("/s/<token>/export.pdf")
def pdf(token: str):
    """The shared report as PDF."""
    _, doc = _shared(token)
    return file_response(doc, "pdf", "report")


class _NoSessionOnSharePages(SecureCookieSessionInterface):
    """Share pages have no session: none is read from the cookie, none is written (no Set-Cookie)."""

    def open_session(self, app, request):
        if request.path.startswith("/s/"):
            return self.null_session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if session.__class__ is self.null_session_class:
            return None
        return super().save_session(app, session, response)


_PAGE_PATH = re.compile(r"/s/([A-Za-z0-9_-]+)")


class KeptSharePages:
    """WSGI, in front of Flask: a shared edition's page that view() has made once, answered from memory.

    An edition never changes, so its page is bytes: this answers with them after one indexed read (is the link
    still live?) and counts the view, with no Flask request, session or user. Everything else (a draft share, a
    page not made yet, an unknown or held-back link, any failure) goes on to Flask, which answers as always.
    """

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        found = None
        if environ.get("REQUEST_METHOD") == "GET":
            match = _PAGE_PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match:
                try:
                    found = self._kept_page(environ, match.group(1))
                except Exception:  # noqa: BLE001 (Flask's path answers and logs whatever went wrong)
                    found = None
        if found is None:
            return self.wsgi_app(environ, start_response)
        share_id, body = found
        self.app.extensions["share_views"].add(self.app.config["DATABASE"], share_id)
        request_id = name_request(environ.get("HTTP_X_REQUEST_ID", ""), bool(self.app.config["PROXY_FIX"]))
        size = str(len(body))
        # What response_headers() and requestlog give view()'s answer (tests/test_shares.py compares them).
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", size),
                                  *SHARE_PAGE_HEADERS, ("Vary", "HX-Request"), ("X-Request-ID", request_id)])
        log_request(request_id, "GET", environ["PATH_INFO"], 200, (time.perf_counter() - started) * 1000, "-",
                    environ.get("REMOTE_ADDR"), size)
        return [body]

    def _kept_page(self, environ, token: str) -> tuple[int, bytes] | None:
        """(share id, page) of a live link to an edition whose page is kept; None for anything else."""
        extensions, database = self.app.extensions, self.app.config["DATABASE"]
        if extensions["jixiao.throttles"]["share_address"].retry_after(environ.get("REMOTE_ADDR") or "-"):
            return None
        share = open_share(thread_db(database), token)
        if share is None or share["edition_id"] is None:
            return None
        body = extensions["kept"].unchanging(database, environ.get("SCRIPT_NAME", "").rstrip("/"),
                                             ("share page", share["id"]))
        return None if body is None else (share["id"], body)


def install(app: Flask) -> None:
    """The share pages' view counter and their session handling."""
    app.extensions["share_views"] = ViewCounts(float(app.config["SHARE_VIEWS_SECONDS"]))
    app.session_interface = _NoSessionOnSharePages()


def view_counts() -> ViewCounts:
    """This app's share view counter."""
    return current_app.extensions["share_views"]
