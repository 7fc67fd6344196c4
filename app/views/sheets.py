"""Importing a 自评表 from .xlsx: upload, a preview with every problem by cell, then one confirmed change."""

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..db import get_db
from ..form_import import ImportConflict, apply, preview
from ..form_model import FormInputError, form_from_json, form_to_json
from ..form_store import load_form
from ..permissions import require_edit
from ..reports import InvalidInput, get_report
from ..xlsx_import import MAX_XLSX_BYTES, read_bounded

bp = Blueprint("sheets", __name__, url_prefix="/reports/<int:report_id>/form/import")


def _editable(report_id: int) -> dict:
    """The report, if the user may change its form now (403 otherwise, before any file is read)."""
    report = get_report(get_db(), current_user, report_id)
    require_edit(current_user, report)
    return report


@bp.get("")
def upload(report_id: int):
    """The upload page: choose a .xlsx (this site's export or the bureau's template)."""
    report = _editable(report_id)
    return render_template("reports/form_import.html", report=report, found=None, error=None,
                           max_mb=MAX_XLSX_BYTES // 1024 // 1024)


@bp.post("/preview")
def check(report_id: int):
    """Read the uploaded workbook (in a sandboxed worker) and show what importing it would change."""
    report = _editable(report_id)
    upload_file = request.files.get("file")
    data = upload_file.read(MAX_XLSX_BYTES + 1) if upload_file else b""
    filename = (upload_file.filename or "") if upload_file else ""
    error, found = None, None
    if not data:
        error = "请选择要导入的 .xlsx 文件。"
    else:
        try:
            grid = read_bounded(data)
            found = preview(grid, load_form(get_db(), report_id), report["year"], report["unit_name"])
        except InvalidInput as refusal:
            error = str(refusal)
    payload = json.dumps(form_to_json(found.form), ensure_ascii=False) if found and not found.problems else ""
    status = 422 if error else 200
    return render_template("reports/form_import.html", report=report, found=found, error=error, payload=payload,
                           filename=filename[:200], max_mb=MAX_XLSX_BYTES // 1024 // 1024), status


@bp.post("")
def confirm(report_id: int):
    """Store the previewed form as one change; 409 when the form changed since the preview."""
    report = _editable(report_id)
    try:
        form = form_from_json(json.loads(request.form.get("form", "")))  # the editor's rules, once more
    except (ValueError, FormInputError) as error:
        raise InvalidInput(f"导入的内容无效，未作任何修改：{error}") from None
    try:
        changed = apply(get_db(), report, current_user, form, request.form.get("fingerprint", ""),
                        request.form.get("filename", ""))
    except ImportConflict as conflict:
        return render_template("reports/form_import.html", report=report, found=None, error=str(conflict),
                               max_mb=MAX_XLSX_BYTES // 1024 // 1024), 409
    flash(f"已从 Excel 导入自评表（改动 {changed} 处）。" if changed else "Excel 中的自评表与当前内容相同，没有改动。",
          "info")
    return redirect(url_for("reports.show", report_id=report_id) + "#form", code=303)
