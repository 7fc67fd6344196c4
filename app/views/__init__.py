"""Blueprints and the request plumbing they share: body checks, errors, headers, login."""

from datetime import timedelta
from urllib.parse import unquote_to_bytes, urlsplit

from flask import Flask, current_app, flash, g, make_response, redirect, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .. import clock
from ..db import close_db, get_db
from ..extensions import login_manager
from ..form_model import FormInputError
from ..permissions import NotAllowed, can_create_reports
from ..printing import NoCJKFont, PdfUnavailable
from ..reports import STATUS_LABELS, InvalidInput, NotFound
from ..sandbox import Busy
from ..sections import TooLarge
from ..typeset import tighten_html
from ..users import ROLES, session_user
from ..workflow import InvalidTransition
from . import kept, limits, shares
from .errors import error_response
from .fragments import unit_options
from .headers import response_headers

_HTTP_MESSAGES = {
    400: "请求无法处理，请刷新页面后重试。",
    403: "您无权进行此操作。",
    404: "页面不存在，或内容已被删除。",
    405: "不支持的请求方式。",
    413: "提交的内容过大：每个部分不超过 200 KB，上传文件不超过 3 MB。",
    500: "服务器内部错误，您的操作可能未完成。请稍后重试；如果反复出现，请联系管理员。",
}


def _pdf_unavailable(error: PdfUnavailable):
    """503; when the press was only busy, with the seconds after which to try again."""
    response = make_response(error_response(503, str(error)))
    if error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _busy(error: Busy):
    """429: the server is reading other uploaded files; upload again after Retry-After seconds."""
    response = make_response(error_response(
        429, f"服务器正在读取其他上传的文件，请 {error.retry_after} 秒后重新上传。未导入任何内容。"))
    response.headers["Retry-After"] = str(error.retry_after)
    return response


_BAD_UTF8 = "提交的内容不是有效的 UTF-8 文本，未作任何修改。请检查输入法或复制来源后重试。"
# Fields that a form sends more than once on purpose (the sections and form rows a return names).
_REPEATABLE = {"section_ids", "form_rows"}


def _reject_bad_form_bytes():
    """400 for a form body with invalid UTF-8 or a field sent twice, before anything parses it.

    Control characters (NUL among them) are not refused: every field arrives cleaned (cleantext.py)."""
    # Werkzeug would quietly drop such fields, and an empty save would wipe a section.
    if request.method != "POST":
        return None
    if request.mimetype == "application/x-www-form-urlencoded":
        raw = request.get_data(cache=True)
        for pair in raw.split(b"&"):
            value = unquote_to_bytes(pair.replace(b"+", b" "))
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                return error_response(400, _BAD_UTF8)
    elif request.mimetype == "multipart/form-data":
        # Werkzeug decodes the text fields of a multipart body with replacement characters: one that
        # the body did not carry as such came from bytes that were not UTF-8.
        literal = b"\xef\xbf\xbd" in request.get_data(cache=True)
        for _, value in request.form.items(multi=True):
            if "\ufffd" in value and not literal:
                return error_response(400, _BAD_UTF8)
    else:
        return None
    # Which of two values would count is a guess no view should make (version=1&version=9).
    for name in request.form:
        if name not in _REPEATABLE and len(request.form.getlist(name)) > 1:
            return error_response(400, f"提交的内容中字段“{name[:30]}”出现了不止一次，未作任何修改。请刷新页面后重试。")
    return None


_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_WEB_SCHEMES = {"http", "https"}


def _host_name(netloc: str) -> str:
    """The host name of a host[:port] (IPv6 in brackets kept), lower-cased."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc.split("]", 1)[0] + "]"
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def _reject_cross_site():
    """403 for a state-changing request whose Origin (or, without one, Referer) is another site.

    A second line behind the CSRF token. The host name is compared, not scheme or port: a proxy in
    front (PROXY_FIX) may not pass the outside port on, and another site is what this keeps out.
    """
    if request.method not in _UNSAFE_METHODS:
        return None
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source is None:
        return None  # not sent by a browser (or one that hides both); the CSRF token still decides
    parts = urlsplit(source) if source != "null" else None
    if parts is not None and parts.scheme in _WEB_SCHEMES and parts.netloc \
            and _host_name(parts.netloc) == _host_name(request.host):
        return None
    return error_response(403, "请求来自其他网站（来源校验失败），未作任何修改。请在本系统的页面中操作。")


_PUBLIC_ENDPOINTS = {"auth.login", "main.healthz", "static", "shares.view", "shares.print_page",
                     "shares.pdf"}


def _require_login():
    """Everything but the login page, the health check and static files needs a login to an active account."""
    # Unmatched URLs answer 404 as they are (a /s/ link must look the same however it fails).
    if request.endpoint in _PUBLIC_ENDPOINTS or request.routing_exception is not None:
        return None
    if current_user.is_authenticated:
        if current_user.is_active:
            return None
        # Deactivated since logging in (the user loader rereads the account on every request).
        logout_user()
        session.clear()
        flash("该账号已停用，请联系管理员。", "error")
    elif g.get("session_ended"):
        # The cookie named a session that was logged out, timed out or ended by the administrator.
        session.clear()
        flash(_SESSION_ENDED.get(g.session_ended, _SESSION_ENDED["ended"]), "error")
    login_url = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.htmx:
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


_SESSION_ENDED = {
    "idle": "长时间未操作，登录已超时，请重新登录。",
    "expired": "登录时间已到上限，请重新登录。",
    "ended": "登录已失效（已退出或密码已重置），请重新登录。",
    "inactive": "该账号已停用，请联系管理员。",
}


def _check_request():
    """Refuse a request before its view: unreadable form bytes, another site's POST, no login; in that order."""
    # One hook for the three: Flask pays for each hook it calls, on every request.
    for check in (_reject_bad_form_bytes, _reject_cross_site, _require_login):
        answer = check()
        if answer is not None:
            return answer
    return None


