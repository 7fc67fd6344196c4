"""The 自评表 on the report page: rows edited in place, live score preview, totals and checks kept current."""

import re
import secrets

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from ..audit import FORM_FIELD_LABELS
from ..checks import Checks
from ..comments import can_comment, can_reply, comments_by_section, form_row_anchor, form_rows
from ..db import get_db
from ..facts import write_then_state
from ..form_model import FormInputError, actual_text, kind_label, rules_fields, target_text
from ..form_store import (
    TABLES,
    FormState,
    RowConflict,
    add_row,
    apply_template,
    delete_row,
    form_state,
    get_row,
    load_form,
    move_row,
    save_budget_weight,
    save_goals,
    save_header,
    save_row,
    save_rules,
)
from ..permissions import can_edit, require_edit
from ..placeholders import DESCRIPTIONS
from ..quantities import fixed, plain
from ..reports import InvalidInput, get_report
from ..scoring import DIRECTIONS, KINDS, RATINGS, line_rate, percent, score_form
from ..traces import prior_values
from ..workflow import checks_at_submission
from .errors import error_response

bp = Blueprint("form", __name__, url_prefix="/reports/<int:report_id>/form")
PREFIX = {"budget": "line", "indicators": "ind"}
# The page id of a row being edited: line-12, or ind-new-1a2b3c4d for a row not saved yet.
_KEY = re.compile(r"(?:line|ind)-(?:new-[0-9a-f]{1,16}|[0-9]{1,12})")


@bp.app_template_filter("money")
def money_filter(value) -> str:
    """An amount in 万元 with two decimals, empty when not filled in."""
    return fixed(value)


@bp.app_template_filter("plain")
def plain_filter(value) -> str:
    """A Decimal as people write it (10, 2.5)."""
    return plain(value)


@bp.app_template_filter("percent")
def percent_filter(value) -> str:
    """A fraction as a percentage with two decimals."""
    return percent(value)


@bp.app_context_processor
def form_helpers() -> dict:
    """Names the form templates use."""
    return {"target_text": target_text, "actual_text": actual_text, "kind_label": kind_label,
            "line_rate": line_rate, "DIRECTIONS": DIRECTIONS, "KINDS": KINDS, "RATINGS": RATINGS,
            "PLACEHOLDER_HELP": DESCRIPTIONS, "FIELD_LABELS": FORM_FIELD_LABELS}


def _version() -> int:
    """The version the editor started from."""
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        raise InvalidInput("缺少版本号，请刷新页面后重试。") from None


def form_context(db, report: dict, state: FormState | None = None, sections=None) -> dict:
    """What the 自评表 panel, the score badge and the checks panel need (also used by the report page)."""
    state = state or form_state(db, report, sections)
    grades = [name for name, _ in state.form.rules.grades]
    return {
        "fs": state,
        "form": state.form,
        "score": state.score,
        "ind_scores": {i.id: s for i, s in zip(state.form.indicators, state.score.indicators, strict=True)},
        "grade_index": grades.index(state.score.grade) if state.score.grade in grades else len(grades) - 1,
        "is_admin": current_user.is_admin,
        "priors": prior_values(db, report["id"]) if report.get("cloned_from") else {},
        **form_comments_context(db, report),
        **checks_context(db, report, state),
    }


def checks_context(db, report: dict, state: FormState) -> dict:
    """What the checks panel needs (reports/_checks.html): all a saved section sends back beside itself."""
    return {"checks": state.checks, "submitted_checks": _submitted_checks(db, report),
            "form_editable": can_edit(current_user, report)}


def _submitted_checks(db, report: dict) -> dict | None:
    """On a submitted or approved report: when, by whom and what the checks found at submission ("found")."""
    if report["status"] == "draft":
        return None
    seen = checks_at_submission(db, report["id"])
    if seen is not None:
        seen["found"] = Checks.from_dict(seen["checks"]) if seen["checks"] else None
    return seen


def form_comments_context(db, report: dict) -> dict:
    """What the form's comment panel and its rows' markers need: threads by row, names, open counts."""
    threads = {key: thread for key, thread in comments_by_section(db, report["id"]).items() if isinstance(key, str)}
    return {
        "form_threads": threads,
        "row_names": form_rows(db, report["id"]),
        "row_anchor": form_row_anchor,
        "row_open": {key: sum(1 for c in thread if c.resolved_at is None) for key, thread in threads.items()},
    }


def _report(report_id: int) -> dict:
    """The report, if the user may see it."""
    return get_report(get_db(), current_user, report_id)


