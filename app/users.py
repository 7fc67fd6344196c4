"""Accounts: roles, password hashing, login with throttling. No Flask here."""

import functools
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, clock, sessions
from . import directory as ldap
from .cleantext import clean
from .db import Packed, all_rows, one, transaction
from .labels import ROLES  # noqa: F401 (callers name it here)
from .throttle import Throttle

# Roles that read every unit's reports; they need not belong to a unit (the finance bureau oversees all).
ACROSS_UNITS = {"admin", "supervisor"}
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
MAX_CODE_LENGTH = 30


class UserError(ValueError):
    """A user could not be created or changed; the message says why, in Chinese."""


class LoginRefused(Exception):
    """A login attempt failed; the message is safe to show."""


class DirectoryDown(LoginRefused):
    """The directory could not be asked; nothing was counted against the account or the address."""


@dataclass(frozen=True)
class User:
    """A logged-in person, in the shape flask-login expects."""

    id: int
    username: str
    display_name: str
    role: str
    unit_id: int | None
    unit_name: str | None
    active: bool

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        """Deactivated accounts cannot log in or keep a session."""
        return self.active

    @property
    def is_admin(self) -> bool:
        """Admins act across all units."""
        return self.role == "admin"

    @property
    def sees_all_units(self) -> bool:
        """Admins and 监管人员 read every unit's reports."""
        return self.role in ACROSS_UNITS

    @property
    def role_label(self) -> str:
        """The role as the office names it."""
        return ROLES.get(self.role, self.role)

    def get_id(self) -> str:
        """The id flask-login keeps in the session."""
        return str(self.id)


_USER_SQL = (
    "SELECT users.*, units.name AS unit_name FROM users"
    " LEFT JOIN units ON units.id = users.unit_id WHERE "
)


def _to_user(row: dict | None) -> User | None:
    """A users row as a User."""
    if row is None:
        return None
    return User(
        id=row["id"], username=row["username"], display_name=row["display_name"],
        role=row["role"], unit_id=row["unit_id"], unit_name=row["unit_name"],
        active=bool(row["active"]),
    )


def get_user(db: sqlite_utils.Database, user_id: int) -> User | None:
    """The user with this id, or None."""
    return _to_user(one(db, _USER_SQL + "users.id = ?", (user_id,)))


# Only what a User is made of (_to_user) and what sessions.verdict reads, in one value (db.Packed): every signed-in
# request reads this row.
_SESSION_USER = Packed({
    "id": "users.id", "username": "users.username", "display_name": "users.display_name", "role": "users.role",
    "unit_id": "users.unit_id", "active": "users.active", "unit_name": "units.name", "session_id": "sessions.id",
    "session_user_id": "sessions.user_id", "session_created_at": "sessions.created_at",
    "session_last_seen_at": "sessions.last_seen_at", "session_ended_at": "sessions.ended_at",
    "generation": "(SELECT number FROM generation)",
}, "FROM users LEFT JOIN units ON units.id = users.unit_id LEFT JOIN sessions ON sessions.id = ? WHERE users.id = ?")


def session_user(db: sqlite_utils.Database, token: str | None, user_id: int, idle: timedelta, max_age: timedelta,
                 touch: bool = True) -> tuple[User | None, str, int | None]:
    """The user with this id; "" when the cookie's session may go on, else why not (sessions.verdict); and the
    database's generation as this read saw it (None without the user), which keys what the request finds kept.

    One read for all three: every signed-in request asks, and under load each statement costs a hand-over of
    the interpreter lock between the server's threads."""
    key = sessions.token_hash(token) if token and isinstance(token, str) else ""
    row = _SESSION_USER.one(db, (key, user_id))
    why = sessions.verdict(db, token, row, user_id, idle, max_age, touch)
    return _to_user(row), why, row["generation"] if row else None


def generate_password() -> str:
    """A random password that is easy to read out and type."""
    return secrets.token_urlsafe(12)


