"""Who else is editing a section: advice kept in memory, never a lock (the 409 conflict view is the guarantee).

An open editor sends a heartbeat every 30 s; a mark goes when its editor saves, cancels or leaves the
page, or after EXPIRY_SECONDS without a heartbeat (a closed laptop, a lost network). One process
serves the site (waitress threads), so a dict behind a lock is the whole store; after a restart the
marks come back with the next heartbeats.
"""

import threading
import time
from dataclasses import dataclass

EXPIRY_SECONDS = 120


@dataclass
class Mark:
    """One person editing one section."""

    user_id: int
    name: str
    since: float
    seen: float


class Presence:
    """The marks of one process, by (report id, section id) and user id."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._marks: dict[tuple[int, int], dict[int, Mark]] = {}

    def _expire(self, now: float) -> None:
        """Drop marks without a heartbeat for EXPIRY_SECONDS (under the lock)."""
        for key in list(self._marks):
            marks = self._marks[key]
            for user_id in [u for u, m in marks.items() if now - m.seen > EXPIRY_SECONDS]:
                del marks[user_id]
            if not marks:
                del self._marks[key]

    def others(self, report_id: int, section_id: int, user_id: int) -> list[Mark]:
        """The others editing the section now, earliest first."""
        with self._lock:
            self._expire(self._clock())
            marks = self._marks.get((report_id, section_id), {})
            return sorted((m for m in marks.values() if m.user_id != user_id), key=lambda m: m.since)

    def beat(self, report_id: int, section_id: int, user_id: int, name: str) -> list[Mark]:
        """Record that the user is editing the section; return the others editing it."""
        with self._lock:
            now = self._clock()
            marks = self._marks.setdefault((report_id, section_id), {})
            mark = marks.get(user_id)
            if mark is None:
                marks[user_id] = Mark(user_id, name, now, now)
            else:
                mark.seen = now
        return self.others(report_id, section_id, user_id)

    def leave(self, report_id: int, section_id: int, user_id: int) -> None:
        """The user stopped editing the section (saved, cancelled, left the page)."""
        with self._lock:
            marks = self._marks.get((report_id, section_id), {})
            marks.pop(user_id, None)
            if not marks:
                self._marks.pop((report_id, section_id), None)

    def report(self, report_id: int, user_id: int) -> dict[int, list[str]]:
        """Section id → names of the others editing it, for everyone viewing the report."""
        with self._lock:
            self._expire(self._clock())
            return {
                section_id: [m.name for m in sorted(marks.values(), key=lambda m: m.since) if m.user_id != user_id]
                for (rid, section_id), marks in self._marks.items()
                if rid == report_id and any(m.user_id != user_id for m in marks.values())
            }