def _back(report: dict, anchor: str = "form"):
    """Without htmx, every change ends on the report page at the form."""
    return redirect(url_for("reports.show", report_id=report["id"], _anchor=anchor), code=303)


def _changed(report: dict, template: str, budget: bool = False, status: int = 200, state: FormState | None = None,
             **extra):
    """A fragment plus out-of-band updates of the totals, the badge, the checks and placeholders (from `state`,
    the form state the write left, if at hand)."""
    db = get_db()
    context = {"report": report, **form_context(db, report, state), "can_comment": can_comment(current_user, report),
               "can_reply": can_reply(current_user, report), **extra}
    main = render_template(template, **context) if template else ""
    oob = render_template("reports/_form_oob.html", budget_changed=budget, **context)
    return main + oob, status


def _row_fields(kind: str, row) -> dict[str, str]:
    """A stored row as the strings its edit form shows."""
    if kind == "budget":
        return {"source": row.source, "initial": fixed(row.initial), "adjusted": fixed(row.adjusted),
                "executed": fixed(row.executed)}
    return {"level1": row.level1, "level2": row.level2, "name": row.name, "kind": row.kind,
            "direction": row.direction, "unit": row.unit, "target": row.target, "actual": row.actual,
            "rating": row.rating or "", "weight": plain(row.weight),
            "override_score": plain(row.override_score) if row.override_score is not None else "",
            "override_reason": row.override_reason, "reason": row.reason}


def _key(kind: str, fallback: str) -> str:
    """The page id the browser sent for the row (it names the elements to update), if well-formed."""
    key = request.form.get("key", "")
    return key if _KEY.fullmatch(key) and key.startswith(PREFIX[kind] + "-") else fallback


def _submitted(kind: str) -> dict[str, str]:
    """The row fields as the browser sent them."""
    return {column: request.form.get(column, "") for column in TABLES[kind].columns}


def _edit_row(report: dict, kind: str, key: str, values: dict, row=None, errors=None, conflict=None,
              after: str = "", status: int = 200):
    """A row's edit panel (new when row is None), with messages beside the fields."""
    db = get_db()
    return render_template(
        f"reports/_form_{kind}_edit.html", report=report, kind=kind, key=key, row=row, values=values,
        errors=errors or {}, conflict=conflict, after=after, **form_context(db, report),
    ), status


def _view_row_template(kind: str) -> str:
    """The template of a row in view mode."""
    return f"reports/_form_{kind}_row.html"


@bp.post("/template")
def template(report_id: int):
    """Fill an empty form with the default template."""
    db = get_db()
    report = _report(report_id)
    apply_template(db, report, current_user)
    if not request.htmx:
        return _back(report)
    return _changed(report, "reports/_form.html", budget=False)


# --- Budget lines and indicators ------------------------------------------------------------------


@bp.get("/<any(budget, indicators):kind>/new")
def new_row(report_id: int, kind: str):
    """An empty edit panel for a new row (after another row, or at the end)."""
    report = _report(report_id)
    require_edit(current_user, report)
    after = request.args.get("after", "")
    values = {}
    if kind == "indicators":
        values = {"kind": "quantitative", "direction": ">=", "weight": "0"}
        if after.isdigit():
            above = get_row(get_db(), report_id, kind, int(after))
            values.update(level1=above.level1, level2=above.level2)
        else:
            values.update(level1="履职效能")
    key = f"{PREFIX[kind]}-new-{secrets.token_hex(4)}"
    return _edit_row(report, kind, key, values, after=after if after.isdigit() else "")


@bp.post("/<any(budget, indicators):kind>")
def create_row(report_id: int, kind: str):
    """Add a row; a refused one comes back with messages and nothing stored."""
    db = get_db()
    report = _report(report_id)
    key = _key(kind, f"{PREFIX[kind]}-new-0")
    after = request.form.get("after", "")
    try:
        row = add_row(db, report, current_user, kind, _submitted(kind), int(after) if after.isdigit() else None)
    except FormInputError as error:
        if not request.htmx:
            raise InvalidInput(str(error)) from None
        return _edit_row(report, kind, key, _submitted(kind), errors=error.errors, after=after, status=422)
    if not request.htmx:
        return _back(report, f"{PREFIX[kind]}-{row.id}")
    return _changed(report, _view_row_template(kind), budget=kind == "budget", row=row, kind=kind)


