"""Sections edited in place: view ↔ edit fragments, preview, save with conflict view, structure, history."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from ..cloning import stale_sections
from ..comments import can_comment, can_reply, comments_by_section
from ..db import get_db
from ..diffing import diff_lines, has_changes
from ..facts import write_then_state
from ..form_store import placeholder_values
from ..permissions import can_edit, require_edit
from ..placeholders import fill
from ..render import render_markdown
from ..reports import InvalidInput, NotFound, get_report
from ..sections import (
    Conflict,
    add_section,
    check_markdown,
    delete_section,
    get_section,
    get_sections,
    list_revisions,
    move_section,
    restore_revision,
    save_section,
)
from .editing import presence
from .form import checks_context
from .reports import report_context

bp = Blueprint("sections", __name__, url_prefix="/reports/<int:report_id>")


def _version() -> int:
    """The version the editor started from, as sent by the form."""
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        raise InvalidInput("缺少版本号，请刷新页面后重试。") from None


def _page(report: dict, editing: int | None = None, conflict: dict | None = None, status=200):
    """The whole report page, optionally with one section open for editing or in conflict."""
    context = report_context(get_db(), report, editing=editing, conflict=conflict)
    return render_template("reports/show.html", **context), status


def _document(report: dict):
    """Outline and sections re-rendered after a structure change (or the page without htmx)."""
    if not request.htmx:
        return redirect(url_for("reports.show", report_id=report["id"]), code=303)
    return render_template("reports/_document.html", **report_context(get_db(), report))


def section_fragment(template: str, report: dict, section, **extra):
    """One section's view fragment, with its comments and old-year mentions."""
    db = get_db()
    return render_template(
        template, report=report, section=section, editable=can_edit(current_user, report),
        comments=comments_by_section(db, report["id"]), can_comment=can_comment(current_user, report),
        can_reply=can_reply(current_user, report), year_refs=stale_sections(db, report), **extra,
    )


@bp.get("/sections/<int:section_id>")
def show(report_id: int, section_id: int):
    """One section in view mode (the fragment that cancel swaps back in)."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    section = get_section(db, report_id, section_id)
    if not request.htmx:
        return redirect(url_for("reports.show", report_id=report_id, _anchor=f"section-{section_id}"))
    return section_fragment("reports/_section.html", report, section)


@bp.get("/sections/<int:section_id>/edit")
def edit(report_id: int, section_id: int):
    """The edit form of one section: title, Markdown, live preview."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    require_edit(current_user, report)
    section = get_section(db, report_id, section_id)
    if not request.htmx:
        return _page(report, editing=section_id)
    # Told first if someone else has it open (advice only: the 409 conflict view is the guarantee).
    others = presence().others(report_id, section_id, current_user.id)
    return render_template("reports/_section_edit.html", report=report, section=section, others=others,
                           markdown=section.markdown, title=section.title, version=section.version)


@bp.get("/sections/<int:section_id>/menu")
def menu(report_id: int, section_id: int):
    """A section's structure menu: move, add, delete (loaded when the menu is first opened)."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    require_edit(current_user, report)
    section = get_section(db, report_id, section_id)
    template = "reports/_section_menu.html" if request.htmx else "reports/section_menu.html"
    return render_template(template, report=report, section=section)


@bp.post("/preview")
def preview(report_id: int):
    """Rendered HTML of unsaved text, for the live preview (nothing is stored)."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    require_edit(current_user, report)
    html = render_markdown(check_markdown(request.form.get("markdown", "")))
    # The preview shows {{总分}} and the like as the saved text will.
    return render_template("reports/_preview.html", html=fill(html, placeholder_values(db, report_id)))


@bp.post("/sections/<int:section_id>")
def save(report_id: int, section_id: int):
    """Save a section if nobody saved since the editor opened it; else 409 and the conflict view."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    if "markdown" not in request.form:
        raise InvalidInput("没有收到正文内容，未作任何修改。请刷新页面后重试。")
    markdown, title = request.form["markdown"], request.form.get("title")
    version = _version()
    try:
        # The checks read the narrative too (required sections, 自评结论, years): the saved section comes
        # back with them, as the save leaves the report.
        section, state = write_then_state(
            db, report, lambda: save_section(db, report, current_user, section_id, markdown, version, title))
    except Conflict as conflict:
        mine = {"markdown": markdown, "title": title or "", "current": conflict.current}
        if conflict.current is not None:
            mine["diff"] = diff_lines(conflict.current.markdown, markdown.replace("\r\n", "\n"))
        if not request.htmx:
            return _page(report, editing=section_id, conflict=mine, status=409)
        return render_template("reports/_conflict.html", report=report, section_id=section_id,
                               conflict=mine), 409
    presence().leave(report_id, section_id, current_user.id)
    if not request.htmx:
        return redirect(url_for("reports.show", report_id=report_id, _anchor=f"section-{section_id}"),
                        code=303)
    # The outline only when the title the page shows has changed (a form without shown_title: always).
    sections = get_sections(db, report_id) if request.form.get("shown_title") != section.title else None
    return section_fragment("reports/_section_saved.html", report, section, sections=sections,
                            **checks_context(db, report, state))


@bp.post("/sections")
def add(report_id: int):
    """Add a new section at the end, after another section, or as its first subsection."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    after = request.form.get("after")
    add_section(db, report, current_user, request.form.get("title", ""),
                after_id=int(after) if after and after.isdigit() else None,
                child=request.form.get("child") == "1")
    return _document(report)


@bp.post("/sections/<int:section_id>/delete")
def delete(report_id: int, section_id: int):
    """Delete a section with its subsections (the browser asked for confirmation)."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    delete_section(db, report, current_user, section_id)
    return _document(report)


@bp.post("/sections/<int:section_id>/move")
def move(report_id: int, section_id: int):
    """Move a section up or down among its siblings, or change its level."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    move_section(db, report, current_user, section_id, request.form.get("direction", ""))
    return _document(report)


@bp.get("/sections/<int:section_id>/history")
def history(report_id: int, section_id: int):
    """Every saved state of a section, with a diff between any two."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    section = get_section(db, report_id, section_id)
    revisions = list_revisions(db, section_id)
    by_id = {r.id: r for r in revisions}
    newer = by_id.get(request.args.get("b", type=int)) or revisions[0]
    older = by_id.get(request.args.get("a", type=int)) or (
        revisions[1] if len(revisions) > 1 else revisions[0]
    )
    if older.version > newer.version:
        older, newer = newer, older
    diff = diff_lines(older.markdown, newer.markdown)
    return render_template(
        "reports/history.html", report=report, section=section, revisions=revisions,
        older=older, newer=newer, diff=diff, changed=has_changes(diff),
        title_changed=older.title != newer.title, editable=can_edit(current_user, report),
    )


@bp.post("/sections/<int:section_id>/restore")
def restore(report_id: int, section_id: int):
    """Make an earlier revision the current text again, as a new revision."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    try:
        revision_id = int(request.form.get("revision", ""))
    except ValueError:
        raise NotFound("该历史版本不存在。") from None
    try:
        restore_revision(db, report, current_user, section_id, revision_id, _version())
    except Conflict:
        raise InvalidInput("该部分在您查看历史期间已被修改，请刷新历史页面后再恢复。") from None
    return redirect(url_for("reports.show", report_id=report_id, _anchor=f"section-{section_id}"),
                    code=303)

