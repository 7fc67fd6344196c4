"""THE authorization table: every route × method × principal × report state → the expected outcome.

A route is keyed "METHOD rule", with each choice of an any() converter spelled out (one key per
workflow action, form table or form part). test_authz_matrix.py walks app.url_map: a route that is
not in ROUTES fails the test, so a new route cannot slip in without an entry here.

Each route names a policy: a grid of outcomes by principal (rows) and report state (columns), and a
request recipe that would succeed for a principal who is allowed (so an unexpected refusal shows up
as clearly as an unexpected allow).

Outcomes:
  OK        2xx or 3xx, not to the login page (an allowed request, run against a fresh copy)
  LOGIN     302 to /login (the request never reached the view)
  DENY      403 (role, unit or state forbids it)
  CONFLICT  409 (a workflow action that this role takes, but not in this state)
  NOTFOUND  404
  UNAUTH    401 (the login form with wrong credentials)
"""

from dataclasses import dataclass, field

OK, LOGIN, DENY, CONFLICT, NOTFOUND, UNAUTH = "OK", "LOGIN", "DENY", "CONFLICT", "NOTFOUND", "UNAUTH"
STATES = ("draft", "submitted", "reviewed", "approved")
# Same-unit editor, reviewer, approver and viewer; an editor of another unit; the admin (all units);
# a 监管人员 of the finance bureau (reads all units, changes nothing); nobody logged in; a user
# deactivated while logged in.
PRINCIPALS = ("editor", "reviewer", "approver", "viewer", "other_unit", "admin", "supervisor", "anonymous",
              "deactivated")
# Share links: how /s/<token> answers for each kind of token, whoever asks.
SHARE_TOKENS = {"valid": OK, "other_report": OK, "expired": NOTFOUND, "revoked": NOTFOUND,
                "unknown": NOTFOUND, "malformed": NOTFOUND}


def grid(**rows) -> dict:
    """A policy: principal → (draft, submitted, reviewed, approved); one outcome stands for all four."""
    table = {}
    for principal in PRINCIPALS:
        outcome = rows.get(principal, rows.get("others"))
        outcomes = outcome if isinstance(outcome, tuple) else (outcome,) * 4
        assert len(outcomes) == 4 and None not in outcomes, principal
        table[principal] = dict(zip(STATES, outcomes, strict=True))
    return table


D, A = DENY, OK  # for the grids below
GONE = {"anonymous": LOGIN, "deactivated": LOGIN}  # no login, or an account deactivated meanwhile

PUBLIC = grid(others=OK)
LOGIN_FORM = grid(others=UNAUTH)
SIGNED_IN = grid(others=OK, **GONE)
ADMIN_ONLY = grid(admin=OK, others=DENY, **GONE)
# Reading a report: its unit's people, the admin and the 监管人员.
VIEW = grid(editor=OK, reviewer=OK, approver=OK, viewer=OK, admin=OK, supervisor=OK, other_unit=DENY, **GONE)
# Changing the text or the form: the unit's 填报人 or the admin, in a draft only.
EDIT = grid(editor=(A, D, D, D), admin=(A, D, D, D), others=DENY, **GONE)
# The scoring rules: the admin, in a draft.
RULES = grid(admin=(A, D, D, D), others=DENY, **GONE)
# New comments: reviewers, approvers, admin and 监管人员, until approved. Replies and 已处理: editors too.
COMMENT = grid(reviewer=(A, A, A, D), approver=(A, A, A, D), admin=(A, A, A, D), supervisor=(A, A, A, D),
               others=DENY, **GONE)
RESOLVE = grid(editor=(A, A, A, D), reviewer=(A, A, A, D), approver=(A, A, A, D), admin=(A, A, A, D),
               supervisor=(A, A, A, D), others=DENY, **GONE)
