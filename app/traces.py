"""What a report copied from last year still carries of it: mentions of the old year, 有意保留 marks and
上年数. Read by the checks (form_store) and by cloning alike, so it sits below both."""

import re
from dataclasses import dataclass
from decimal import Decimal

import sqlite_utils

from .checks import Traces
from .db import one

_PLAIN_NUMBER = re.compile(r"-?[\d,]+(?:\.\d+)?")


@dataclass
class YearReference:
    """One mention of an old year in a section's text."""

    start: int
    end: int
    text: str
    before: str
    after: str
    kept: bool = False  # marked 有意保留: an intended comparison with last year

    @property
    def context(self) -> str:
        """The mention with the text around it: how a 有意保留 mark finds it again after other edits."""
        return f"{self.before}{self.text}{self.after}"


def year_references(markdown: str, year: int, kept: frozenset[str] = frozenset()) -> list[YearReference]:
    """Mentions of `year` as a year (2024年, 2024 年度, 2024-12-30, 2024.12) in the text (`kept`: 有意保留 contexts)."""
    pattern = re.compile(rf"(?<!\d){year}(?=\s*年|[-./]\d{{1,2}}(?!\d))")
    refs = [
        YearReference(m.start(), m.end(), m.group(), markdown[max(0, m.start() - 12):m.start()],
                      markdown[m.end():m.end() + 12])
        for m in pattern.finditer(markdown)
    ]
    for ref in refs:
        ref.kept = ref.context in kept
    return refs


def kept_contexts(db: sqlite_utils.Database, report_id: int) -> dict[int, frozenset[str]]:
    """Section id → the contexts of its year mentions marked 有意保留."""
    found: dict[int, set[str]] = {}
    for section_id, context in db.execute("SELECT section_id, context FROM year_keeps WHERE report_id = ?",
                                          (report_id,)):
        found.setdefault(section_id, set()).add(context)
    return {k: frozenset(v) for k, v in found.items()}


def traces(db: sqlite_utils.Database, report: dict, sections) -> Traces | None:
    """What a cloned report still carries of last year, for the checks (None for a report not cloned)."""
    source = one(db, "SELECT year FROM reports WHERE id = ?", (report.get("cloned_from"),)) \
        if report.get("cloned_from") else None
    if source is None:
        return None
    carried = {row[0]: (row[1] or "", row[2]) if row[2] else None for row in db.execute(
        "SELECT sections.id, users.display_name, carried_confirmed_at FROM sections"
        " LEFT JOIN users ON users.id = sections.carried_confirmed_by"
        " WHERE report_id = ? AND carried_over = 1 AND deleted_at IS NULL", (report["id"],))}
    kept_by_section = kept_contexts(db, report["id"])
    kept = {s.id: [r for r in year_references(s.markdown, source["year"], kept_by_section[s.id]) if r.kept]
            for s in sections if s.id in kept_by_section}
    priors = prior_values(db, report["id"])
    return Traces(source["year"], carried, kept, priors["indicators"],
                  {k: Decimal(v) for k, v in priors["budget"].items()})


def prior_values(db: sqlite_utils.Database, report_id: int) -> dict[str, dict[int, str]]:
    """上年数 of a cloned report's form rows: {"indicators": {row id: text}, "budget": {row id: 万元}}."""
    return {
        # With the unit, as the clerk wrote it last year: 98%, 3294人 (a 定性 value is text already).
        "indicators": {r[0]: r[1] + r[2] if _PLAIN_NUMBER.fullmatch(r[1]) else r[1] for r in db.execute(
            "SELECT id, prior_actual, unit FROM indicators WHERE report_id = ? AND prior_actual IS NOT NULL",
            (report_id,))},
        "budget": {r[0]: r[1] for r in db.execute(
            "SELECT id, prior_executed FROM budget_lines WHERE report_id = ? AND prior_executed IS NOT NULL",
            (report_id,))},
    }
