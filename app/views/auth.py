"""Logging in and out."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from .. import directory, sessions
from ..db import get_db
from ..users import DirectoryDown, LoginRefused, authenticate
from .limits import client_address, retry_after, throttles

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login."""
    if not target:
        return url_for("main.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not _LOCAL_PATH.match(target):
        return url_for("main.index")
    return target


# A path on this site: browsers read "\" as "/" (so "/\evil.com" is "//evil.com", another site) and
# drop tabs and line breaks from URLs, so none of these may appear at all.
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\x00-\x1f\x7f]*\Z")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; check the credentials on POST."""
    error, status, headers = None, 200, {}
    if request.method == "POST":
        address = throttles()["login_address"]
        wait = address.retry_after(client_address())
        if wait:
            # Checked before the password: from this address nothing is tried until the wait is over.
            error, status, headers = "登录失败次数过多，请稍后再试。", 429, retry_after(wait)
        else:
            try:
                user = authenticate(get_db(), request.form.get("username", ""), request.form.get("password", ""),
                                    unknown=throttles()["login_unknown"],
                                    directory=directory.settings_from(current_app.config),
                                    method=current_app.config.get("TEST_PASSWORD_HASH"))
            except DirectoryDown as down:
                # Not the person's fault: not counted against this address either.
                error, status = str(down), 503
            except LoginRefused as refused:
                address.hit(client_address())
                error, status = str(refused), 401
            else:
                # A fresh session at login: a cookie planted before login is worth nothing after, and
                # the new session id is known to the server, which can end it (logout, timeouts).
                session.clear()
                max_age = timedelta(hours=float(current_app.config["SESSION_MAX_HOURS"]))
                session["sid"] = sessions.start(get_db(), user.id, max_age)
                login_user(user)
                session.permanent = True
                return redirect(_safe_next(request.form.get("next")), code=303)
    return render_template(
        "auth/login.html", error=error, next=request.values.get("next", ""),
        username=request.form.get("username", ""),
    ), status, headers


@bp.post("/logout")
def logout():
    """End the session, on the server too: a copy of the cookie is worth nothing afterwards."""
    sessions.end(get_db(), session.get("sid"))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), code=303)