# The year summary across units and its spreadsheet: the admin and the 监管人员.
SUMMARY = grid(admin=OK, supervisor=OK, others=DENY, **GONE)
# Making and revoking share links: everyone of the unit but 只读, in any state.
SHARE_WRITE = grid(editor=OK, reviewer=OK, approver=OK, admin=OK, others=DENY, **GONE)
# New reports (new, import, next year's): the unit's 填报人 or the admin.
CREATE = grid(editor=OK, admin=OK, others=DENY, **GONE)
# The new-report and import pages: whoever may create a report in some unit (an editor of another unit
# in theirs).
CREATE_PAGE = grid(editor=OK, other_unit=OK, admin=OK, others=DENY, **GONE)
# One person's notification: theirs to open; to anyone else it does not exist.
OWN_NOTE = grid(editor=OK, others=NOTFOUND, **GONE)
C = CONFLICT
TRANSITIONS = {
    "submit": grid(editor=(A, C, C, C), admin=(A, C, C, C), others=DENY, **GONE),
    "pass": grid(reviewer=(C, A, C, C), admin=(C, A, C, C), others=DENY, **GONE),
    "return": grid(reviewer=(C, A, D, C), approver=(C, D, A, C), admin=(C, A, A, C), others=DENY, **GONE),
    "approve": grid(approver=(C, C, A, C), admin=(C, C, A, C), others=DENY, **GONE),
    "reopen": grid(admin=(C, C, C, A), others=DENY, **GONE),
}


@dataclass(frozen=True)
class Req:
    """How to call a route: the URL (str.format with the world's ids) and the form of a request that works.

    data: a dict, or a function (ids, db) → dict read from the database the request will run on
    (versions). prepare: a function (ids, db) that sets up a fresh copy before an allowed request.
    """

    url: str
    data: object = field(default_factory=dict)
    prepare: object = None
    htmx: bool = False


def _version(sql: str):
    """A data function adding {"version": <the row's version>} to fixed fields."""
    def data(fields: dict):
        def build(ids, db):
            return {**fields, "version": db.execute(sql.format(**ids)).fetchone()[0]}
        return build
    return data


_SECTION_VERSION = _version("SELECT version FROM sections WHERE id = {section}")
_INDICATOR = {"level1": "履职效能", "level2": "产出指标", "name": "新指标", "kind": "quantitative",
              "direction": ">=", "unit": "人", "target": "100", "actual": "100", "weight": "0",
              "override_score": "", "override_reason": "", "reason": "", "rating": ""}
_LINE = {"source": "其他资金", "initial": "1", "adjusted": "1", "executed": "1"}
_ROW = {"budget": _LINE, "indicators": _INDICATOR}
_TABLE = {"budget": "budget_lines", "indicators": "indicators"}
_PARTS = {"header": ({"contact_name": "张三", "contact_phone": "020-12345678", "filled_on": "2025-03-15"},
                     "form_headers"),
          "goals": ({"target": "目标", "actual": "完成", "unmet_reason": ""}, "goals")}


def _rules(ids, db):
    """The scoring rules as the page shows them, and their version."""
    from app.form_model import rules_fields
    from app.form_store import load_form

    form = load_form(db, ids["report"])
    return {**rules_fields(form.rules), "overachievement": "40", "version": form.rules_version}


def _empty_form(ids, db):
    """The default template applies to an empty form only."""
    for table in ("budget_lines", "indicators"):
        db.execute(f"DELETE FROM {table} WHERE report_id = ?", (ids["report"],))  # noqa: S608 (fixed names)


def _cloned_with_old_year(ids, db):
    """Make the report a copy of last year's with one "2023年" in the section, for 改为 2024."""
    from app.reports import create_report, standard_outline
    from app.users import get_user

    last_year = create_report(db, get_user(db, 1), ids["unit"], 2023, standard_outline("上年", 2023))
    db.execute("UPDATE reports SET cloned_from = ? WHERE id = ?", (last_year, ids["report"]))
    db.execute("UPDATE sections SET markdown = '2023年完成了任务。' WHERE id = ?", (ids["section"],))


