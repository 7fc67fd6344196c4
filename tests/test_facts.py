"""Each report's summary facts (report_facts) follow every kind of write, in the write's own transaction."""

import pytest

from app import db as database
from app.cloning import clone_report, confirm_carried, mark_year, replace_year, stale_sections
from app.facts import compute, from_row, refresh_all
from app.form_import import apply as import_form
from app.form_import import fingerprint
from app.form_model import default_form
from app.form_store import (
    add_row,
    apply_template,
    delete_row,
    load_form,
    move_row,
    save_budget_weight,
    save_goals,
    save_header,
    save_row,
    save_rules,
)
from app.importer import parse_upload
from app.reports import create_report, get_report, update_header
from app.schema import migrate
from app.sections import (
    add_section,
    delete_section,
    get_sections,
    list_revisions,
    move_section,
    restore_revision,
    save_section,
)
from app.summary import year_summary
from app.users import get_user
from app.workflow import perform


def _stored(db, report_id: int):
    """The facts the table holds for a report, or None."""
    row = database.one(db, "SELECT * FROM report_facts WHERE report_id = ?", (report_id,))
    return from_row(row) if row else None


def assert_fresh(db) -> None:
    """Every report's stored facts are what the scoring module and the checks give now, and the summary shows them."""
    for report in database.all_rows(db, "SELECT * FROM reports"):
        assert _stored(db, report["id"]) == compute(db, report), f"report {report['id']}"
    for year in {row[0] for row in db.execute("SELECT year FROM reports")}:
        for row in year_summary(db, year):
            if row.report_id:
                report = database.one(db, "SELECT * FROM reports WHERE id = ?", (row.report_id,))
                assert row.facts == compute(db, report)


def _report(db, report_id: int) -> dict:
    return get_report(db, get_user(db, 1), report_id)


def _section(db, report_id: int, index: int = -1):
    return get_sections(db, report_id)[index]


def _indicator(db, report_id: int):
    return load_form(db, report_id).indicators[0]


def _indicator_fields(indicator, **changes) -> dict:
    fields = {"level1": indicator.level1, "level2": indicator.level2, "name": indicator.name,
              "kind": indicator.kind, "direction": indicator.direction or "", "unit": indicator.unit or "",
              "target": indicator.target or "", "actual": indicator.actual or "", "rating": indicator.rating or "",
              "weight": str(indicator.weight), "override_score": "", "override_reason": "",
              "reason": indicator.reason or ""}
    fields.update(changes)
    return fields


def _blank_report(db) -> int:
    """A new report of the sample's unit for 2023, its form empty (for the template)."""
    parsed = parse_upload("# 2023年度报告\n\n一、部门概况\n\n正文。\n\n二、自评结论\n\n经自评，得分95分。\n")
    parsed.form = None
    return create_report(db, get_user(db, 1), 1, 2023, parsed)


def _clone(db, sample: int) -> int:
    return clone_report(db, get_user(db, 1), sample, 2025)


def _first_mention(db, clone: int):
    """A cloned section that names last year, and where."""
    found = stale_sections(db, _report(db, clone))
    section_id, refs = next((sid, refs) for sid, refs in found.items() if refs)
    return section_id, refs[0].start


RULES_WITH_A_HIGHER_BAR = {"coef_达成": "100", "coef_部分达成": "60", "coef_未达成": "0", "grade_优": "99",
                           "grade_良": "80", "grade_中": "60", "overachievement": "50"}


def _replace_year(db, clone: int) -> None:
    """改为 2025 at the first mention of last year in the clone."""
    section_id, start = _first_mention(db, clone)
    version = next(s.version for s in get_sections(db, clone) if s.id == section_id)
    replace_year(db, _report(db, clone), get_user(db, 1), section_id, start, version)


