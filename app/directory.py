"""Directory logins (LDAP / Active Directory) with ldap3: search the person, then bind as them. No Flask here.

The site keeps no copy of a directory password: it is sent to the directory once per login and forgotten.
"""

import logging
from dataclasses import dataclass

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

log = logging.getLogger("app.directory")

CONNECT_TIMEOUT = 5  # seconds: a login waits at most this long for a directory that does not answer
RECEIVE_TIMEOUT = 10
MAX_USERNAME = 256
MAX_PASSWORD = 1024


class DirectoryUnavailable(Exception):
    """The directory could not be reached, or refused the site's own search account."""


@dataclass(frozen=True)
class Settings:
    """Where the directory is and how people are found in it (the FLASK_LDAP_* settings)."""

    url: str
    base_dn: str
    user_filter: str = "(uid={username})"
    starttls: bool = False
    bind_dn: str = ""
    bind_password: str = ""
    name_attr: str = "cn"
    mail_attr: str = "mail"


@dataclass(frozen=True)
class Person:
    """Who the directory says signed in: the entry's DN, name and mail address (either may be empty)."""

    dn: str
    name: str
    email: str


def _flag(value) -> bool:
    """A true/false setting that may arrive as a bool (JSON from the environment) or as text."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def settings_from(config) -> Settings | None:
    """The directory settings from a config mapping, or None when LDAP_URL is not set."""
    url = str(config.get("LDAP_URL") or "").strip()
    if not url:
        return None
    return Settings(
        url=url,
        base_dn=str(config.get("LDAP_BASE_DN") or ""),
        user_filter=str(config.get("LDAP_USER_FILTER") or "(uid={username})"),
        starttls=_flag(config.get("LDAP_STARTTLS")),
        bind_dn=str(config.get("LDAP_BIND_DN") or ""),
        # str(): from_prefixed_env reads a password of digits as a number.
        bind_password=str(config.get("LDAP_BIND_PASSWORD") or ""),
        name_attr=str(config.get("LDAP_NAME_ATTR") or "cn"),
        mail_attr=str(config.get("LDAP_MAIL_ATTR") or "mail"),
    )


def user_filter(settings: Settings, username: str) -> str:
    """The search filter for a username, escaped per RFC 4515 (*, (, ), \\ and NUL lose their meaning)."""
    return settings.user_filter.replace("{username}", escape_filter_chars(username))


def _connection(settings: Settings, user: str | None = None, password: str | None = None) -> ldap3.Connection:
    """An opened (not yet bound) connection, StartTLS done when asked for; DirectoryUnavailable if unreachable."""
    server = ldap3.Server(settings.url, connect_timeout=CONNECT_TIMEOUT, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, user=user, password=password, auto_bind=ldap3.AUTO_BIND_NONE,
                            receive_timeout=RECEIVE_TIMEOUT, raise_exceptions=False, read_only=True)
    try:
        conn.open()
        if settings.starttls and not conn.start_tls():
            raise DirectoryUnavailable(f"StartTLS refused: {conn.result}")
    except LDAPException as error:
        raise DirectoryUnavailable(str(error)) from None
    return conn


def _first(entry, attribute: str) -> str:
    """The first value of an attribute of a search result, or ''."""
    values = entry.get("attributes", {}).get(attribute)
    if isinstance(values, list):
        values = values[0] if values else ""
    return str(values or "").strip()


def find(settings: Settings, username: str) -> Person | None:
    """The one directory entry for this username, or None when there is none (or more than one)."""
    conn = _connection(settings, settings.bind_dn or None, settings.bind_password or None)
    try:
        try:
            bound = conn.bind()
        except LDAPException as error:
            raise DirectoryUnavailable(str(error)) from None
        if not bound:
            # The site's own search account is refused: a setting is wrong, not the person's password.
            raise DirectoryUnavailable(f"search bind refused: {conn.result.get('description')}")
        try:
            conn.search(settings.base_dn, user_filter(settings, username), search_scope=ldap3.SUBTREE,
                        attributes=[settings.name_attr, settings.mail_attr], size_limit=2)
        except LDAPException as error:
            raise DirectoryUnavailable(str(error)) from None
        entries = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) != 1:
            return None
        entry = entries[0]
        return Person(dn=entry["dn"], name=_first(entry, settings.name_attr), email=_first(entry, settings.mail_attr))
    finally:
        conn.unbind()


def authenticate(settings: Settings, username: str, password: str) -> Person | None:
    """The person if the directory accepts this username and password; None if it does not.

    Raises DirectoryUnavailable when the directory cannot be asked.
    """
    # An empty password would make a "simple bind" anonymous, which many directories accept.
    if not username or not password or len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        return None
    if "\x00" in username or "\x00" in password:
        return None
    person = find(settings, username)
    if person is None:
        return None
    conn = _connection(settings, person.dn, password)
    try:
        try:
            accepted = conn.bind()
        except LDAPException as error:
            raise DirectoryUnavailable(str(error)) from None
        if not accepted and conn.result.get("result") not in (49,):  # 49: invalidCredentials
            log.warning("directory refused bind of %s: %s", person.dn, conn.result.get("description"))
        return person if accepted else None
    finally:
        conn.unbind()
