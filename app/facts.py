"""Each report's summary facts (report_facts, schema 0017): what one row of the year summary computes.

Total, grade, execution rate and the budget sums, the budget and indicator scores, the counts of the
提交前检查's errors and warnings — from form_store.form_state, the report page's own computation. They are
written inside the transaction that changed the report: every write that changes a report's form,
sections, title or preamble notes it (records.touch, or db.report_changed where nothing is touched),
and db.transaction() hands the noted ids to refresh() before it commits. The summary then reads rows
instead of scoring and checking a district's reports on every cold view.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import sqlite_utils

from .db import all_rows, before_commit, one
from .form_store import FormState, form_state

T = TypeVar("T")


@dataclass(frozen=True)
class Facts:
    """One report's summary facts (rate None without a budget)."""

    total: Decimal
    grade: str
    rate: Decimal | None
    budget_score: Decimal
    indicator_score: Decimal
    adjusted: Decimal
    executed: Decimal
    errors: int
    warnings: int


COLUMNS = ("total", "grade", "rate", "budget_score", "indicator_score", "adjusted", "executed", "errors",
           "warnings")
_DECIMALS = ("total", "rate", "budget_score", "indicator_score", "adjusted", "executed")


def compute(db: sqlite_utils.Database, report: dict, state: FormState | None = None) -> Facts:
    """The facts of a report now (`report`: its row of reports), as the report page computes them (from
    `state`, its form state now, if at hand)."""
    state = state or form_state(db, report)
    score = state.score
    return Facts(score.total, score.grade, score.budget.rate, score.budget.score, score.indicator_total,
                 score.budget.adjusted, score.budget.executed, len(state.checks.errors), len(state.checks.warnings))


def from_row(row: dict) -> Facts:
    """Facts from their stored columns (decimals are kept as text, exactly)."""
    return Facts(**{name: (Decimal(row[name]) if row[name] is not None else None) if name in _DECIMALS
                    else row[name] for name in COLUMNS})


def refresh(db: sqlite_utils.Database, report_ids: set[int]) -> None:
    """Write the facts of these reports as they are now (inside the caller's transaction); a report gone loses its.

    The form state each is computed from goes to write_then_state, when one is waiting for it."""
    wanted = db.__dict__.get("_states")
    for report_id in sorted(report_ids):
        report = one(db, "SELECT * FROM reports WHERE id = ?", (report_id,))
        if report is None:
            db.execute("DELETE FROM report_facts WHERE report_id = ?", (report_id,))
            continue
        state = form_state(db, report)
        if wanted is not None:
            wanted[report_id] = state
        facts = compute(db, report, state)
        values = [getattr(facts, name) for name in COLUMNS]
        db.execute(
            f"INSERT OR REPLACE INTO report_facts (report_id, {', '.join(COLUMNS)})"  # noqa: S608 (fixed names)
            f" VALUES (?{', ?' * len(COLUMNS)})",
            (report_id, *(str(v) if isinstance(v, Decimal) else v for v in values)))


def write_then_state(db: sqlite_utils.Database, report: dict, write: Callable[[], T]) -> tuple[T, FormState]:
    """`write()`, a write of its own transaction, and the report's form state as that transaction leaves it.

    For a view that shows the state after its write (the checks panel beside a saved section or row): the state
    is the one refresh() computed for the facts as the transaction committed (computing it twice was about a
    tenth of a section save). What `write()` does before its transaction, such as rendering a section's Markdown,
    is so done without the write lock held. A write that changed nothing, or one inside a caller's transaction
    (whose facts are written at its commit), gets the state computed after it."""
    states = db.__dict__["_states"] = {}
    try:
        result = write()
    finally:
        db.__dict__.pop("_states", None)
    return result, states.get(report["id"]) or form_state(db, report)


def refresh_all(db: sqlite_utils.Database) -> int:
    """Write the facts of every report (a migration, or after writes made outside the app); how many."""
    ids = {row["id"] for row in all_rows(db, "SELECT id FROM reports")}
    refresh(db, ids)
    return len(ids)


before_commit(refresh)