def get_or_create_unit(db: sqlite_utils.Database, name: str) -> int:
    """The id of the unit with this name, created if new."""
    name = _clean_unit_name(name)
    with transaction(db):
        row = one(db, "SELECT id FROM units WHERE name = ?", (name,))
        if row:
            return row["id"]
        return db.execute(
            "INSERT INTO units (name, created_at) VALUES (?, ?)", (name, clock.now())
        ).lastrowid


def create_user(
    db: sqlite_utils.Database,
    username: str,
    role: str,
    password: str,
    display_name: str | None = None,
    unit_id: int | None = None,
    actor_id: int | None = None,
    email: str | None = None,
    directory: bool = False,
    method: str | None = None,
) -> int:
    """Create an account (a directory account has no password here); raises UserError in Chinese on bad input."""
    username = username.strip()
    if not username or len(username) > 50 or any(ch.isspace() for ch in username):
        raise UserError("用户名不能为空、不能含空格，且不超过50个字符。")
    if role not in ROLES:
        raise UserError(f"角色“{role}”无效，可选：{'、'.join(ROLES)}。")
    if not directory:
        check_password(password)
    email = clean_email(email or "")
    display_name = _clean_display_name(display_name or username)
    if role not in ACROSS_UNITS and unit_id is None:
        raise UserError("除管理员和监管人员外，每个账号都须属于一个单位。")
    with transaction(db):
        _check_unit(db, unit_id)
        if one(db, "SELECT id FROM users WHERE username = ?", (username,)):
            raise UserError(f"用户名“{username}”已被使用。")
        user_id = db.execute(
            "INSERT INTO users (username, display_name, password_hash, role, unit_id, created_at, email, directory)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (username, display_name, "" if directory else hash_password(password, method),
             role, unit_id, clock.now(), email, int(directory)),
        ).lastrowid
        audit.record(db, "user.create", actor_id=actor_id, user=username, role=role, email=email,
                     directory=directory)
    return user_id


WRONG_CREDENTIALS = "用户名或密码不正确。"
LOCKED = "登录失败次数过多，账号已暂时锁定，请15分钟后再试或联系管理员。"
NO_ACCOUNT = "账号尚未开通，请联系管理员。"
DIRECTORY_DOWN = "无法连接单位目录服务器，请稍后再试；如急需登录，请联系管理员。"
INACTIVE = "该账号已停用，请联系管理员。"


# werkzeug's default (scrypt). Tests set TEST_PASSWORD_HASH, which the app accepts only when TESTING.
HASH_METHOD = "scrypt"


def hash_password(password: str, method: str | None = None) -> str:
    """The stored form of a password; check_password_hash reads the method back from it."""
    return generate_password_hash(password, method=method or HASH_METHOD)


@functools.cache
def _dummy_hash(method: str | None = None) -> str:
    """A hash to check unknown usernames against, so they take as long as a wrong password."""
    return hash_password(secrets.token_hex(16), method)


def authenticate(db: sqlite_utils.Database, username: str, password: str,
                 unknown: Throttle | None = None, directory: ldap.Settings | None = None,
                 method: str | None = None) -> User:
    """The user for these credentials; raises LoginRefused and counts the failure otherwise.

    unknown: the failures of usernames that do not exist, so that they lock like real accounts
    (an attacker must not learn which usernames exist from the answers).
    directory: the LDAP settings when directory logins are on; directory accounts, and names unknown
    here, are then checked against the directory.
    method: the hash method of this site's passwords, for the stand-in checked for unknown usernames.
    """
    username = username.strip()
    row = one(db, "SELECT directory FROM users WHERE username = ?", (username,))
    if (row is not None and row["directory"]) or (row is None and directory is not None):
        return get_user(db, _directory_login(db, username, password, unknown, directory))
    # The failure is committed before raising: a refused login still counts towards the lock.
    with transaction(db):
        error, user_id = _check_login(db, username.strip(), password, unknown, method)
    if error:
        raise LoginRefused(error)
    return get_user(db, user_id)