@bp.get("/<any(budget, indicators):kind>/<int:row_id>")
def show_row(report_id: int, kind: str, row_id: int):
    """A row in view mode (what 取消 swaps back in)."""
    report = _report(report_id)
    row = get_row(get_db(), report_id, kind, row_id)
    if not request.htmx:
        return _back(report, f"{PREFIX[kind]}-{row_id}")
    return render_template(_view_row_template(kind), report=report, row=row, kind=kind,
                           **form_context(get_db(), report))


@bp.get("/<any(budget, indicators):kind>/<int:row_id>/edit")
def edit_row(report_id: int, kind: str, row_id: int):
    """A row's edit panel."""
    report = _report(report_id)
    require_edit(current_user, report)
    row = get_row(get_db(), report_id, kind, row_id)
    return _edit_row(report, kind, f"{PREFIX[kind]}-{row_id}", _row_fields(kind, row), row=row)


@bp.post("/<any(budget, indicators):kind>/<int:row_id>")
def update_row(report_id: int, kind: str, row_id: int):
    """Save a row: 200 with the re-scored row, 409 if it changed meanwhile, 422 if the input is refused."""
    db = get_db()
    report = _report(report_id)
    key = f"{PREFIX[kind]}-{row_id}"
    submitted, version = _submitted(kind), _version()
    try:
        row, state = write_then_state(
            db, report, lambda: save_row(db, report, current_user, kind, row_id, submitted, version))
    except FormInputError as error:
        if not request.htmx:
            raise InvalidInput(str(error)) from None
        current = get_row(db, report_id, kind, row_id)
        return _edit_row(report, kind, key, _submitted(kind), row=current, errors=error.errors, status=422)
    except RowConflict as conflict:
        if not request.htmx:
            raise InvalidInput("该行在您编辑期间已被他人修改，您的修改没有保存。请刷新页面后重试。") from None
        return _edit_row(report, kind, key, _submitted(kind), row=conflict.current,
                         conflict={"current": conflict.current,
                                   "fields": _row_fields(kind, conflict.current) if conflict.current else None},
                         status=409)
    if not request.htmx:
        return _back(report, key)
    return _changed(report, _view_row_template(kind), budget=kind == "budget", state=state, row=row, kind=kind)


@bp.post("/<any(budget, indicators):kind>/<int:row_id>/delete")
def remove_row(report_id: int, kind: str, row_id: int):
    """Delete a row (the browser asked first); refused if someone changed it since the page was shown."""
    db = get_db()
    report = _report(report_id)
    try:
        delete_row(db, report, current_user, kind, row_id, _version())
    except RowConflict as conflict:
        message = ("该行已被他人删除。" if conflict.current is None else
                   "该行在您打开页面后已被他人修改，没有删除。请刷新页面核对后再操作。")
        return error_response(409, message)
    if not request.htmx:
        return _back(report)
    return _changed(report, "", budget=kind == "budget")


@bp.post("/<any(budget, indicators):kind>/<int:row_id>/move")
def move(report_id: int, kind: str, row_id: int):
    """Move a row up or down; the table body comes back in its new order."""
    db = get_db()
    report = _report(report_id)
    move_row(db, report, current_user, kind, row_id, request.form.get("direction", ""))
    if not request.htmx:
        return _back(report, f"{PREFIX[kind]}-{row_id}")
    context = form_context(db, report)
    return render_template(f"reports/_form_{kind}_body.html", report=report, kind=kind, **context)


@bp.post("/<any(budget, indicators):kind>/preview")
def preview(report_id: int, kind: str):
    """The score a row would get, and the total after saving it, while the user types (nothing stored)."""
    db = get_db()
    report = _report(report_id)
    require_edit(current_user, report)
    row_id = request.form.get("row_id", "")
    key = _key(kind, f"{PREFIX[kind]}-{row_id}" if row_id.isdigit() else f"{PREFIX[kind]}-new-0")
    errors, row = {}, None
    try:
        row = TABLES[kind].clean(_submitted(kind))
    except FormInputError as error:
        errors = error.errors
    result = None
    if row is not None:
        form = load_form(db, report_id)
        rows = form.lines if kind == "budget" else form.indicators
        at = next((i for i, r in enumerate(rows) if row_id.isdigit() and r.id == int(row_id)), None)
        if at is None:
            rows.append(row)
        else:
            rows[at] = row
        scored = score_form(form.lines, form.indicators, form.budget_weight, form.rules)
        index = len(rows) - 1 if at is None else at
        result = {"total": scored, "row": scored.indicators[index] if kind == "indicators" else None,
                  "line": row if kind == "budget" else None}
    return render_template("reports/_form_preview.html", kind=kind, key=key, errors=errors, result=result,
                           fields=TABLES[kind].columns)


