"""The append-only audit trail; each row is chained to the previous one by a SHA-256 hash."""

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlite_utils

from . import clock
from .db import all_rows, one, rows
from .labels import ROLES, STATUS_LABELS

GENESIS = "0" * 64
PAGE_SIZE = 50

# What each action is called in the office; an action missing here is shown by its code.
ACTION_LABELS = {
    "login": "登录",
    "login.failed": "登录失败",
    "user.create": "新建账号",
    "user.deactivate": "停用账号",
    "user.activate": "启用账号",
    "user.password_reset": "重置密码",
    "user.role_change": "更改角色或单位",
    "unit.create": "新建单位",
    "unit.update": "修改单位",
    "report.create": "新建报告",
    "report.header": "修改标题和前言",
    "report.export": "导出报告",
    "text.repair": "清理文字中的不可见字符",
    "user.contact": "修改电子邮件或目录账号",
    "user.mail_setting": "开启或关闭邮件提醒",
    "mail.resend": "重新发送邮件",
    "form.import": "从 Excel 导入自评表",
    "report.clone": "由上年度复制新建",
    "share.create": "创建分享链接",
    "share.revoke": "撤销分享链接",
    "report.submit": "提交审核",
    "report.pass": "审核通过",
    "report.return": "退回修改",
    "report.approve": "审批定稿",
    "report.reopen": "重新打开",
    "section.save": "保存部分",
    "section.add": "添加部分",
    "section.delete": "删除部分",
    "section.move": "调整结构",
    "comment.add": "添加意见",
    "comment.resolve": "意见已处理",
    "section.confirm_carried": "确认沿用上年文字无需修改",
    "section.keep_year": "标记年份为有意保留",
    "section.unkeep_year": "取消年份的有意保留",
    "form.header": "修改自评表表头",
    "form.goals": "修改年度总体目标",
    "form.rules": "修改评分规则或预算执行分值",
    "form.template": "套用自评表默认模板",
    "form.budget.add": "添加预算资金行",
    "form.budget.save": "修改预算资金行",
    "form.budget.delete": "删除预算资金行",
    "form.budget.move": "调整预算资金行顺序",
    "form.indicators.add": "添加绩效指标",
    "form.indicators.save": "修改绩效指标",
    "form.indicators.delete": "删除绩效指标",
    "form.indicators.move": "调整绩效指标顺序",
}
# Detail keys in the order they are shown, with their names; other keys follow as they are.
DETAIL_LABELS = {
    "user": "用户", "old_role": "原角色", "role": "角色", "old_unit": "原单位", "unit": "单位",
    "old_name": "原名称", "name": "名称", "old_code": "原预算编码", "code": "预算编码",
    "from_status": "原状态", "to_status": "新状态", "reason": "原因", "opinion": "意见", "title": "标题",
    "titles": "标题", "direction": "方式", "version": "版本", "note": "说明", "how": "方式",
    "sections": "部分数", "format": "格式", "revisions": "涉及修订", "edition_id": "定稿版本编号",
    "comment_id": "意见编号", "reply_to": "回复意见编号", "unit_id": "单位编号",
    "form_row": "自评表行", "form_rows": "涉及的自评表行", "mention": "年份所在文字",
    "table": "数据表", "column": "字段", "rows": "行编号", "count": "行数",
    "email": "电子邮件", "mail_enabled": "邮件提醒", "directory": "目录账号", "outbox_id": "邮件编号",
    "recipient": "收件人", "file": "文件",
    "row": "行编号", "changes": "修改", "values": "内容", "lines": "预算资金行数", "indicators": "指标数",
}
# Columns of the 自评表 as the form names them, for "changes" and "values" of form.* rows.
FORM_FIELD_LABELS = {
    "source": "资金来源", "initial": "年初预算数", "adjusted": "全年预算数", "executed": "全年执行数",
    "level1": "一级指标", "level2": "二级指标", "name": "三级指标", "kind": "性质", "direction": "方向",
    "unit": "计量单位", "target": "年度指标值", "actual": "实际完成值", "rating": "评价结果", "weight": "分值",
    "override_score": "调整后得分", "override_reason": "调整理由", "reason": "偏差原因",
    "contact_name": "联系人", "contact_phone": "联系电话", "filled_on": "填报日期", "unmet_reason": "未完成原因",
    "budget_weight": "预算执行分值", "rules": "评分规则",
}
_LOGIN_REASONS = {"bad password": "密码错误", "unknown user": "用户名不存在", "locked": "账号锁定中",
                  "inactive": "账号已停用"}