WRITES = {
    "section saved": lambda db, rid: save_section(
        db, _report(db, rid), get_user(db, 1), _section(db, rid).id, "经自评，得分12分，等级为优。2021年",
        _section(db, rid).version),
    "section added": lambda db, rid: add_section(db, _report(db, rid), get_user(db, 1), "2021年工作回顾"),
    "section deleted": lambda db, rid: delete_section(
        db, _report(db, rid), get_user(db, 1), next(s.id for s in get_sections(db, rid) if "自评结论" in s.title)),
    "section moved": lambda db, rid: move_section(db, _report(db, rid), get_user(db, 1), _section(db, rid).id, "up"),
    "revision restored": lambda db, rid: (
        WRITES["section saved"](db, rid),
        restore_revision(db, _report(db, rid), get_user(db, 1), _section(db, rid).id,
                         list_revisions(db, _section(db, rid).id)[-1].id, _section(db, rid).version)),
    "title and preamble": lambda db, rid: update_header(
        db, _report(db, rid), get_user(db, 1), "2019年度报告", "2020年的前言", _report(db, rid)["version"]),
    "row saved": lambda db, rid: save_row(
        db, _report(db, rid), get_user(db, 1), "indicators", _indicator(db, rid).id,
        _indicator_fields(_indicator(db, rid), actual="", rating=""), _indicator(db, rid).version),
    "row added": lambda db, rid: add_row(
        db, _report(db, rid), get_user(db, 1), "indicators",
        _indicator_fields(_indicator(db, rid), name="新增指标", weight="5")),
    "row deleted": lambda db, rid: delete_row(
        db, _report(db, rid), get_user(db, 1), "indicators", _indicator(db, rid).id, _indicator(db, rid).version),
    "row moved": lambda db, rid: move_row(
        db, _report(db, rid), get_user(db, 1), "indicators", _indicator(db, rid).id, "down"),
    "budget line saved": lambda db, rid: save_row(
        db, _report(db, rid), get_user(db, 1), "budget", load_form(db, rid).lines[0].id,
        {"source": "财政拨款", "initial": "100", "adjusted": "100", "executed": "10"},
        load_form(db, rid).lines[0].version),
    "header saved": lambda db, rid: save_header(
        db, _report(db, rid), get_user(db, 1), {"contact_name": "", "contact_phone": "", "filled_on": ""},
        load_form(db, rid).header.version),
    "goals saved": lambda db, rid: save_goals(
        db, _report(db, rid), get_user(db, 1), {"target": "", "actual": "", "unmet_reason": ""},
        load_form(db, rid).goals.version),
    "budget weight saved": lambda db, rid: save_budget_weight(
        db, _report(db, rid), get_user(db, 1), "20", load_form(db, rid).rules_version),
    "rules saved": lambda db, rid: save_rules(
        db, _report(db, rid), get_user(db, 1), RULES_WITH_A_HIGHER_BAR, load_form(db, rid).rules_version),
    "form imported": lambda db, rid: import_form(
        db, _report(db, rid), get_user(db, 1), default_form(), fingerprint(load_form(db, rid))),
    "template applied": lambda db, rid: apply_template(db, _report(db, _blank_report(db)), get_user(db, 1)),
    "report created": lambda db, rid: _blank_report(db),
    "workflow": lambda db, rid: (perform(db, rid, get_user(db, 1), "submit"),
                                 perform(db, rid, get_user(db, 1), "return", "请补充。")),
    "cloned": lambda db, rid: _clone(db, rid),
    "year replaced": lambda db, rid: _replace_year(db, _clone(db, rid)),
    "year kept": lambda db, rid: (lambda clone: mark_year(
        db, _report(db, clone), get_user(db, 1), *_first_mention(db, clone)))(_clone(db, rid)),
    "carried confirmed": lambda db, rid: (lambda clone: confirm_carried(
        db, _report(db, clone), get_user(db, 1), _section(db, clone).id))(_clone(db, rid)),
}


@pytest.mark.parametrize("write", WRITES)
def test_every_kind_of_write_leaves_the_facts_as_a_fresh_computation(app, db, write):
    sample = app.config["SAMPLE_ID"]
    assert_fresh(db)
    before = {row["report_id"]: from_row(row) for row in database.all_rows(db, "SELECT * FROM report_facts")}
    WRITES[write](db, sample)
    assert_fresh(db)
    after = {row["report_id"]: from_row(row) for row in database.all_rows(db, "SELECT * FROM report_facts")}
    # Where the facts changed, a write that did not refresh them would have failed assert_fresh; the others
    # (a status, an order, a contact, a revision brought back to the start) leave them as they were.
    if write not in ("workflow", "section moved", "row moved", "header saved", "revision restored"):
        assert after != before, "the write changed what a summary row shows"


