"""Accounts: roles, password hashing, login with throttling. No Flask here."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, clock
from .db import one, transaction

ROLES = {
    "admin": "管理员",
    "editor": "填报人",
    "reviewer": "审核人",
    "approver": "审批人",
    "viewer": "只读",
}
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    """A user could not be created or changed; the message says why, in Chinese."""


class LoginRefused(Exception):
    """A login attempt failed; the message is safe to show."""


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


def generate_password() -> str:
    """A random password that is easy to read out and type."""
    return secrets.token_urlsafe(12)


def get_or_create_unit(db: sqlite_utils.Database, name: str) -> int:
    """The id of the unit with this name, created if new."""
    name = " ".join(name.split())
    if not name:
        raise UserError("单位名称不能为空。")
    if len(name) > 100:
        raise UserError("单位名称过长（不超过100字）。")
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
) -> int:
    """Create an account; raises UserError with a Chinese message on bad input."""
    username = username.strip()
    if not username or len(username) > 50 or any(ch.isspace() for ch in username):
        raise UserError("用户名不能为空、不能含空格，且不超过50个字符。")
    if role not in ROLES:
        raise UserError(f"角色“{role}”无效，可选：{'、'.join(ROLES)}。")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少{MIN_PASSWORD_LENGTH}位。")
    if role != "admin" and unit_id is None:
        raise UserError("除管理员外，每个账号都须属于一个单位（--unit）。")
    with transaction(db):
        if one(db, "SELECT id FROM users WHERE username = ?", (username,)):
            raise UserError(f"用户名“{username}”已被使用。")
        user_id = db.execute(
            "INSERT INTO users (username, display_name, password_hash, role, unit_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (username, (display_name or username).strip(), generate_password_hash(password),
             role, unit_id, clock.now()),
        ).lastrowid
        audit.record(db, "user.create", actor_id=actor_id, user=username, role=role)
    return user_id


def count_users(db: sqlite_utils.Database) -> int:
    """How many accounts exist."""
    return db.execute("SELECT count(*) FROM users").fetchone()[0]


def authenticate(db: sqlite_utils.Database, username: str, password: str) -> User:
    """The user for these credentials; raises LoginRefused and counts the failure otherwise."""
    # The failure is committed before raising: a refused login still counts towards the lock.
    with transaction(db):
        error, user_id = _check_login(db, username.strip(), password)
    if error:
        raise LoginRefused(error)
    return get_user(db, user_id)


def _check_login(db: sqlite_utils.Database, username: str, password: str) -> tuple[str, int]:
    """(error message or "", user id); records the attempt."""
    wrong = "用户名或密码不正确。"
    row = one(db, "SELECT * FROM users WHERE username = ?", (username,))
    if row is None:
        audit.record(db, "login.failed", user=username[:50], reason="unknown user")
        return wrong, 0
    now = clock.now()
    if row["locked_until"] and row["locked_until"] > now:
        audit.record(db, "login.failed", actor_id=row["id"], reason="locked")
        return "登录失败次数过多，账号已暂时锁定，请15分钟后再试或联系管理员。", row["id"]
    if not row["active"]:
        audit.record(db, "login.failed", actor_id=row["id"], reason="inactive")
        return "该账号已停用，请联系管理员。", row["id"]
    if not check_password_hash(row["password_hash"], password):
        failures = row["failed_logins"] + 1
        locked_until = None
        if failures >= MAX_FAILED_LOGINS:
            locked_until = (clock.parse(now) + LOCKOUT).isoformat(timespec="microseconds")
            failures = 0
        db.execute(
            "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?",
            (failures, locked_until, row["id"]),
        )
        audit.record(db, "login.failed", actor_id=row["id"], reason="bad password")
        return wrong, row["id"]
    db.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ?",
        (now, row["id"]),
    )
    audit.record(db, "login", actor_id=row["id"])
    return "", row["id"]
