"""系统管理: accounts, units and the audit log. Admins only, checked on every request."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import audit
from .. import users as accounts
from ..db import get_db
from ..permissions import NotAllowed
from ..printing import content_disposition
from ..reports import NotFound
from .errors import error_response

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only():
    """Refuse everyone but admins, whatever the route (a hidden link is not a permission)."""
    if not getattr(current_user, "is_admin", False):
        raise NotAllowed("只有管理员可以使用系统管理。")


def _unit_id() -> int | None:
    """The unit chosen in a form; None for "no unit"."""
    value = request.form.get("unit_id", "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise accounts.UserError("请从列表中选择单位。") from None


def _parent_id() -> int | None:
    """The 上级单位 chosen in a unit form; None for none."""
    value = request.form.get("parent_id", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise accounts.UserError("请从列表中选择上级单位。")
    return int(value)


def _account_or_404(db, user_id: int) -> dict:
    """The account, or a 404 page."""
    account = accounts.get_account(db, user_id)
    if account is None:
        raise NotFound("该账号不存在。")
    return account


@bp.get("")
def index():
    """The administration starts at the account list."""
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users():
    """Every account: name, role, unit, whether active, last login."""
    return render_template("admin/users.html", users=accounts.list_users(get_db()))


def _new_user_page(error: str | None = None, form=None, status: int = 200):
    """The form for a new account, with the error of a refused attempt."""
    return render_template("admin/user_new.html", error=error, form=form or {}, roles=accounts.ROLES,
                           units=accounts.list_units(get_db()),
                           ldap_on=bool(current_app.config.get("LDAP_URL"))), status


@bp.get("/users/new")
def new_user():
    """The form for a new account."""
    return _new_user_page()


@bp.post("/users")
def create_user():
    """Create an account; a generated password is shown on this response only."""
    db = get_db()
    directory = request.form.get("directory") == "1"
    password = "" if directory else request.form.get("password", "")
    generated = not password and not directory
    if generated:
        password = accounts.generate_password()
    try:
        user_id = accounts.create_user(
            db, request.form.get("username", ""), request.form.get("role", ""), password,
            display_name=request.form.get("display_name", "").strip() or None, unit_id=_unit_id(),
            actor_id=current_user.id, email=request.form.get("email", ""), directory=directory,
            method=current_app.config.get("TEST_PASSWORD_HASH"),
        )
    except accounts.UserError as error:
        return _new_user_page(str(error), request.form, 422)
    account = accounts.get_account(db, user_id)
    if generated:
        # Rendered, not redirected: the password must not wait in the session cookie for the next page.
        return render_template("admin/password.html", account=account, password=password, created=True)
    flash(f"已创建账号 {account['username']}（{account['role_label']}）。", "info")
    return redirect(url_for("admin.user", user_id=user_id), code=303)


def _user_page(db, user_id: int, error: str | None = None, status: int = 200):
    """An account's page: details, role and unit, password reset, deactivation."""
    return render_template("admin/user.html", account=_account_or_404(db, user_id), error=error,
                           roles=accounts.ROLES, units=accounts.list_units(db),
                           ldap_on=bool(current_app.config.get("LDAP_URL"))), status


@bp.get("/users/<int:user_id>")
def user(user_id: int):
    """One account with the forms that change it."""
    return _user_page(get_db(), user_id)


@bp.post("/users/<int:user_id>/role")
def change_role(user_id: int):
    """Change an account's role and unit; the user has the new rights on their next request."""
    db = get_db()
    _account_or_404(db, user_id)
    try:
        changed = accounts.change_role(db, user_id, request.form.get("role", ""), _unit_id(),
                                       actor_id=current_user.id)
    except accounts.UserError as error:
        return _user_page(db, user_id, str(error), 422)
    flash("角色和单位已更新，该用户下次操作时生效。" if changed else "角色和单位没有变化。", "info")
    return redirect(url_for("admin.user", user_id=user_id), code=303)


