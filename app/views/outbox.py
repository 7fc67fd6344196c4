"""系统管理 › 邮件: the outbox (pending, sent, failed with the last error) and resending. Admins only."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import mail
from ..db import get_db
from ..permissions import NotAllowed

bp = Blueprint("outbox", __name__, url_prefix="/admin/outbox")


@bp.before_request
def _admins_only():
    """Refuse everyone but admins (a hidden link is not a permission)."""
    if not getattr(current_user, "is_admin", False):
        raise NotAllowed("只有管理员可以使用系统管理。")


@bp.get("")
def index():
    """The outbox, newest first, filtered by status, 50 a page."""
    status = request.args.get("status", "")
    page = request.args.get("page", "")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    rows, more, counts = mail.list_outbox(get_db(), status, page)
    settings = mail.settings_from(current_app.config)
    return render_template("admin/outbox.html", rows=rows, more=more, counts=counts, page=page,
                           status=status if status in mail.STATUS_LABELS else "", labels=mail.STATUS_LABELS,
                           settings=settings)


@bp.post("/<int:outbox_id>/resend")
def resend(outbox_id: int):
    """Queue a sent, failed or skipped mail again (to the recipient's current address)."""
    refused = mail.resend(get_db(), outbox_id, actor_id=current_user.id)
    flash(refused or "已重新加入发送队列。", "error" if refused else "info")
    return redirect(url_for("outbox.index", status=request.form.get("status") or None), code=303)