# --- Header, goals, execution weight, rules -----------------------------------------------------


def _single(report_id: int, part: str, mode: str):
    """The header or goals block in view or edit mode."""
    report = _report(report_id)
    if mode == "edit":
        require_edit(current_user, report)
    if not request.htmx:
        return _back(report, f"form-{part}")
    return render_template(f"reports/_form_{part}{'_edit' if mode == 'edit' else ''}.html", report=report,
                           values=None, errors={}, conflict=None, **form_context(get_db(), report))


@bp.get("/<any(header, goals):part>")
def show_part(report_id: int, part: str):
    """The header or goals block (what 取消 swaps back in)."""
    return _single(report_id, part, "view")


@bp.get("/<any(header, goals):part>/edit")
def edit_part(report_id: int, part: str):
    """The header or goals block as a form."""
    return _single(report_id, part, "edit")


@bp.post("/<any(header, goals):part>")
def save_part(report_id: int, part: str):
    """Save the header or goals: 409 if someone saved them meanwhile, 422 if refused."""
    db = get_db()
    report = _report(report_id)
    names = ("contact_name", "contact_phone", "filled_on") if part == "header" else ("target", "actual", "unmet_reason")
    values = {name: request.form.get(name, "") for name in names}
    save = save_header if part == "header" else save_goals
    template_name = f"reports/_form_{part}_edit.html"
    version = _version()
    try:
        _, state = write_then_state(db, report, lambda: save(db, report, current_user, values, version))
    except FormInputError as error:
        if not request.htmx:
            raise InvalidInput(str(error)) from None
        return render_template(template_name, report=report, values=values, errors=error.errors, conflict=None,
                               **form_context(db, report)), 422
    except RowConflict:
        if not request.htmx:
            raise InvalidInput("该部分在您编辑期间已被他人修改，您的修改没有保存。请刷新页面后重试。") from None
        return render_template(template_name, report=report, values=values, errors={}, conflict=True,
                               **form_context(db, report)), 409
    if not request.htmx:
        return _back(report, f"form-{part}")
    return _changed(report, f"reports/_form_{part}.html", state=state)


@bp.get("/budget-weight/edit")
def edit_budget_weight(report_id: int):
    """The 合计 row with the execution weight as an input."""
    report = _report(report_id)
    require_edit(current_user, report)
    return render_template("reports/_form_budget_total.html", report=report, editing_weight=True,
                           weight_value=None, weight_error="", **form_context(get_db(), report))


@bp.get("/budget-weight")
def show_budget_weight(report_id: int):
    """The 合计 row in view mode."""
    report = _report(report_id)
    return render_template("reports/_form_budget_total.html", report=report, editing_weight=False,
                           **form_context(get_db(), report))


@bp.post("/budget-weight")
def update_budget_weight(report_id: int):
    """Save the execution weight (分值 of the budget table)."""
    db = get_db()
    report = _report(report_id)
    text = request.form.get("budget_weight", "")
    try:
        save_budget_weight(db, report, current_user, text, _version())
    except (FormInputError, RowConflict) as error:
        stale = "评分规则在您编辑期间已被修改，请刷新页面后重试。"
        message = str(error) if isinstance(error, FormInputError) else stale
        if not request.htmx:
            raise InvalidInput(message) from None
        return render_template("reports/_form_budget_total.html", report=report, editing_weight=True,
                               weight_value=text, weight_error=message, **form_context(db, report)), (
            422 if isinstance(error, FormInputError) else 409)
    if not request.htmx:
        return _back(report, "form-budget")
    return _changed(report, "reports/_form_budget_total.html", editing_weight=False)


@bp.route("/rules", methods=["GET", "POST"])
def rules(report_id: int):
    """The scoring rules of this report: qualitative coefficients, grade bands, over-achievement threshold."""
    db = get_db()
    report = _report(report_id)
    context = form_context(db, report)
    values, errors, status = rules_fields(context["form"].rules), {}, 200
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in values}
        try:
            save_rules(db, report, current_user, values, _version())
        except FormInputError as error:
            errors, status = error.errors, 422
        except RowConflict:
            errors, status = {"form": "评分规则在您编辑期间已被他人修改，未保存。请刷新页面后重试。"}, 409
        else:
            return _back(report)
    return render_template("reports/form_rules.html", report=report, values=values, errors=errors,
                           may_change=context["form_editable"] and current_user.is_admin, **context), status