@bp.post("/users/<int:user_id>/contact")
def change_contact(user_id: int):
    """Set the account's e-mail address, whether it gets notification mail, and whether it is a directory account."""
    db = get_db()
    _account_or_404(db, user_id)
    try:
        changed = accounts.set_contact(db, user_id, request.form.get("email", ""),
                                       request.form.get("mail_enabled") == "1", request.form.get("directory") == "1",
                                       actor_id=current_user.id)
    except accounts.UserError as error:
        return _user_page(db, user_id, str(error), 422)
    flash("电子邮件和登录方式已保存。" if changed else "没有变化。", "info")
    return redirect(url_for("admin.user", user_id=user_id), code=303)


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int):
    """Set a typed password, or generate one and show it on this response only."""
    db = get_db()
    account = _account_or_404(db, user_id)
    password = request.form.get("password", "")
    generated = not password
    if generated:
        password = accounts.generate_password()
    try:
        accounts.reset_password(db, user_id, password, actor_id=current_user.id,
                                method=current_app.config.get("TEST_PASSWORD_HASH"))
    except accounts.UserError as error:
        return _user_page(db, user_id, str(error), 422)
    if generated:
        return render_template("admin/password.html", account=account, password=password, created=False)
    flash(f"已为 {account['username']} 设置新密码，登录锁定（如有）已解除。", "info")
    return redirect(url_for("admin.user", user_id=user_id), code=303)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    """Deactivate an account: it cannot log in, and an open session ends on its next request."""
    return _set_active(user_id, False, "已停用该账号；该用户已登录的会话在下次操作时结束。")


@bp.post("/users/<int:user_id>/activate")
def activate(user_id: int):
    """Let a deactivated account log in again."""
    return _set_active(user_id, True, "已重新启用该账号。")


def _set_active(user_id: int, active: bool, done: str):
    """Deactivate or reactivate, then back to the account page."""
    db = get_db()
    _account_or_404(db, user_id)
    try:
        accounts.set_active(db, user_id, active, actor_id=current_user.id)
    except accounts.UserError as error:
        return _user_page(db, user_id, str(error), 422)
    flash(done, "info")
    return redirect(url_for("admin.user", user_id=user_id), code=303)


@bp.get("/units")
def units():
    """Every budget unit, with a form for a new one."""
    return render_template("admin/units.html", units=accounts.list_units(get_db()), error=None, form={})


@bp.post("/units")
def create_unit():
    """Create a budget unit."""
    db = get_db()
    try:
        accounts.create_unit(db, request.form.get("name", ""), request.form.get("code", ""),
                             actor_id=current_user.id, parent_id=_parent_id())
    except accounts.UserError as error:
        return render_template("admin/units.html", units=accounts.list_units(db), error=str(error),
                               form=request.form), 422
    flash(f"已新建单位“{' '.join(request.form['name'].split())}”。", "info")
    return redirect(url_for("admin.units"), code=303)


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
def unit(unit_id: int):
    """Rename a unit or change its 预算编码."""
    db = get_db()
    row = accounts.get_unit(db, unit_id)
    if row is None:
        raise NotFound("该单位不存在。")
    if request.method == "POST":
        try:
            accounts.update_unit(db, unit_id, request.form.get("name", ""), request.form.get("code", ""),
                                 actor_id=current_user.id, parent_id=_parent_id())
        except accounts.UserError as error:
            return render_template("admin/unit.html", unit=row, error=str(error), form=request.form,
                                   units=accounts.list_units(db)), 422
        flash("单位信息已保存。", "info")
        return redirect(url_for("admin.units"), code=303)
    return render_template("admin/unit.html", unit=row, error=None, form=row, units=accounts.list_units(db))


@bp.get("/audit")
def audit_log():
    """The whole audit log, filtered by action, user, report and date, 50 rows a page."""
    db = get_db()
    error, result, flt = None, None, None
    try:
        flt = audit.parse_filter(request.args)
    except audit.FilterError as refused:
        error = str(refused)
    else:
        result = audit.search(db, flt, current_app.config["TIMEZONE"], audit.page_number(request.args.get("page", "")))
    return render_template(
        "admin/audit.html", result=result, flt=flt, error=error, form=request.args,
        actions=audit.actions_in_use(db), users=accounts.list_users(db),
    ), (422 if error else 200)


@bp.get("/audit.csv")
def audit_csv():
    """The filtered audit log as a CSV file that Excel opens with Chinese intact."""
    try:
        flt = audit.parse_filter(request.args)
    except audit.FilterError as refused:
        return error_response(422, str(refused))
    zone = current_app.config["TIMEZONE"]
    body = audit.to_csv(get_db(), flt, zone)
    response = Response(body, mimetype="text/csv; charset=utf-8")
    today = datetime.now(ZoneInfo(zone))
    response.headers["Content-Disposition"] = content_disposition(f"审计日志-{today:%Y%m%d}.csv",
                                                                  f"audit-log-{today:%Y%m%d}.csv")
    return response