def _check_login(db: sqlite_utils.Database, username: str, password: str,
                 unknown: Throttle | None = None, method: str | None = None) -> tuple[str, int]:
    """(error message or "", user id); records the attempt."""
    wrong = WRONG_CREDENTIALS
    row = one(db, "SELECT * FROM users WHERE username = ?", (username,))
    if row is None:
        # Same answers as an existing account: the same message, the same lock after five failures,
        # and the same time spent hashing.
        key = username.casefold()
        if unknown is not None and unknown.retry_after(key):
            audit.record(db, "login.failed", user=username[:50], reason="unknown user")
            return LOCKED, 0
        check_password_hash(_dummy_hash(method), password)
        if unknown is not None:
            unknown.hit(key)
        audit.record(db, "login.failed", user=username[:50], reason="unknown user")
        return wrong, 0
    now = clock.now()
    if row["locked_until"] and row["locked_until"] > now:
        audit.record(db, "login.failed", actor_id=row["id"], reason="locked")
        return LOCKED, row["id"]
    if row["directory"] or not check_password_hash(row["password_hash"], password):
        return _count_failure(db, row, now), row["id"]
    # Only the right password learns that the account is deactivated.
    if not row["active"]:
        audit.record(db, "login.failed", actor_id=row["id"], reason="inactive")
        return INACTIVE, row["id"]
    db.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ?",
        (now, row["id"]),
    )
    audit.record(db, "login", actor_id=row["id"])
    return "", row["id"]


def _count_failure(db: sqlite_utils.Database, row: dict, now: str) -> str:
    """Count a wrong password against the account (locking it at the fifth); the message to show."""
    failures = row["failed_logins"] + 1
    locked_until = None
    if failures >= MAX_FAILED_LOGINS:
        locked_until = (clock.parse(now) + LOCKOUT).isoformat(timespec="microseconds")
        failures = 0
    db.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?",
               (failures, locked_until, row["id"]))
    audit.record(db, "login.failed", actor_id=row["id"], reason="bad password")
    return WRONG_CREDENTIALS


def _directory_login(db: sqlite_utils.Database, username: str, password: str, unknown: Throttle | None,
                     settings: ldap.Settings | None) -> int:
    """The id of the account the directory lets in; LoginRefused (DirectoryDown) otherwise.

    The directory is asked outside any transaction: a slow directory must not hold the write lock.
    """
    row = one(db, "SELECT * FROM users WHERE username = ?", (username,))
    key = username.casefold()
    locked = (row["locked_until"] and row["locked_until"] > clock.now()) if row else \
        (unknown is not None and unknown.retry_after(key))
    if locked:
        with transaction(db):
            audit.record(db, "login.failed", actor_id=row["id"] if row else None, user=username[:50], reason="locked")
        raise LoginRefused(LOCKED)
    try:
        if settings is None:
            raise ldap.DirectoryUnavailable("LDAP_URL is not set")
        person = ldap.authenticate(settings, username, password)
    except ldap.DirectoryUnavailable as error:
        # Nothing is counted: the person may well have typed the right password.
        with transaction(db):
            audit.record(db, "login.failed", actor_id=row["id"] if row else None, user=username[:50],
                         reason="directory unreachable", error=str(error)[:200])
        raise DirectoryDown(DIRECTORY_DOWN) from None
    # The failure is committed before raising: a refused login still counts towards the lock.
    with transaction(db):
        error = _record_directory_login(db, row, username, person, unknown, key)
    if error:
        raise LoginRefused(error)
    return row["id"]


def _record_directory_login(db: sqlite_utils.Database, row: dict | None, username: str,
                            person: ldap.Person | None, unknown: Throttle | None, key: str) -> str:
    """Record the directory's answer (in the caller's transaction); the error message, or "" when let in."""
    if row is None:
        if person is None:
            if unknown is not None:
                unknown.hit(key)
            audit.record(db, "login.failed", user=username[:50], reason="unknown user")
            return WRONG_CREDENTIALS
        audit.record(db, "login.failed", user=username[:50], reason="no account here")
        return NO_ACCOUNT
    row = one(db, "SELECT * FROM users WHERE id = ?", (row["id"],))
    if person is None:
        return _count_failure(db, row, clock.now())
    if not row["active"]:
        audit.record(db, "login.failed", actor_id=row["id"], reason="inactive")
        return INACTIVE
    name, email = _directory_name(person.name) or row["display_name"], _directory_email(person.email)
    db.execute("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ?, display_name = ?,"
               " email = coalesce(?, email) WHERE id = ?", (clock.now(), name, email, row["id"]))
    audit.record(db, "login", actor_id=row["id"], directory=True)
    return ""


