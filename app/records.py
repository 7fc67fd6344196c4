"""A stored section as pages show it, and the mark of a report's last change: read and written by
reports, sections and form_store alike, so they live below all three."""

from dataclasses import dataclass

import sqlite_utils

from . import clock
from .db import report_changed


@dataclass
class Section:
    """A section as shown: its derived number, level and cached HTML."""

    id: int
    report_id: int
    position: int
    level: int
    title: str
    markdown: str
    html: str
    version: int
    updated_at: str
    updated_by_name: str | None
    number: str = ""
    has_children: bool = False
    carried_over: bool = False  # copied from last year's report, unchanged but for year replacements
    carried_confirmed_at: str | None = None  # when someone confirmed it needs no change (确认无需修改)
    carried_confirmed_by: str | None = None  # and who

    @property
    def stale(self) -> bool:
        """未更新: still last year's text (years aside) and nobody confirmed it needs no change."""
        return self.carried_over and not self.carried_confirmed_at

    @property
    def heading(self) -> str:
        """Number and title together, as printed: （一）自评结论."""
        return f"{self.number}{self.title}"



def touch(db: sqlite_utils.Database, report_id: int, user_id: int) -> None:
    """Record that the report changed now, by this user (inside the caller's transaction)."""
    report_changed(db, report_id)  # its summary facts are made again as the transaction commits
    db.execute(
        "UPDATE reports SET updated_at = ?, updated_by = ? WHERE id = ?",
        (clock.now(), user_id, report_id),
    )
