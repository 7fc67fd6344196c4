"""Writing as an office writes (#16): paste from Word/WPS/Excel, the format cheat sheet, who else is editing."""

import functools

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user

from ..clipboard import MAX_HTML_CHARS, html_to_markdown, tsv_to_markdown
from ..db import get_db
from ..permissions import require_edit
from ..presence import Presence
from ..render import render_markdown
from ..reports import InvalidInput, get_report
from ..sections import get_section

bp = Blueprint("editing", __name__)

# The cheat sheet of 格式说明: what to type, and how it comes out (rendered by the site itself).
FORMAT_EXAMPLES = [
    ("分段", "每按一次回车就是一个新段落。\n第二段。"),
    ("加粗、倾斜", "**加粗的文字**，*倾斜的文字*"),
    ("中文编号", "1、按时报送\n（1）预算编制\n①资产管理"),
    ("编号列表", "1. 第一项\n2. 第二项"),
    ("项目符号列表", "- 第一项\n- 第二项"),
    ("表格", "| 项目 | 金额（万元） |\n| 财政拨款 | 2162.14 |"),
    ("引用", "> 引用的文字"),
    ("自评表数值", "自评得分 {{总分}} 分，等级为“{{等级}}”。"),
]


def presence() -> Presence:
    """This process's marks of who is editing what."""
    return current_app.extensions.setdefault("presence", Presence())


@functools.lru_cache(maxsize=1)
def _format_examples() -> list[tuple[str, str, str]]:
    """The examples with their rendering (rendered once per process)."""
    return [(name, text, render_markdown(text)) for name, text in FORMAT_EXAMPLES]


@bp.post("/paste")
def paste():
    """Clipboard HTML (or tab-separated text) as Markdown for the editor to insert at the cursor."""
    html, text = request.form.get("html", ""), request.form.get("text", "")
    plain = request.form.get("mode") == "plain"
    if len(html) > MAX_HTML_CHARS:
        raise InvalidInput("粘贴的内容过大，已按纯文本粘贴。")
    if html.strip():
        converted = html_to_markdown(html, plain=plain)
        markdown, images = converted.markdown, converted.images
    else:
        markdown, images = (None if plain else tsv_to_markdown(text)) or text, 0
    notes = [f"有 {images} 张图片未粘贴：正文只保存文字和表格，图片请另行报送。"] if images else []
    return jsonify(markdown=markdown, notes=notes)


@bp.get("/format-help")
def format_help():
    """格式说明: the Markdown the site supports, each example beside how it shows."""
    return render_template("reports/_format_help.html", examples=_format_examples())


@bp.post("/reports/<int:report_id>/sections/<int:section_id>/presence")
def beat(report_id: int, section_id: int):
    """The editor's heartbeat: mark the section as being edited; answer who else is editing it."""
    db = get_db()
    report = get_report(db, current_user, report_id)
    require_edit(current_user, report)
    get_section(db, report_id, section_id)  # 404 for a section of another report
    others = presence().beat(report_id, section_id, current_user.id, current_user.display_name)
    return render_template("reports/_presence_note.html", others=others)


@bp.post("/reports/<int:report_id>/sections/<int:section_id>/presence/leave")
def leave(report_id: int, section_id: int):
    """The editor closed (cancel, or the page was left): take the mark away."""
    db = get_db()
    get_report(db, current_user, report_id)
    get_section(db, report_id, section_id)  # 404 for a section of another report
    presence().leave(report_id, section_id, current_user.id)
    return "", 204


@bp.get("/reports/<int:report_id>/presence")
def report_presence(report_id: int):
    """Who is editing which section of the report, polled by everyone viewing it."""
    get_report(get_db(), current_user, report_id)
    return render_template("reports/_presence.html",
                           editing=presence().report(report_id, current_user.id))
