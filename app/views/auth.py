"""Logging in and out."""

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user

from .. import get_db
from ..users import LoginRefused, authenticate

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login."""
    if not target:
        return url_for("main.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("main.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; check the credentials on POST."""
    error = None
    if request.method == "POST":
        try:
            user = authenticate(get_db(), request.form.get("username", ""),
                                request.form.get("password", ""))
        except LoginRefused as refused:
            error = str(refused)
        else:
            # A fresh session at login: a cookie planted before login is worth nothing after.
            session.clear()
            login_user(user)
            session.permanent = True
            return redirect(_safe_next(request.form.get("next")), code=303)
    return render_template(
        "auth/login.html", error=error, next=request.values.get("next", ""),
        username=request.form.get("username", ""),
    ), (401 if error else 200)


@bp.post("/logout")
def logout():
    """End the session."""
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), code=303)
