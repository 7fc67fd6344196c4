"""Last year's traces in a cloned report: 未更新 through year replacements, 确认无需修改, last year's numbers left
in the text, 有意保留 year mentions, and the checks kept as they were at submission."""

import json
import re

from app.cloning import clone_report
from app.form_store import form_state
from app.reports import get_report
from app.traces import year_references
from app.users import get_user
from app.workflow import perform

STALE_NUMBER = "正文写 3294 人，自评表“康复资助审批人数”本年实际完成值为 3350 人（3294 为上年数）。"


def cloned(app, db) -> int:
    """Next year's report (2025) from the sample, as its editor makes it."""
    return clone_report(db, get_user(db, 2), app.config["SAMPLE_ID"], 2025)


def section(db, report_id: int, title: str) -> dict:
    """A live section of the report by (the start of) its title."""
    return next(db.query("SELECT * FROM sections WHERE report_id = ? AND title LIKE ? AND deleted_at IS NULL",
                         [report_id, title + "%"]))


def checks(db, report_id: int):
    """The report's checks now."""
    return form_state(db, get_report(db, get_user(db, 1), report_id)).checks


def number_warnings(db, report_id: int) -> list[str]:
    """The warnings about last year's numbers in the text."""
    return [issue.message for issue in checks(db, report_id).warnings if "为上年数" in issue.message]


def set_actual(db, report_id: int, name: str, value: str) -> None:
    """This year's 实际完成值 of an indicator."""
    db.execute("UPDATE indicators SET actual = ? WHERE report_id = ? AND name = ?", (value, report_id, name))


def test_last_years_figure_in_the_text_is_caught_only_when_this_years_value_differs(app, db, auth):
    rid = cloned(app, db)
    assert number_warnings(db, rid) == []  # no value this year yet: nothing to compare
    set_actual(db, rid, "精准康复覆盖率", "98")  # the text says 98% too: the same figure this year, no warning
    set_actual(db, rid, "康复资助审批人数", "3350")
    found = number_warnings(db, rid)
    target = section(db, rid, "扩面提质")
    assert found == ["“1.扩面提质，在完善残疾人康复服务上持续用力”" + STALE_NUMBER]
    issue = next(i for i in checks(db, rid).warnings if "为上年数" in i.message)
    assert issue.anchor == f"section-{target['id']}"
    auth.login("editor")
    page = auth.get(f"/reports/{rid}").text
    assert f'<a href="#section-{target["id"]}">“1.扩面提质，在完善残疾人康复服务上持续用力”{STALE_NUMBER}</a>' in page
    # The text updated: the warning goes.
    auth.post(f"/reports/{rid}/sections/{target['id']}",
              {"markdown": target["markdown"].replace("3294 人", "3350 人"), "version": str(target["version"])})
    assert number_warnings(db, rid) == []


def test_last_years_budget_total_suggests_the_placeholder(app, db):
    rid = cloned(app, db)
    target = section(db, rid, "部门整体支出绩效目标")
    db.execute("UPDATE sections SET markdown = ? WHERE id = ?",
               ("全年预算执行 2100.50 万元，执行率 97.15%。", target["id"]))
    db.execute("UPDATE budget_lines SET executed = '2150.00' WHERE report_id = ? AND source = '财政拨款'", (rid,))
    assert number_warnings(db, rid) == [
        "“（一）部门整体支出绩效目标”正文写 2100.50 万元，自评表预算资金“财政拨款”本年全年执行数为 2150.00 万元"
        "（2100.50 为上年数）。",
        "“（一）部门整体支出绩效目标”正文写 2100.50 万元，自评表全年执行数合计为 2150.00 万元（2100.50 为上年数），"
        "可改用占位符 {{全年执行数}}。",
    ]


def test_a_year_replacement_keeps_未更新_and_a_real_edit_clears_it(app, db, auth):
    rid = cloned(app, db)
    conclusion = section(db, rid, "自评结论")
    first = year_references(conclusion["markdown"], 2024)[0]
    auth.login("editor")
    replaced = auth.post(f"/reports/{rid}/sections/{conclusion['id']}/replace-year",
                         {"start": str(first.start), "version": "1"})
    assert replaced.status_code == 200 and ">未更新</span>" in replaced.text
    assert section(db, rid, "自评结论")["carried_over"] == 1
    # Typing every year over by hand is a year replacement too.
    text = section(db, rid, "自评结论")["markdown"]
    auth.post(f"/reports/{rid}/sections/{conclusion['id']}", {"markdown": text.replace("2024", "2025"), "version": "2"})
    assert section(db, rid, "自评结论")["carried_over"] == 1
    auth.post(f"/reports/{rid}/sections/{conclusion['id']}",
              {"markdown": text.replace("2024", "2025") + "\n\n本年新增内容。", "version": "3"})
    assert section(db, rid, "自评结论")["carried_over"] == 0
    assert "“（二）自评结论”自上一年度复制后未更新" not in " ".join(i.message for i in checks(db, rid).warnings)