def _carried(ids, db):
    """Make the section one copied from last year and not changed since (未更新), for 确认无需修改."""
    db.execute("UPDATE sections SET carried_over = 1 WHERE id = ?", (ids["section"],))


def _replace_year(ids, db):
    return {"start": "0", "version": db.execute("SELECT version FROM sections WHERE id = ?",
                                                (ids["section"],)).fetchone()[0]}


def _workbook(ids, db):
    """The report's own 自评表 as an uploaded .xlsx, one contact changed."""
    import io

    from app.form_store import load_form
    from app.xlsx_export import form_workbook

    form = load_form(db, ids["report"])
    form.header.contact_name = "导入人"
    return {"file": (io.BytesIO(form_workbook(form, form.score(), "单位", 2024)), "自评表.xlsx")}


def _imported(ids, db):
    """A confirmed import: the previewed form (one contact changed) and the form's fingerprint."""
    import json

    from app.form_import import fingerprint
    from app.form_model import form_to_json
    from app.form_store import load_form

    form = load_form(db, ids["report"])
    seen = fingerprint(form)
    form.header.contact_name = "导入人"
    text = json.dumps(form_to_json(form), ensure_ascii=False)
    # Recipe values go through str.format with the world's ids: the JSON's braces are doubled for it.
    return {"form": text.replace("{", "{{").replace("}", "}}"), "fingerprint": seen, "filename": "a.xlsx"}


