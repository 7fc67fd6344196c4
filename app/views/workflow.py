"""Review and approval: transitions, comments, changes since a return, editions and the approval sheet."""

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from .. import mail
from ..comments import (
    add_comment,
    comment_place,
    comments_by_section,
    form_rows,
    markers_of_event,
    open_count,
    require_comment,
    resolve_comment,
)
from ..comments import can_comment as may_comment
from ..comments import can_reply as may_reply
from ..db import get_db
from ..diffing import diff_lines
from ..editions import get_edition, verify
from ..reports import InvalidInput, NotFound, get_report
from ..sections import get_section, get_sections
from ..workflow import changes_since_return, list_events, perform
from .reports import report_context

bp = Blueprint("workflow", __name__, url_prefix="/reports/<int:report_id>")


def _optional_int(name: str) -> int | None:
    """A form field as an int, None when empty."""
    value = request.form.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput("参数无效，请刷新页面后重试。")
    return int(value)


@bp.post("/<any(submit, pass, return, approve, reopen):action>")
def transition(report_id: int, action: str):
    """Submit, pass, return, approve or reopen; the page (or its htmx fragment) shows the new state."""
    db = get_db()
    section_ids = tuple(int(v) for v in request.form.getlist("section_ids") if v.isdigit())
    # Return and reopen give a reason; submit, pass and approve an opinion (DESIGN §8).
    text = request.form.get("reason" if action in ("return", "reopen") else "opinion", "")
    perform(db, report_id, current_user, action, text, section_ids, mail=mail.configured(current_app.config),
            form_rows=tuple(request.form.getlist("form_rows")))
    if not request.htmx:
        return redirect(url_for("reports.show", report_id=report_id), code=303)
    report = get_report(db, current_user, report_id)
    return render_template("reports/_report.html", **report_context(db, report))


@bp.post("/comments")
def comment(report_id: int):
    """Add a comment on a section or the whole report, or a reply to one."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    section_id, parent_id = _optional_int("section_id"), _optional_int("parent_id")
    form_row = request.form.get("form_row", "").strip() or None
    add_comment(db, report, current_user, request.form.get("body", ""), section_id, parent_id,
                mail=mail.configured(current_app.config), form_row=form_row)
    if request.form.get("panel") and request.htmx:
        # From the form's own 提意见: the row may have had no thread yet, so the whole panel comes back.
        from .form import form_comments_context

        context = form_comments_context(db, report)
        return "\n".join([render_template("reports/_form_comments.html", report=report, **context,
                                          can_comment=may_comment(current_user, report),
                                          can_reply=may_reply(current_user, report)),
                          render_template("reports/_open_count.html", oob=True,
                                          open_comments=open_count(comments_by_section(db, report["id"])))])
    return _comments_response(db, report, section_id, parent_id, form_row=form_row)


@bp.get("/comments/new")
def new_comment(report_id: int):
    """The form for a comment on one section: opened in place (htmx), or a page of its own without scripts."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    require_comment(current_user, report)
    section_id = request.args.get("section_id", type=int)
    if section_id is None or not 0 < section_id < 2**63:
        raise NotFound("该部分不存在或已被删除，请刷新页面。")
    section = get_section(db, report_id, section_id)
    if request.htmx:
        return render_template("reports/_comment_box.html", report=report, section_id=section.id)
    return render_template("reports/comment_new.html", report=report, section=section)


@bp.post("/comments/<int:comment_id>/resolve")
def resolve(report_id: int, comment_id: int):
    """Mark a comment handled."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    resolve_comment(db, report, current_user, comment_id)
    section_id, event_id, form_row = comment_place(db, comment_id)
    # Resolving a return reason also resolved its markers beside sections and form rows: refresh those too.
    also = markers_of_event(db, event_id) if event_id and section_id is None and form_row is None else []
    return _comments_response(db, report, section_id, form_row=form_row, also=also)


def _comments_response(db, report: dict, section_id: int | None, parent_id: int | None = None,
                       also: list = (), form_row: str | None = None):
    """The comment block of one section, form row or the report re-rendered (with the form's comment panel when
    a form row's changed), or the page without htmx."""
    if parent_id is not None:
        section_id, _, form_row = comment_place(db, parent_id)
    if not request.htmx:
        anchor = f"section-{section_id}" if section_id else "form-comments" if form_row else "report-comments"
        return redirect(url_for("reports.show", report_id=report["id"], _anchor=anchor), code=303)
    threads = comments_by_section(db, report["id"])
    common = {"report": report, "can_comment": may_comment(current_user, report),
              "can_reply": may_reply(current_user, report)}
    key = form_row or section_id
    blocks = [render_template("reports/_comments.html", section_id=key, thread=threads.get(key, []), **common)]
    blocks += [render_template("reports/_comments.html", section_id=other, oob=True,
                               thread=threads.get(other, []), **common) for other in also]
    blocks.append(render_template("reports/_open_count.html", open_comments=open_count(threads), oob=True,
                                  **common))
    return "\n".join(blocks)


@bp.get("/changes")
def changes(report_id: int):
    """What changed in each section since the report was last returned."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    returned, changed = changes_since_return(db, report_id)
    for change in changed:
        change["diff"] = diff_lines(change["old"], change["new"])
    return render_template("reports/changes.html", report=report, returned=returned, changes=changed)


@bp.get("/workflow")
def history(report_id: int):
    """The report's workflow events: who submitted, passed, returned, approved, reopened, and why."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    return render_template("reports/workflow.html", report=report, events=list_events(db, report_id))


@bp.get("/editions/<int:number>")
def edition(report_id: int, number: int):
    """A frozen edition, read-only."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    found = get_edition(db, report_id, number)
    return render_template("reports/edition.html", report=report, edition=found, intact=verify(found))


@bp.get("/editions/<int:number>/sheet")
def sheet(report_id: int, number: int):
    """The approval sheet (审批单) of an edition: who drafted, reviewed and approved, when, with comments."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    found = get_edition(db, report_id, number)
    events = list_events(db, report_id)
    approval = next(e for e in events if e["edition_id"] == found["id"])
    # The cycle that produced this edition: events after the previous approval or reopen.
    cycle = []
    for event in events:
        if event["id"] > approval["id"]:
            break
        if event["action"] == "reopen" or (event["action"] == "approve" and event["id"] != approval["id"]):
            cycle = []
            continue
        cycle.append(event)
    last = {e["action"]: e for e in cycle}
    start = cycle[0]["created_at"] if cycle else ""
    # Markers of a return reason beside sections repeat the report-level reason: list it once.
    notes = [
        c for thread in comments_by_section(db, report_id).values() for c in thread
        if start <= c.created_at <= approval["created_at"] and not (c.event_id and (c.section_id or c.form_row))
    ]
    headings = {s.id: s.heading for s in get_sections(db, report_id)}
    return render_template(
        "reports/sheet.html", report=report, edition=found, intact=verify(found), cycle=cycle,
        submitted=last.get("submit"), passed=last.get("pass"), approved=approval,
        notes=sorted(notes, key=lambda c: c.created_at), headings=headings, row_names=form_rows(db, report_id),
    )