def test_a_failed_write_leaves_the_facts_as_they_were(app, db):
    sample = app.config["SAMPLE_ID"]
    before = _stored(db, sample)
    with pytest.raises(RuntimeError), database.transaction(db):
        db.execute("UPDATE budget_lines SET executed = '0.00' WHERE report_id = ?", (sample,))
        database.report_changed(db, sample)
        raise RuntimeError("rolled back")
    assert _stored(db, sample) == before
    assert_fresh(db)


def test_a_write_that_returns_its_state_scores_the_report_once_and_stores_the_same_facts(app, db, monkeypatch):
    import app.facts as facts

    calls = []
    real = facts.form_state
    monkeypatch.setattr(facts, "form_state", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    sample = app.config["SAMPLE_ID"]
    section = _section(db, sample)
    report = _report(db, sample)
    saved, state = facts.write_then_state(db, report, lambda: save_section(
        db, report, get_user(db, 1), section.id, "二、自评结论\n\n经自评，得分60分。", section.version))
    assert saved.version == section.version + 1 and len(calls) == 1
    assert state.checks == facts.form_state(db, report).checks
    assert_fresh(db)
    # Nothing to write: nothing is left for the next transaction on this connection to take for its own.
    facts.write_then_state(db, report, lambda: save_section(db, report, get_user(db, 1), saved.id,
                                                             saved.markdown, saved.version))
    assert "_states" not in db.__dict__
    # Inside a caller's transaction, a later write in it is not hidden behind the state handed over earlier.
    indicator = _indicator(db, sample)
    with database.transaction(db):
        facts.write_then_state(db, report, lambda: None)
        save_row(db, _report(db, sample), get_user(db, 1), "indicators", indicator.id,
                 _indicator_fields(indicator, actual="0"), indicator.version)
    assert_fresh(db)


def test_a_saved_sections_markdown_is_rendered_before_the_write_lock_is_taken(app, db, auth, monkeypatch):
    """Every other save queues while the write lock is held: the Markdown worker's round trip is made before."""
    import app.sections as sections

    held = []
    real = sections.render_markdown
    monkeypatch.setattr(sections, "render_markdown",
                        lambda markdown: held.append(database.get_db().conn.in_transaction) or real(markdown))
    sample = app.config["SAMPLE_ID"]
    section = _section(db, sample)
    auth.login("editor")
    saved = auth.post(f"/reports/{sample}/sections/{section.id}",
                      {"markdown": "二、自评结论\n\n经自评，得分60分。", "version": section.version})
    assert saved.status_code == 200 and "60分" in saved.text
    assert held == [False]


def test_the_migration_fills_the_facts_of_existing_reports(app, db):
    db.execute("DROP TABLE report_facts")
    db.execute("PRAGMA user_version = 16")
    assert migrate(db) == ["0017_report_facts"]
    assert _stored(db, app.config["SAMPLE_ID"]) is not None
    assert_fresh(db)


def test_writes_made_outside_the_app_are_taken_in_by_refresh_all(app, db):
    sample = app.config["SAMPLE_ID"]
    db.execute("UPDATE budget_lines SET executed = '0.00' WHERE report_id = ?", (sample,))
    assert _stored(db, sample) != compute(db, _report(db, sample))
    with database.transaction(db):
        assert refresh_all(db) == db.execute("SELECT count(*) FROM reports").fetchone()[0]
    assert_fresh(db)


def test_a_next_year_copy_counts_the_warnings_its_report_page_shows(app, db):
    from app.form_store import form_state

    clone = _clone(db, app.config["SAMPLE_ID"])
    row = next(row for row in year_summary(db, 2025) if row.report_id == clone)
    shown = form_state(db, _report(db, clone)).checks
    assert any("未更新" in issue.message for issue in shown.warnings), "last year's traces are warned of"
    assert (row.errors, row.warnings) == (len(shown.errors), len(shown.warnings))


def test_a_report_without_stored_facts_is_still_summed_up_from_its_form(app, db):
    sample = app.config["SAMPLE_ID"]
    db.execute("DELETE FROM report_facts WHERE report_id = ?", (sample,))
    row = next(row for row in year_summary(db, 2024) if row.report_id == sample)
    assert row.facts == compute(db, _report(db, sample)) and row.total is not None