_MOVES = {"up": "上移", "down": "下移", "indent": "降为下级", "outdent": "升为上级"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _row_hash(prev_hash: str, row: dict) -> str:
    """Hash of a row's content together with the hash of the row before it."""
    payload = json.dumps(
        [prev_hash, row["at"], row["actor_id"], row["action"], row["report_id"],
         row["section_id"], row["detail"]],
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(
    db: sqlite_utils.Database,
    action: str,
    actor_id: int | None = None,
    report_id: int | None = None,
    section_id: int | None = None,
    **detail,
) -> None:
    """Append one audit row; call inside the write transaction of the action it records."""
    last = one(db, "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
    prev_hash = last["hash"] if last else GENESIS
    row = {
        "at": clock.now(),
        "actor_id": actor_id,
        "action": action,
        "report_id": report_id,
        "section_id": section_id,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
    }
    row["prev_hash"] = prev_hash
    row["hash"] = _row_hash(prev_hash, row)
    db.execute(
        "INSERT INTO audit_log (at, actor_id, action, report_id, section_id, detail, prev_hash, hash)"
        " VALUES (:at, :actor_id, :action, :report_id, :section_id, :detail, :prev_hash, :hash)",
        row,
    )


def verify_chain(db: sqlite_utils.Database) -> int | None:
    """The id of the first row whose hash does not match, or None when the chain is intact."""
    prev_hash = GENESIS
    for row in rows(db, "SELECT * FROM audit_log ORDER BY id"):
        if row["prev_hash"] != prev_hash or row["hash"] != _row_hash(prev_hash, row):
            return row["id"]
        prev_hash = row["hash"]
    return None


def count(db: sqlite_utils.Database) -> int:
    """How many rows the audit log holds."""
    return db.execute("SELECT count(*) FROM audit_log").fetchone()[0]


def action_label(action: str) -> str:
    """An action as the office names it, or its code when it has no name yet."""
    return ACTION_LABELS.get(action, action)


def _value_text(action: str, key: str, value) -> str:
    """One detail value in words."""
    if key in ("role", "old_role"):
        return ROLES.get(value, value)
    if key in ("from_status", "to_status"):
        return STATUS_LABELS.get(value, value)
    if key == "reason" and action == "login.failed":
        return _LOGIN_REASONS.get(value, value)
    if key == "direction":
        return _MOVES.get(value, value)
    if isinstance(value, dict) and action.startswith("form.") and key in ("changes", "values"):
        def shown(item):
            return "（空）" if item in (None, "") else str(item)
        if key == "changes":
            return "，".join(f"{FORM_FIELD_LABELS.get(k, k)} {shown(v[0])} → {shown(v[1])}" for k, v in value.items())
        return "，".join(f"{FORM_FIELD_LABELS.get(k, k)} {shown(v)}" for k, v in value.items() if v not in (None, ""))
    if isinstance(value, dict):
        return f"{len(value)} 个部分" if key == "revisions" else f"{len(value)} 项"
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    return str(value)


def describe(action: str, detail: str) -> str:
    """A row's stored detail JSON as one line of Chinese: 用户：zhang；角色：填报人."""
    try:
        values = json.loads(detail or "{}")
    except ValueError:
        return detail
    if not isinstance(values, dict):
        return str(values)
    keys = [k for k in DETAIL_LABELS if k in values] + sorted(k for k in values if k not in DETAIL_LABELS)
    parts = []
    for key in keys:
        value = values[key]
        if value is None or value == "" or value == [] or value == {}:
            continue
        parts.append(f"{DETAIL_LABELS.get(key, key)}：{_value_text(action, key, value)}")
    return "；".join(parts)


class FilterError(ValueError):
    """A filter of the audit pages cannot be used; the message says why, in Chinese."""


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows to show: every field left empty matches everything."""

    action: str = ""
    actor_id: int | None = None
    report_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (for page links and the CSV export)."""
        args = {"action": self.action, "user": self.actor_id, "report": self.report_id,
                "date_from": self.date_from, "date_to": self.date_to}
        return {key: str(value) for key, value in args.items() if value not in (None, "")}


def _positive_int(text: str, message: str) -> int | None:
    """A positive integer typed into a filter, None when empty, or FilterError."""
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**63:
        raise FilterError(message)
    return int(text)


def _date(text: str, name: str) -> date | None:
    """A YYYY-MM-DD date typed into a filter, None when empty, or FilterError."""
    text = text.strip()
    if not text:
        return None
    if _DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise FilterError(f"{name}“{text[:20]}”无效，请按 年-月-日 填写，如 2025-03-18。")


def parse_filter(args: Mapping[str, str]) -> AuditFilter:
    """The filter from a query string's arguments; raises FilterError with a Chinese message."""
    action = args.get("action", "").strip()
    if len(action) > 50:
        raise FilterError("操作类型无效。")
    flt = AuditFilter(
        action=action,
        actor_id=_positive_int(args.get("user", ""), "操作人无效，请从列表中选择。"),
        report_id=_positive_int(args.get("report", ""), "报告编号须为正整数，如 12。"),
        date_from=_date(args.get("date_from", ""), "起始日期"),
        date_to=_date(args.get("date_to", ""), "截止日期"),
    )
    if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
        raise FilterError("起始日期不能晚于截止日期。")
    return flt


def _day_start(day: date, zone: str) -> str:
    """The UTC timestamp at which a local calendar day begins, in the stored format."""
    start = datetime.combine(day, time.min, ZoneInfo(zone)).astimezone(UTC)
    return start.isoformat(timespec="microseconds")


def _where(flt: AuditFilter, zone: str) -> tuple[str, list]:
    """SQL conditions and parameters for a filter; dates are whole local days."""
    conditions, params = [], []
    if flt.action:
        conditions.append("audit_log.action = ?")
        params.append(flt.action)
    if flt.actor_id is not None:
        conditions.append("audit_log.actor_id = ?")
        params.append(flt.actor_id)
    if flt.report_id is not None:
        conditions.append("audit_log.report_id = ?")
        params.append(flt.report_id)
    if flt.date_from:
        conditions.append("audit_log.at >= ?")
        params.append(_day_start(flt.date_from, zone))
    if flt.date_to:
        conditions.append("audit_log.at < ?")
        params.append(_day_start(flt.date_to + timedelta(days=1), zone))
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params


_SELECT = (
    "SELECT audit_log.*, users.display_name AS actor_name, users.username AS actor_username,"
    " sections.title AS section_title FROM audit_log"
    " LEFT JOIN users ON users.id = audit_log.actor_id"
    " LEFT JOIN sections ON sections.id = audit_log.section_id"
)
_COUNT = "SELECT count(*) FROM audit_log"


def _labelled(row: dict) -> dict:
    """A row with its action and detail in words."""
    row["label"] = action_label(row["action"])
    row["detail_text"] = describe(row["action"], row["detail"])
    return row


def page_number(text: str) -> int:
    """The page number asked for; anything unreadable is the first page."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 1


@dataclass
class AuditPage:
    """One page of audit rows, newest first."""

    rows: list[dict]
    total: int
    page: int
    pages: int


def search(
    db: sqlite_utils.Database, flt: AuditFilter, zone: str = "Asia/Shanghai", page: int = 1,
    per_page: int = PAGE_SIZE,
) -> AuditPage:
    """The rows matching a filter, one page of them, newest first (a page past the end shows the last)."""
    where, params = _where(flt, zone)
    total = db.execute(_COUNT + where, params).fetchone()[0]
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    found = all_rows(db, _SELECT + where + " ORDER BY audit_log.id DESC LIMIT ? OFFSET ?",
                     [*params, per_page, (page - 1) * per_page])
    return AuditPage([_labelled(row) for row in found], total, page, pages)


def actions_in_use(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(code, label) of every known action and every action the log holds, by code."""
    codes = set(ACTION_LABELS) | {r[0] for r in db.execute("SELECT DISTINCT action FROM audit_log")}
    return sorted(((code, action_label(code)) for code in codes), key=lambda pair: pair[0])


CSV_COLUMNS = ["序号", "时间", "操作人", "用户名", "操作", "操作代码", "报告编号", "部分编号", "部分标题", "详情"]


def _cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    # A login name or section title such as =HYPERLINK(…) must not become a formula in Excel.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def to_csv(db: sqlite_utils.Database, flt: AuditFilter, zone: str = "Asia/Shanghai") -> str:
    """Every row matching a filter as CSV, newest first: UTF-8 with a BOM so that Excel reads Chinese."""
    where, params = _where(flt, zone)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    local = ZoneInfo(zone)
    for row in rows(db, _SELECT + where + " ORDER BY audit_log.id DESC", params):
        row = _labelled(row)
        at = clock.parse(row["at"]).astimezone(local).strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow([_cell(v) for v in (
            row["id"], at, row["actor_name"], row["actor_username"], row["label"], row["action"],
            row["report_id"], row["section_id"], row["section_title"], row["detail_text"],
        )])
    return out.getvalue()