R = "/reports/{report}"
S = R + "/sections/{section}"
ROUTES: dict[str, tuple[dict, Req]] = {
    # Public: the login page, the health check, static files. Share links are below (SHARE_ROUTES).
    "GET /login": (PUBLIC, Req("/login")),
    "POST /login": (LOGIN_FORM, Req("/login", {"username": "nobody", "password": "wrong-password"})),
    "GET /healthz": (PUBLIC, Req("/healthz")),
    "GET /static/<path:filename>": (PUBLIC, Req("/static/css/app.css")),
    "GET /s/<token>": (PUBLIC, Req("/s/{token}")),
    "GET /s/<token>/print": (PUBLIC, Req("/s/{token}/print")),
    "GET /s/<token>/export.pdf": (PUBLIC, Req("/s/{token}/export.pdf")),
    # Anyone logged in.
    "GET /": (SIGNED_IN, Req("/")),
    "GET /search": (SIGNED_IN, Req("/search?q=康复")),
    "GET /units/suggest": (SIGNED_IN, Req("/units/suggest?unit_name=荔湾")),
    "POST /logout": (SIGNED_IN, Req("/logout")),
    # The editors (#16): paste conversion, the format cheat sheet, who else is editing.
    "POST /paste": (SIGNED_IN, Req("/paste", {"html": "<p><b>甲</b></p>", "text": "甲"})),
    "GET /format-help": (SIGNED_IN, Req("/format-help")),
    "GET /reports/<int:report_id>/presence": (VIEW, Req(R + "/presence", htmx=True)),
    "POST /reports/<int:report_id>/sections/<int:section_id>/presence": (EDIT, Req(S + "/presence", htmx=True)),
    "POST /reports/<int:report_id>/sections/<int:section_id>/presence/leave": (VIEW, Req(S + "/presence/leave")),
    "GET /reports/import": (CREATE_PAGE, Req("/reports/import")),
    "POST /reports/import": (CREATE, Req("/reports/import", {
        "text": "一、概况\n\n正文。", "year": "2032", "unit_id": "{unit}", "confirm": "1", "format": "auto"})),
    "GET /reports/new": (CREATE_PAGE, Req("/reports/new")),
    "POST /reports": (CREATE, Req("/reports", {"unit_id": "{unit}", "year": "2031"})),
    # The year summary across units (admins and 监管人员).
    "GET /summary": (SUMMARY, Req("/summary?year=2024&sort=total&order=desc")),
    "GET /summary/export.xlsx": (SUMMARY, Req("/summary/export.xlsx?year=2024")),
    "GET /summary/units/<int:unit_id>": (SUMMARY, Req("/summary/units/{unit}")),
    # 系统管理.
    "GET /admin": (ADMIN_ONLY, Req("/admin")),
    "GET /admin/audit": (ADMIN_ONLY, Req("/admin/audit")),
    "GET /admin/audit.csv": (ADMIN_ONLY, Req("/admin/audit.csv")),
    "GET /admin/units": (ADMIN_ONLY, Req("/admin/units")),
    "POST /admin/units": (ADMIN_ONLY, Req("/admin/units", {"name": "新建单位甲", "code": "", "parent_id": ""})),
    "GET /admin/units/<int:unit_id>": (ADMIN_ONLY, Req("/admin/units/{other_unit}")),
    "POST /admin/units/<int:unit_id>": (ADMIN_ONLY, Req("/admin/units/{other_unit}", {
        "name": "改名后的单位", "code": "", "parent_id": ""})),
    "GET /admin/users": (ADMIN_ONLY, Req("/admin/users")),
    "POST /admin/users/<int:user_id>/contact": (ADMIN_ONLY, Req("/admin/users/{target_user}/contact", {
        "email": "viewer@example.gov.cn", "mail_enabled": "1"})),
    "GET /admin/outbox": (ADMIN_ONLY, Req("/admin/outbox")),
    "POST /admin/outbox/<int:outbox_id>/resend": (ADMIN_ONLY, Req("/admin/outbox/{outbox}/resend")),
    # Notifications: everyone signed in has their own; one of them is the editor's alone.
    "GET /notifications": (SIGNED_IN, Req("/notifications")),
    "GET /notifications/bell": (SIGNED_IN, Req("/notifications/bell", htmx=True)),
    "POST /notifications/read-all": (SIGNED_IN, Req("/notifications/read-all")),
    "POST /notifications/mail": (SIGNED_IN, Req("/notifications/mail", {"enabled": "0"})),
    "GET /notifications/<int:notification_id>": (OWN_NOTE, Req("/notifications/{notification}")),
    "POST /notifications/<int:notification_id>/read": (OWN_NOTE, Req("/notifications/{notification}/read")),
    "POST /admin/users": (ADMIN_ONLY, Req("/admin/users", {
        "username": "newbie", "role": "viewer", "unit_id": "{unit}", "password": "", "display_name": "新人"})),
    "GET /admin/users/new": (ADMIN_ONLY, Req("/admin/users/new")),
    "GET /admin/users/<int:user_id>": (ADMIN_ONLY, Req("/admin/users/{target_user}")),
    "POST /admin/users/<int:user_id>/activate": (ADMIN_ONLY, Req("/admin/users/{retired}/activate")),
    "POST /admin/users/<int:user_id>/deactivate": (ADMIN_ONLY, Req("/admin/users/{target_user}/deactivate")),
    "POST /admin/users/<int:user_id>/password": (ADMIN_ONLY, Req("/admin/users/{target_user}/password", {
        "password": "another-pass-42"})),
    "POST /admin/users/<int:user_id>/role": (ADMIN_ONLY, Req("/admin/users/{target_user}/role", {
        "role": "reviewer", "unit_id": "{unit}"})),
    # Reading a report.
    "GET /reports/<int:report_id>": (VIEW, Req(R)),
    "GET /reports/<int:report_id>/activity": (VIEW, Req(R + "/activity")),
    "GET /reports/<int:report_id>/changes": (VIEW, Req(R + "/changes")),
    "GET /reports/<int:report_id>/workflow": (VIEW, Req(R + "/workflow")),
    "GET /reports/<int:report_id>/print": (VIEW, Req(R + "/print")),
    "GET /reports/<int:report_id>/export.<fmt>": (VIEW, Req(R + "/export.json")),
    "GET /reports/<int:report_id>/editions/<int:number>": (VIEW, Req(R + "/editions/{edition}")),
    "GET /reports/<int:report_id>/editions/<int:number>/print": (VIEW, Req(R + "/editions/{edition}/print")),
    "GET /reports/<int:report_id>/editions/<int:number>/sheet": (VIEW, Req(R + "/editions/{edition}/sheet")),
    "GET /reports/<int:report_id>/editions/<int:number>/export.<fmt>": (
        VIEW, Req(R + "/editions/{edition}/export.pdf")),
    "GET /reports/<int:report_id>/sections/<int:section_id>": (VIEW, Req(S, htmx=True)),
    "GET /reports/<int:report_id>/sections/<int:section_id>/history": (VIEW, Req(S + "/history")),
    "GET /reports/<int:report_id>/shares": (VIEW, Req(R + "/shares")),
    "GET /reports/<int:report_id>/form/rules": (VIEW, Req(R + "/form/rules")),
    "GET /reports/<int:report_id>/form/budget-weight": (VIEW, Req(R + "/form/budget-weight", htmx=True)),
    # Changing the text.
    "GET /reports/<int:report_id>/header": (EDIT, Req(R + "/header")),
    "POST /reports/<int:report_id>/header": (EDIT, Req(R + "/header", _version(
        "SELECT version FROM reports WHERE id = {report}")({"title": "新标题", "preamble": "前言"}))),
    "POST /reports/<int:report_id>/preview": (EDIT, Req(R + "/preview", {"markdown": "**预览**"}, htmx=True)),
    "POST /reports/<int:report_id>/sections": (EDIT, Req(R + "/sections", {"title": "新部分"}, htmx=True)),
    "POST /reports/<int:report_id>/sections/<int:section_id>": (EDIT, Req(S, _SECTION_VERSION(
        {"markdown": "新的正文。", "title": "新标题"}), htmx=True)),
    "GET /reports/<int:report_id>/sections/<int:section_id>/edit": (EDIT, Req(S + "/edit", htmx=True)),
    "GET /reports/<int:report_id>/sections/<int:section_id>/menu": (EDIT, Req(S + "/menu", htmx=True)),
    "POST /reports/<int:report_id>/sections/<int:section_id>/delete": (EDIT, Req(S + "/delete", htmx=True)),
    "POST /reports/<int:report_id>/sections/<int:section_id>/move": (EDIT, Req(S + "/move", {"direction": "down"},
                                                                               htmx=True)),
    "POST /reports/<int:report_id>/sections/<int:section_id>/restore": (EDIT, Req(S + "/restore", _SECTION_VERSION(
        {"revision": "{revision}"}))),
    "POST /reports/<int:report_id>/sections/<int:section_id>/replace-year": (EDIT, Req(
        S + "/replace-year", _replace_year, prepare=_cloned_with_old_year, htmx=True)),
    "POST /reports/<int:report_id>/sections/<int:section_id>/keep-year": (EDIT, Req(
        S + "/keep-year", {"start": "0"}, prepare=_cloned_with_old_year, htmx=True)),
    "POST /reports/<int:report_id>/sections/<int:section_id>/confirm-carried": (EDIT, Req(
        S + "/confirm-carried", prepare=_carried, htmx=True)),
    "POST /reports/<int:report_id>/form/template": (EDIT, Req(R + "/form/template", prepare=_empty_form,
                                                              htmx=True)),
    "GET /reports/<int:report_id>/form/budget-weight/edit": (EDIT, Req(R + "/form/budget-weight/edit", htmx=True)),
    "POST /reports/<int:report_id>/form/budget-weight": (EDIT, Req(R + "/form/budget-weight", _version(
        "SELECT version FROM scoring_rules WHERE report_id = {report}")({"budget_weight": "12"}), htmx=True)),
    "POST /reports/<int:report_id>/form/rules": (RULES, Req(R + "/form/rules", _rules)),
    # The 自评表 from Excel: the upload page, the preview (reads the file, stores nothing), the confirmation.
    "GET /reports/<int:report_id>/form/import": (EDIT, Req(R + "/form/import")),
    "POST /reports/<int:report_id>/form/import/preview": (EDIT, Req(R + "/form/import/preview", _workbook)),
    "POST /reports/<int:report_id>/form/import": (EDIT, Req(R + "/form/import", _imported)),
    # Comments, workflow, shares, next year's report.
    "GET /reports/<int:report_id>/comments/new": (COMMENT, Req(R + "/comments/new?section_id={section}")),
    "POST /reports/<int:report_id>/comments": (COMMENT, Req(R + "/comments", {
        "body": "意见", "section_id": "{section}"}, htmx=True)),
    "POST /reports/<int:report_id>/comments/<int:comment_id>/resolve": (RESOLVE, Req(
        R + "/comments/{comment}/resolve", htmx=True)),
    "POST /reports/<int:report_id>/shares": (SHARE_WRITE, Req(R + "/shares", {"expires": "7", "note": "给财政局",
                                                                              "draft": "1"})),
    "POST /reports/<int:report_id>/shares/<int:share_id>/revoke": (SHARE_WRITE, Req(R + "/shares/{share}/revoke")),
    "POST /reports/<int:report_id>/clone": (CREATE, Req(R + "/clone", {"year": "2025"})),
}
for _action, _policy in TRANSITIONS.items():
    ROUTES[f"POST /reports/<int:report_id>/{_action}"] = (_policy, Req(
        R + "/" + _action, {"reason": "原因", "section_ids": "{section}"}))
