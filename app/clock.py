"""Timestamps: stored as UTC ISO strings, shown in the office's time zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def now() -> str:
    """The current time as a sortable UTC ISO string."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def parse(stamp: str) -> datetime:
    """A stored timestamp back as an aware datetime."""
    return datetime.fromisoformat(stamp)


def local(stamp: str | None, zone: str = "Asia/Shanghai") -> str:
    """A stored timestamp as the office reads it: 2025-03-18 14:05."""
    if not stamp:
        return ""
    return parse(stamp).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
