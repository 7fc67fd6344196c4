"""通知: the bell in the header, the list page, marking read, and one's own mail setting."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import notifications as notes
from ..db import get_db
from ..reports import NotFound
from ..users import get_account, set_mail_enabled

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
DEFAULT_BELL_SECONDS = 30


@bp.app_context_processor
def _bell_context() -> dict:
    """What _bell.html needs: a count asked for only when a page shows the bell, and how often to refresh it."""
    return {"unread_notifications": lambda: notes.unread_count(get_db(), current_user.id),
            "bell_seconds": float(current_app.config.get("BELL_SECONDS") or DEFAULT_BELL_SECONDS)}


def _page() -> int:
    """The page number asked for (1 for anything else)."""
    value = request.args.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) < 100_000 else 1


@bp.get("")
def index():
    """The user's notifications, newest first, with mark-read controls and the mail setting."""
    db = get_db()
    page = _page()
    rows, more = notes.list_for(db, current_user.id, page)
    account = get_account(db, current_user.id)
    return render_template("notifications/index.html", rows=rows, more=more, page=page,
                           email=account["email"], mail_enabled=bool(account["mail_enabled"]),
                           unread=notes.unread_count(db, current_user.id))


@bp.get("/bell")
def bell():
    """The bell alone, for htmx to refresh the unread count without reloading the page."""
    return render_template("_bell.html")


@bp.get("/<int:notification_id>")
def open_notification(notification_id: int):
    """Mark one notification read and go to the place it is about."""
    link = notes.open_one(get_db(), current_user.id, notification_id)
    if link is None:
        raise NotFound("该通知不存在或已被清除。")
    return redirect(request.script_root + link, code=303)


@bp.post("/<int:notification_id>/read")
def mark_read(notification_id: int):
    """Mark one notification read without opening it."""
    if notes.open_one(get_db(), current_user.id, notification_id) is None:
        raise NotFound("该通知不存在或已被清除。")
    return redirect(url_for("notifications.index", page=request.form.get("page") or None), code=303)


@bp.post("/read-all")
def mark_all_read():
    """Mark every notification of the user read."""
    count = notes.mark_all_read(get_db(), current_user.id)
    flash(f"已将 {count} 条通知标为已读。" if count else "没有未读通知。", "info")
    return redirect(url_for("notifications.index"), code=303)


@bp.post("/mail")
def mail_setting():
    """Turn notification mail off or on for oneself."""
    enabled = request.form.get("enabled") == "1"
    set_mail_enabled(get_db(), current_user.id, enabled)
    flash("已开启邮件提醒。" if enabled else "已关闭邮件提醒：通知只在网站中显示。", "info")
    return redirect(url_for("notifications.index"), code=303)