for _kind in ("budget", "indicators"):
    _K = R + "/form/" + _kind
    _ROW_VERSION = _version(f"SELECT version FROM {_TABLE[_kind]} WHERE id = {{{_kind}}}")  # noqa: S608 (fixed)
    ROUTES.update({
        f"POST /reports/<int:report_id>/form/{_kind}": (EDIT, Req(_K, _ROW[_kind], htmx=True)),
        f"GET /reports/<int:report_id>/form/{_kind}/new": (EDIT, Req(_K + "/new", htmx=True)),
        f"POST /reports/<int:report_id>/form/{_kind}/preview": (EDIT, Req(_K + "/preview", _ROW[_kind], htmx=True)),
        f"GET /reports/<int:report_id>/form/{_kind}/<int:row_id>": (VIEW, Req(_K + f"/{{{_kind}}}", htmx=True)),
        f"POST /reports/<int:report_id>/form/{_kind}/<int:row_id>": (EDIT, Req(
            _K + f"/{{{_kind}}}", _ROW_VERSION(_ROW[_kind]), htmx=True)),
        f"GET /reports/<int:report_id>/form/{_kind}/<int:row_id>/edit": (EDIT, Req(_K + f"/{{{_kind}}}/edit",
                                                                                  htmx=True)),
        f"POST /reports/<int:report_id>/form/{_kind}/<int:row_id>/delete": (EDIT, Req(
            _K + f"/{{{_kind}}}/delete", _ROW_VERSION({}), htmx=True)),
        f"POST /reports/<int:report_id>/form/{_kind}/<int:row_id>/move": (EDIT, Req(
            _K + f"/{{{_kind}}}/move", {"direction": "down"}, htmx=True)),
    })
for _part, (_fields, _table) in _PARTS.items():
    _P = R + "/form/" + _part
    ROUTES.update({
        f"GET /reports/<int:report_id>/form/{_part}": (VIEW, Req(_P, htmx=True)),
        f"GET /reports/<int:report_id>/form/{_part}/edit": (EDIT, Req(_P + "/edit", htmx=True)),
        f"POST /reports/<int:report_id>/form/{_part}": (EDIT, Req(_P, _version(
            f"SELECT version FROM {_table} WHERE report_id = {{report}}")(_fields), htmx=True)),  # noqa: S608
    })
SHARE_ROUTES = ("GET /s/<token>", "GET /s/<token>/print", "GET /s/<token>/export.pdf")


def expected(key: str, principal: str, state: str) -> str:
    """The outcome the table gives."""
    return ROUTES[key][0][principal][state]