def test_every_未更新_section_is_a_warning_until_confirmed(app, db, auth):
    rid = cloned(app, db)
    auth.login("editor")
    page = auth.get(f"/reports/{rid}").text
    stale = [i for i in checks(db, rid).warnings if "复制后未更新" in i.message]
    assert len(stale) == page.count(">未更新</span>") == 9
    assert page.count(">确认无需修改</button>") == 9
    preamble = section(db, rid, "部门整体支出绩效目标")
    confirmed = auth.post(f"/reports/{rid}/sections/{preamble['id']}/confirm-carried")
    assert confirmed.status_code == 200 and "已确认无需修改" in confirmed.text
    found = checks(db, rid)
    assert len([i for i in found.warnings if "复制后未更新" in i.message]) == 8
    note = "“（一）部门整体支出绩效目标”沿用上年文字，已由editor姓名确认无需修改"
    assert any(note in i.message for i in found.confirmed)
    audit = db.execute("SELECT actor_id, section_id FROM audit_log WHERE action = 'section.confirm_carried'").fetchall()
    assert audit == [(2, preamble["id"])]
    again = auth.post(f"/reports/{rid}/sections/{preamble['id']}/confirm-carried")
    assert again.status_code == 422
    # Reviewers see it as confirmed, with no button.
    perform(db, rid, get_user(db, 2), "submit")
    auth.login("reviewer")
    page = auth.get(f"/reports/{rid}").text
    assert "已确认无需修改" in page and ">确认无需修改</button>" not in page


def test_a_year_kept_on_purpose_is_no_longer_highlighted_and_listed_once(app, db, auth):
    rid = cloned(app, db)
    conclusion = section(db, rid, "自评结论")
    refs = year_references(conclusion["markdown"], 2024)
    auth.login("editor")
    for ref in refs:
        kept = auth.post(f"/reports/{rid}/sections/{conclusion['id']}/keep-year", {"start": str(ref.start)})
        assert kept.status_code == 200
    assert db.execute("SELECT count(*) FROM year_keeps WHERE section_id = ?", (conclusion["id"],)).fetchone()[0] \
        == len(refs)
    page = auth.get(f"/reports/{rid}").text
    block = page.split(f'id="section-{conclusion["id"]}"')[1].split("</section>")[0]
    assert "<mark>" not in block and block.count(">有意保留</span>") == len(refs)
    found = checks(db, rid)
    assert not any("“（二）自评结论”中出现" in i.message for i in found.warnings)  # no year warning left there
    listed = [i.message for i in found.confirmed if "有意保留" in i.message and "（二）自评结论" in i.message]
    assert len(listed) == len(refs)
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'section.keep_year'").fetchone()[0] == len(refs)
    # Taken back: highlighted and warned about again.
    auth.post(f"/reports/{rid}/sections/{conclusion['id']}/keep-year", {"start": str(refs[0].start), "keep": "0"})
    assert any("“（二）自评结论”中出现" in i.message for i in checks(db, rid).warnings)


def test_a_submitted_report_shows_the_checks_as_they_were_at_submission(app, db, auth):
    rid = cloned(app, db)
    set_actual(db, rid, "康复资助审批人数", "3350")
    perform(db, rid, get_user(db, 2), "submit", "请审核")
    kept = json.loads(db.execute("SELECT checks FROM workflow_events WHERE report_id = ? AND action = 'submit'",
                                 (rid,)).fetchone()[0])
    assert any(STALE_NUMBER in message for message, _ in kept["warnings"])
    auth.login("reviewer")
    page = auth.get(f"/reports/{rid}").text
    panel = page.split('id="checks"')[1].split("</section>")[0]
    assert "提交时的检查结果" in panel and "提交前检查" not in panel and "改正后才能提交" not in panel
    assert re.search(r"editor姓名 [\d-]+ [\d:]+ 提交", panel) and STALE_NUMBER in panel


def test_an_approved_report_shows_no_checks_as_work_to_do(app, db, auth):
    rid = app.config["SAMPLE_ID"]
    for action in ("submit", "pass", "approve"):
        perform(db, rid, get_user(db, 1), action)
    auth.login("viewer")
    panel = auth.get(f"/reports/{rid}").text.split('id="checks"')[1].split("</section>")[0]
    assert "提交时的检查结果" in panel and "提交前检查" not in panel
