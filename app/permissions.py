"""Who may see and change what. Checked in the domain on every request, not by hiding buttons."""

from .errors import NotAllowed  # noqa: F401 (callers name it here)
from .users import User

ALL_UNITS = "all"


def reader_scope(user: User) -> str | int | None:
    """Whose reports a reader may see: ALL_UNITS (admins, 监管人员), else their unit's id — None, a unit
    user without a unit (made by hand in the database), sees nothing. Reports, the home page's list,
    search and the app's cache all ask this one function."""
    return ALL_UNITS if user.sees_all_units else user.unit_id


def can_view(user: User, report: dict) -> bool:
    """Admins and 监管人员 see every report; everybody else only their own unit's."""
    scope = reader_scope(user)
    return scope == ALL_UNITS or (scope is not None and scope == report["unit_id"])


def can_edit(user: User, report: dict) -> bool:
    """Text and structure change only in a draft, by its unit's 填报人 or an admin."""
    if report["status"] != "draft":
        return False
    return user.is_admin or (user.role == "editor" and user.unit_id == report["unit_id"])


def can_create_in(user: User, unit_id: int) -> bool:
    """Admins create reports for any unit; 填报人 only for their own."""
    return user.is_admin or (user.role == "editor" and user.unit_id == unit_id)


def can_create_reports(user: User) -> bool:
    """Whether the user may make new reports at all: the new-report and import pages are for them."""
    return user.is_admin or (user.role == "editor" and user.unit_id is not None)


def require_view(user: User, report: dict) -> None:
    """Raise NotAllowed unless the user may read the report."""
    if not can_view(user, report):
        raise NotAllowed("您无权查看该报告。")


def require_edit(user: User, report: dict) -> None:
    """Raise NotAllowed unless the user may change the report now."""
    require_view(user, report)
    if not can_edit(user, report):
        if report["status"] != "draft":
            raise NotAllowed("报告已提交或定稿，不能再修改；如需修改请先退回。")
        raise NotAllowed("您的角色不能修改报告，只有本单位填报人或管理员可以修改。")


def require_summary(user: User) -> None:
    """Raise NotAllowed unless the user may see the year summary across units (admins, 监管人员)."""
    if not user.sees_all_units:
        raise NotAllowed("年度汇总只对管理员和监管人员开放。")