def _load_user(user_id: str):
    """The session's user, if its server-side session is still open, not idle too long and not too old."""
    db = get_db()
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        return None
    config = current_app.config
    # The bell refreshing itself is not someone at work: it must not keep an idle session alive.
    user, why, seen = session_user(db, session.get("sid"), uid,
                                   timedelta(minutes=float(config["SESSION_IDLE_MINUTES"])),
                                   timedelta(hours=float(config["SESSION_MAX_HOURS"])),
                                   touch=request.endpoint != "notifications.bell")
    if why:
        # Deactivation ends the sessions too; say which it was.
        g.session_ended = "inactive" if user is not None and not user.active else why
        return None
    kept.seen_generation(db, seen)  # only a session that goes on: ending one is a write
    return user


def _handle_http(error: HTTPException):
    """Werkzeug's errors, in Chinese."""
    if request.path.startswith("/s/") and error.code == 404:
        return shares.not_found_page()
    return error_response(error.code or 500, _HTTP_MESSAGES.get(error.code, error.description))


class BoundedInt(IntegerConverter):
    """<int:…> in URLs, but only numbers SQLite can hold: a longer id is a 404, not a server error."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def install(app: Flask) -> None:
    """Register hooks, error handlers, template helpers and blueprints on the app."""
    from . import (
        activity,
        admin,
        auth,
        cloning,
        editing,
        form,
        main,
        notify,
        outbox,
        printing,
        reports,
        sections,
        sheets,
        summary,
        workflow,
    )

    app.before_request(_check_request)
    app.after_request(response_headers)
    app.teardown_appcontext(close_db)

    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(
        CSRFError, lambda e: error_response(400, "页面已过期或来源不明（CSRF 校验失败），请刷新页面后重试。")
    )
    app.register_error_handler(NotAllowed, lambda e: error_response(403, str(e)))
    app.register_error_handler(NotFound, lambda e: error_response(404, str(e)))
    app.register_error_handler(InvalidInput, lambda e: error_response(422, str(e)))
    app.register_error_handler(InvalidTransition, lambda e: error_response(409, str(e)))
    app.register_error_handler(FormInputError, lambda e: error_response(422, str(e)))
    app.register_error_handler(TooLarge, lambda e: error_response(413, str(e)))
    app.register_error_handler(NoCJKFont, lambda e: error_response(503, str(e)))
    app.register_error_handler(PdfUnavailable, _pdf_unavailable)
    app.register_error_handler(Busy, _busy)
    # A number too large for SQLite or a date past year 9999, from any form field: the transaction is
    # rolled back as for any error; the person gets a message instead of a server error.
    app.register_error_handler(OverflowError, lambda e: error_response(
        422, "输入的数字或日期超出允许的范围，未作任何修改。请检查后重试。"))
    app.register_error_handler(shares.ShareNotFound, lambda e: shares.not_found_page())

    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.user_loader(_load_user)
    limits.install(app)
    kept.install(app)
    shares.install(app)

    zone = app.config["TIMEZONE"]
    app.jinja_env.filters["localtime"] = lambda stamp: clock.local(stamp, zone)
    app.jinja_env.filters["cjk_tight"] = tighten_html  # print page and PDF only (#19)
    app.jinja_env.globals.update(STATUS_LABELS=STATUS_LABELS, ROLES=ROLES, unit_options=unit_options,
                                 can_create_reports=can_create_reports)

    app.url_map.converters["int"] = BoundedInt  # before the blueprints' rules are built
    for blueprint in (auth.bp, main.bp, reports.bp, sections.bp, workflow.bp, admin.bp, activity.bp,
                      printing.bp, shares.bp, form.bp, cloning.bp, notify.bp, outbox.bp, editing.bp, summary.bp,
                      sheets.bp):
        app.register_blueprint(blueprint)