def _directory_name(name: str) -> str | None:
    """The directory's name for a person if it will do as a display name."""
    try:
        return _clean_display_name(name)
    except UserError:
        return None


def _directory_email(address: str) -> str | None:
    """The directory's mail address for a person if it is one."""
    try:
        return clean_email(address)
    except UserError:
        return None


_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f<>,;\"]+@[^@\s\x00-\x1f\x7f<>,;\"]+\.[^@\s\x00-\x1f\x7f<>,;\"]+")


def clean_email(address: str) -> str | None:
    """An e-mail address (one, no line breaks: it goes into a mail header), None when empty, or UserError."""
    address = address.strip()
    if not address:
        return None
    if len(address) > 254 or not _EMAIL.fullmatch(address):
        raise UserError(f"电子邮件地址“{address[:60]}”格式不正确，应形如 zhangsan@example.gov.cn。")
    return address


# Administration: the functions behind the 系统管理 pages. Each change is one transaction with
# its audit row; actor_id is the admin making it.


def check_password(password: str) -> None:
    """Raise UserError unless the password has an acceptable length."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少{MIN_PASSWORD_LENGTH}位。")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"密码过长（不超过{MAX_PASSWORD_LENGTH}位）。")


def _clean_display_name(name: str) -> str:
    """A display name with surrounding spaces removed, or UserError."""
    name = " ".join(clean(name).split())  # the CLI's and the directory's names too, not only forms
    if not name:
        raise UserError("姓名不能为空。")
    if len(name) > 50:
        raise UserError("姓名过长（不超过50字）。")
    return name


def _clean_unit_name(name: str) -> str:
    """A unit name with runs of spaces collapsed, or UserError."""
    name = " ".join(clean(name).split())
    if not name:
        raise UserError("单位名称不能为空。")
    if len(name) > 100:
        raise UserError("单位名称过长（不超过100字）。")
    return name


def _clean_code(code: str) -> str | None:
    """A 预算编码 (digits, letters, dots, hyphens), None when left empty, or UserError."""
    code = code.strip()
    if not code:
        return None
    if len(code) > MAX_CODE_LENGTH or not all(ch.isascii() and (ch.isalnum() or ch in ".-") for ch in code):
        raise UserError(f"预算编码只能由数字、字母、点和连字符组成，且不超过{MAX_CODE_LENGTH}个字符。")
    return code


def _check_unit(db: sqlite_utils.Database, unit_id: int | None) -> dict | None:
    """The unit row, None for no unit, or UserError when it does not exist."""
    if unit_id is None:
        return None
    row = one(db, "SELECT * FROM units WHERE id = ?", (unit_id,))
    if row is None:
        raise UserError("所选单位不存在，请刷新页面后重选。")
    return row


def _account(db: sqlite_utils.Database, user_id: int) -> dict:
    """The users row with its unit name, or UserError."""
    row = one(db, _USER_SQL + "users.id = ?", (user_id,))
    if row is None:
        raise UserError("该账号不存在。")
    return row


def list_users(db: sqlite_utils.Database) -> list[dict]:
    """Every account with its unit and role label: accounts without a unit first, then by unit."""
    rows = all_rows(
        db,
        "SELECT users.id, username, display_name, role, unit_id, units.name AS unit_name, active,"
        " locked_until, last_login_at, users.created_at, email, directory FROM users"
        " LEFT JOIN units ON units.id = users.unit_id"
        " ORDER BY units.name IS NOT NULL, units.name, users.username",
    )
    now = clock.now()
    for row in rows:
        row["role_label"] = ROLES.get(row["role"], row["role"])
        row["locked"] = bool(row["locked_until"] and row["locked_until"] > now)
    return rows


def get_account(db: sqlite_utils.Database, user_id: int) -> dict | None:
    """One account as the administration pages show it, or None."""
    row = one(db, _USER_SQL + "users.id = ?", (user_id,))
    if row is not None:
        row["role_label"] = ROLES.get(row["role"], row["role"])
        row["locked"] = bool(row["locked_until"] and row["locked_until"] > clock.now())
    return row


def list_units(db: sqlite_utils.Database) -> list[dict]:
    """Every unit with how many accounts and reports it has, by name."""
    return all_rows(
        db,
        "SELECT units.*, parent.name AS parent_name,"
        " (SELECT count(*) FROM users WHERE users.unit_id = units.id) AS user_count,"
        " (SELECT count(*) FROM reports WHERE reports.unit_id = units.id) AS report_count"
        " FROM units LEFT JOIN units AS parent ON parent.id = units.parent_id ORDER BY units.name",
    )


def get_unit(db: sqlite_utils.Database, unit_id: int) -> dict | None:
    """One unit, or None."""
    return one(db, "SELECT * FROM units WHERE id = ?", (unit_id,))


def _check_unit_unique(db: sqlite_utils.Database, name: str, code: str | None, unit_id: int | None) -> None:
    """UserError when another unit already has this name or code."""
    other = one(db, "SELECT id FROM units WHERE name = ? AND id IS NOT ?", (name, unit_id))
    if other:
        raise UserError(f"单位“{name}”已存在。")
    if code:
        other = one(db, "SELECT name FROM units WHERE code = ? AND id IS NOT ?", (code, unit_id))
        if other:
            raise UserError(f"预算编码“{code}”已由“{other['name']}”使用。")


def _check_parent(db: sqlite_utils.Database, unit_id: int | None, parent_id: int | None) -> None:
    """UserError unless the parent exists and is not the unit itself or one of its sub-units."""
    if parent_id is None:
        return
    _check_unit(db, parent_id)
    ancestor = parent_id
    while ancestor is not None:
        if ancestor == unit_id:
            raise UserError("上级单位不能是本单位或其下级单位。")
        ancestor = db.execute("SELECT parent_id FROM units WHERE id = ?", (ancestor,)).fetchone()[0]


def create_unit(
    db: sqlite_utils.Database, name: str, code: str = "", actor_id: int | None = None,
    parent_id: int | None = None,
) -> int:
    """Create a budget unit with an optional 预算编码 and 上级单位."""
    name, code = _clean_unit_name(name), _clean_code(code)
    with transaction(db):
        _check_unit_unique(db, name, code, None)
        _check_parent(db, None, parent_id)
        unit_id = db.execute(
            "INSERT INTO units (name, code, parent_id, created_at) VALUES (?, ?, ?, ?)",
            (name, code, parent_id, clock.now()),
        ).lastrowid
        audit.record(db, "unit.create", actor_id=actor_id, unit_id=unit_id, name=name, code=code,
                     parent_id=parent_id)
    return unit_id


def update_unit(
    db: sqlite_utils.Database, unit_id: int, name: str, code: str = "", actor_id: int | None = None,
    parent_id: int | None = None,
) -> None:
    """Rename a unit, change its 预算编码 or 上级单位; reports and accounts follow it (they hold its id)."""
    name, code = _clean_unit_name(name), _clean_code(code)
    with transaction(db):
        old = _check_unit(db, unit_id)
        if (old["name"], old["code"], old["parent_id"]) == (name, code, parent_id):
            return
        _check_unit_unique(db, name, code, unit_id)
        _check_parent(db, unit_id, parent_id)
        db.execute("UPDATE units SET name = ?, code = ?, parent_id = ? WHERE id = ?",
                   (name, code, parent_id, unit_id))
        audit.record(db, "unit.update", actor_id=actor_id, unit_id=unit_id,
                     old_name=old["name"], name=name, old_code=old["code"], code=code,
                     old_parent_id=old["parent_id"], parent_id=parent_id)


def set_active(db: sqlite_utils.Database, user_id: int, active: bool, actor_id: int | None = None) -> None:
    """Deactivate or reactivate an account; a deactivated user is refused on their next request."""
    if not active and user_id == actor_id:
        raise UserError("不能停用自己的账号；如确需停用，请由另一位管理员操作。")
    with transaction(db):
        row = _account(db, user_id)
        if bool(row["active"]) == active:
            return
        db.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))
        if not active:
            sessions.end_all(db, user_id)  # reactivating later does not bring old sessions back
        audit.record(db, "user.activate" if active else "user.deactivate", actor_id=actor_id,
                     user=row["username"])


def reset_password(db: sqlite_utils.Database, user_id: int, password: str, actor_id: int | None = None,
                   method: str | None = None) -> None:
    """Set a new password and lift any login lock; the password itself is never recorded."""
    check_password(password)
    with transaction(db):
        row = _account(db, user_id)
        # A directory account given a password here becomes a local account.
        db.execute(
            "UPDATE users SET password_hash = ?, failed_logins = 0, locked_until = NULL, directory = 0 WHERE id = ?",
            (hash_password(password, method), user_id),
        )
        sessions.end_all(db, user_id)  # whoever knew the old password is logged out too
        audit.record(db, "user.password_reset", actor_id=actor_id, user=row["username"])


def change_role(
    db: sqlite_utils.Database, user_id: int, role: str, unit_id: int | None, actor_id: int | None = None
) -> bool:
    """Change an account's role and unit; False when nothing changed. Takes effect on the next request."""
    if role not in ROLES:
        raise UserError("请选择有效的角色。")
    if user_id == actor_id and role != "admin":
        raise UserError("不能取消自己的管理员角色；如确需更改，请由另一位管理员操作。")
    if role not in ACROSS_UNITS and unit_id is None:
        raise UserError("除管理员和监管人员外，每个账号都须属于一个单位。")
    with transaction(db):
        row = _account(db, user_id)
        unit = _check_unit(db, unit_id)
        if (row["role"], row["unit_id"]) == (role, unit_id):
            return False
        db.execute("UPDATE users SET role = ?, unit_id = ? WHERE id = ?", (role, unit_id, user_id))
        audit.record(db, "user.role_change", actor_id=actor_id, user=row["username"],
                     old_role=row["role"], role=role, old_unit=row["unit_name"],
                     unit=unit["name"] if unit else None)
    return True


