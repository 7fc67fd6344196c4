"""Section changes in the domain: structure moves renumber, history is kept, restore adds a revision."""

import pytest

from app.permissions import NotAllowed
from app.reports import InvalidInput, get_report
from app.sections import (
    Conflict,
    add_section,
    delete_section,
    get_sections,
    list_revisions,
    move_section,
    restore_revision,
    save_section,
)
from app.users import get_user


@pytest.fixture
def ctx(app, db):
    """(db, report, editor) for the sample report."""
    editor = get_user(db, 2)
    return db, get_report(db, editor, app.config["SAMPLE_ID"]), editor


def headings(db, report):
    """The outline as printed."""
    return [s.heading for s in get_sections(db, report["id"])]


def by_title(db, report, title):
    """The section with this title."""
    return next(s for s in get_sections(db, report["id"]) if s.title == title)


def test_moving_a_section_up_takes_its_subsections_and_renumbers(ctx):
    db, report, editor = ctx
    move_section(db, report, editor, by_title(db, report, "履职效能分析").id, "up")
    outline = headings(db, report)
    assert outline[:5] == ["一、绩效自评情况", "（一）部门整体支出绩效目标", "（二）履职效能分析",
                           "1.扩面提质，在完善残疾人康复服务上持续用力",
                           "2.多措并举，在完善残疾人就业服务上持续用力"]
    assert outline[8] == "（三）自评结论"


def test_first_sibling_cannot_move_up(ctx):
    db, report, editor = ctx
    with pytest.raises(InvalidInput, match="不能再上移"):
        move_section(db, report, editor, by_title(db, report, "部门整体支出绩效目标").id, "up")


def test_indent_and_outdent_change_level_and_numbers(ctx):
    db, report, editor = ctx
    sid = by_title(db, report, "管理效率分析").id
    move_section(db, report, editor, sid, "indent")
    assert "6.管理效率分析" in headings(db, report)
    move_section(db, report, editor, sid, "outdent")
    assert "（四）管理效率分析" in headings(db, report)


def test_add_child_and_sibling_then_delete_with_subsections(ctx):
    db, report, editor = ctx
    parent = by_title(db, report, "管理效率分析").id
    child = add_section(db, report, editor, "预算编制", after_id=parent, child=True)
    add_section(db, report, editor, "预算执行", after_id=child)
    outline = headings(db, report)
    assert outline[outline.index("（四）管理效率分析") + 1:][:2] == ["1.预算编制", "2.预算执行"]
    assert delete_section(db, report, editor, parent) == 3
    assert "（四）管理效率分析" not in headings(db, report)
    assert headings(db, report)[-1] == "二、存在的主要问题和下一步改进措施"


def test_save_keeps_every_revision_and_restore_adds_one(ctx):
    db, report, editor = ctx
    section = by_title(db, report, "自评结论")
    original = section.markdown
    save_section(db, report, editor, section.id, "第二版", 1)
    save_section(db, report, editor, section.id, "第三版", 2, title="自评结论（修订）")
    revisions = list_revisions(db, section.id)
    assert [r.version for r in revisions] == [3, 2, 1]
    restored = restore_revision(db, report, editor, section.id, revisions[-1].id, 3)
    assert restored.markdown == original and restored.title == "自评结论"
    assert restored.version == 4
    assert list_revisions(db, section.id)[0].note == "恢复自第 1 版"


def test_save_from_an_old_version_raises_conflict_with_current_text(ctx):
    db, report, editor = ctx
    sid = by_title(db, report, "自评结论").id
    save_section(db, report, editor, sid, "他人的修改", 1)
    with pytest.raises(Conflict) as raised:
        save_section(db, report, editor, sid, "我的修改", 1)
    assert raised.value.current.markdown == "他人的修改"
    assert by_title(db, report, "自评结论").markdown == "他人的修改"


def test_saving_a_deleted_section_is_a_conflict_without_current(ctx):
    db, report, editor = ctx
    sid = by_title(db, report, "自评结论").id
    delete_section(db, report, editor, sid)
    with pytest.raises(Conflict) as raised:
        save_section(db, report, editor, sid, "我的修改", 1)
    assert raised.value.current is None


def test_unchanged_save_adds_no_revision(ctx):
    db, report, editor = ctx
    section = by_title(db, report, "自评结论")
    save_section(db, report, editor, section.id, section.markdown, 1)
    assert len(list_revisions(db, section.id)) == 1


def test_viewer_cannot_change_structure(ctx, db):
    _, report, _ = ctx
    viewer = get_user(db, 5)
    with pytest.raises(NotAllowed):
        add_section(db, report, viewer, "新部分")


def test_changes_are_in_the_audit_chain(ctx):
    from app.audit import verify_chain

    db, report, editor = ctx
    save_section(db, report, editor, by_title(db, report, "自评结论").id, "改", 1)
    actions = [r["action"] for r in db.query("SELECT action FROM audit_log ORDER BY id")]
    assert "section.save" in actions and "report.create" in actions
    assert verify_chain(db) is None
    db.execute("DROP TRIGGER audit_log_no_update")
    db.execute("UPDATE audit_log SET detail = '{}' WHERE action = 'section.save'")
    assert verify_chain(db) is not None
