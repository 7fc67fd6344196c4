"""Blueprints and the request plumbing they share: body checks, errors, headers, login."""

from urllib.parse import unquote_to_bytes

from flask import Flask, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .. import clock, close_db, get_db, login_manager
from ..form_model import FormInputError
from ..permissions import NotAllowed
from ..printing import NoCJKFont
from ..reports import STATUS_LABELS, InvalidInput, NotFound
from ..sections import TooLarge
from ..users import ROLES, get_user
from ..workflow import InvalidTransition
from . import shares

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_HTTP_MESSAGES = {
    400: "请求无法处理，请刷新页面后重试。",
    403: "您无权进行此操作。",
    404: "页面不存在，或内容已被删除。",
    405: "不支持的请求方式。",
    413: "提交的内容过大：每个部分不超过 200 KB，上传文件不超过 3 MB。",
    500: "服务器内部错误，您的操作可能未完成。请稍后重试；如果反复出现，请联系管理员。",
}


def error_response(status: int, message: str):
    """A Chinese error message: into the page's message area for htmx, else as a page."""
    if request.headers.get("HX-Request") == "true":
        # A server fault carries the request id, to find it in the log; a refusal speaks for itself.
        request_id = g.get("request_id") if status >= 500 else None
        body = render_template("_message.html", message=message, level="error", request_id=request_id)
        return body, status, {"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"}
    return render_template("error.html", message=message, status=status), status


def _reject_bad_form_bytes():
    """400 for a url-encoded body with invalid UTF-8 or NUL, before anything parses it."""
    # Werkzeug would quietly drop such fields, and an empty save would wipe a section.
    if request.method != "POST" or request.mimetype != "application/x-www-form-urlencoded":
        return None
    raw = request.get_data(cache=True)
    for pair in raw.split(b"&"):
        value = unquote_to_bytes(pair.replace(b"+", b" "))
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return error_response(400, "提交的内容不是有效的 UTF-8 文本，未作任何修改。请检查输入法或复制来源后重试。")
        if "\x00" in text:
            return error_response(400, "提交的内容含有非法的空字符（NUL），未作任何修改。")
    return None


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
    login_url = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request") == "true":
        return "", 401, {"HX-Redirect": login_url}
    return redirect(login_url)


def _security_headers(response):
    """Headers every response carries, errors included."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
        response.vary.add("HX-Request")
    return response


def _handle_http(error: HTTPException):
    """Werkzeug's errors, in Chinese."""
    if request.path.startswith("/s/") and error.code == 404:
        return shares.not_found_page()
    return error_response(error.code or 500, _HTTP_MESSAGES.get(error.code, error.description))


def install(app: Flask) -> None:
    """Register hooks, error handlers, template helpers and blueprints on the app."""
    from . import activity, admin, auth, cloning, form, main, printing, reports, sections, workflow

    app.before_request(_reject_bad_form_bytes)
    app.before_request(_require_login)
    app.after_request(_security_headers)
    app.after_request(shares.share_headers)
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
    app.register_error_handler(shares.ShareNotFound, lambda e: shares.not_found_page())

    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.user_loader(lambda user_id: get_user(get_db(), int(user_id)))

    zone = app.config["TIMEZONE"]
    app.jinja_env.filters["localtime"] = lambda stamp: clock.local(stamp, zone)
    app.jinja_env.globals.update(STATUS_LABELS=STATUS_LABELS, ROLES=ROLES)

    for blueprint in (auth.bp, main.bp, reports.bp, sections.bp, workflow.bp, admin.bp, activity.bp,
                      printing.bp, shares.bp, form.bp, cloning.bp):
        app.register_blueprint(blueprint)