def set_contact(db: sqlite_utils.Database, user_id: int, email: str, mail_enabled: bool, directory: bool,
                actor_id: int | None = None) -> bool:
    """Set an account's e-mail address, whether it gets mail, and whether it signs in through the directory.

    Turning an account into a directory account removes its password here (and ends its sessions);
    the way back is a password reset. False when nothing changed.
    """
    email = clean_email(email)
    with transaction(db):
        row = _account(db, user_id)
        if (row["email"], bool(row["mail_enabled"]), bool(row["directory"])) == (email, mail_enabled, directory):
            return False
        if directory and not row["directory"]:
            db.execute("UPDATE users SET password_hash = '', directory = 1 WHERE id = ?", (user_id,))
            sessions.end_all(db, user_id)
        elif not directory and row["directory"]:
            raise UserError("目录账号改为本地账号：请在“重置密码”中为其设置密码。")
        db.execute("UPDATE users SET email = ?, mail_enabled = ? WHERE id = ?", (email, int(mail_enabled), user_id))
        audit.record(db, "user.contact", actor_id=actor_id, user=row["username"], email=email,
                     mail_enabled=mail_enabled, directory=directory)
    return True


def set_mail_enabled(db: sqlite_utils.Database, user_id: int, enabled: bool) -> None:
    """A person turns notification mail off (or on again) for themselves."""
    with transaction(db):
        db.execute("UPDATE users SET mail_enabled = ? WHERE id = ?", (int(enabled), user_id))
        audit.record(db, "user.mail_setting", actor_id=user_id, mail_enabled=enabled)
