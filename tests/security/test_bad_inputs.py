"""Bad inputs, one row each: numbers, dates, file names, sizes, encodings, deeply nested Markdown, search
syntax, workflow actions out of order, fields sent twice. Every row gets a clear Chinese message (or,
where the input is merely odd, a normal page), never a 5xx, writes nothing it should not, and answers
within 2 s (a guard against requests that hold a server thread, not a benchmark)."""

import html
import io
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest

from tests.security.hostile_files import docx_with_body
from tests.security.matrix import digest

R = "/reports/{report}"
S = R + "/sections/{section}"
BIG = str(10**30)
ANY = None  # any message: the row only asks for a sane status in time


@dataclass(frozen=True)
class Row:
    """One bad request and what must come back."""

    name: str
    method: str
    url: str
    data: object = field(default_factory=dict)  # dict, bytes (a raw body) or a function (ids, db) → dict
    status: tuple = (422,)
    message: str | None = ANY
    principal: str = "admin"
    state: str = "draft"
    htmx: bool = True
    content_type: str | None = None
    files: dict | None = None  # field → (file name, bytes)
    writes: bool = False  # accepted (an odd but valid input): runs on a copy

    @property
    def seconds(self) -> float:
        """How long the answer may take, where the failure it guards against held a thread for minutes. A text
        too slow for Markdown is stopped after 1 s (render.RENDER_SECONDS) and may wait for a worker to start
        after the last one was stopped: 1.3–1.5 s on an idle machine, 2.0 s seen beside the browser tests on
        two cores. An import waits for a fresh sandboxed worker besides its own work, within the 10 s every
        upload is bound by."""
        return 4.0 if self.url == "/reports/import" else 3.0


def _with_version(fields: dict, sql: str = "SELECT version FROM sections WHERE id = {section}"):
    def build(ids, db):
        return {**fields, "version": str(db.execute(sql.format(**ids)).fetchone()[0])}
    return build


def _row_version(kind: str, fields: dict):
    table = {"budget": "budget_lines", "indicators": "indicators"}[kind]
    return _with_version(fields, f"SELECT version FROM {table} WHERE id = {{{kind}}}")  # noqa: S608 (fixed)


def _docx(paragraphs: int = 3, body: bytes = b"") -> bytes:
    """A Word file with `paragraphs` short paragraphs, or raw XML put into its body."""
    return docx_with_body(body or b"<w:p><w:r><w:t>x</w:t></w:r></w:p>" * paragraphs)


def _import(files=None, **fields):
    """An import form as the page sends it (no confirm: the preview, which stores nothing)."""
    return {"year": "2033", "unit_id": "{unit}", "format": "auto", **fields}


LINE = {"source": "其他资金", "initial": "1", "adjusted": "1", "executed": "1"}
INDICATOR = {"level1": "履职效能", "level2": "产出指标", "name": "指标", "kind": "quantitative", "direction": ">=",
             "unit": "人", "target": "100", "actual": "100", "weight": "0"}
MONEY = "年初预算数"

ROWS = [
    # Numbers.
    Row("year not a number", "POST", "/reports", {"unit_id": "{unit}", "year": "abc"}, message="年度须为四位数字"),
    Row("year in scientific notation", "POST", "/reports", {"unit_id": "{unit}", "year": "2e3"},
        message="年度须为四位数字"),
    Row("year out of range", "POST", "/reports", {"unit_id": "{unit}", "year": "20245"},
        message="年度须在2000至2100之间"),
    Row("year negative", "POST", "/reports", {"unit_id": "{unit}", "year": "-2024"}, message="年度须在"),
    Row("year of 31 digits", "POST", "/reports", {"unit_id": "{unit}", "year": BIG}, message="年度须在"),
    Row("unit id past SQLite's integers", "POST", "/reports", {"unit_id": BIG, "year": "2030"},
        message="超出允许的范围"),
    Row("amount NaN", "POST", R + "/form/budget", {**LINE, "initial": "NaN"}, message=MONEY + "须为数字"),
    Row("amount Infinity", "POST", R + "/form/budget", {**LINE, "initial": "Infinity"}, message=MONEY + "须为数字"),
    Row("amount 1e309", "POST", R + "/form/budget", {**LINE, "initial": "1e309"}, message=MONEY + "须为数字"),
    Row("amount negative", "POST", R + "/form/budget", {**LINE, "initial": "-5"}, message=MONEY + "不能为负数"),
    Row("amount in 元", "POST", R + "/form/budget", {**LINE, "initial": "12元"}, message="不要填写以元为单位"),
    Row("amount in 亿元", "POST", R + "/form/budget", {**LINE, "initial": "1亿元"}, message="1亿元填 10000"),
    Row("amount of 40 digits", "POST", R + "/form/budget", {**LINE, "initial": "9" * 40}, message=MONEY + "过大"),
    Row("amount with misplaced commas", "POST", R + "/form/budget", {**LINE, "initial": "1,2,3"},
        message="千分位逗号位置不对"),
    Row("weight not a number", "POST", R + "/form/indicators", {**INDICATOR, "weight": "abc"}, message="分值须为数字"),
    Row("weight negative", "POST", R + "/form/indicators", {**INDICATOR, "weight": "-1"}, message="分值不能为负数"),
    Row("row saved with a text version", "POST", R + "/form/budget/{budget}", {**LINE, "version": "x"},
        message="缺少版本号"),
    Row("row saved with a 31-digit version", "POST", R + "/form/budget/{budget}", {**LINE, "version": BIG},
        status=(409, 422)),
    Row("section saved without a version", "POST", S, {"markdown": "x"}, message="缺少版本号"),
    Row("section saved with a 31-digit version", "POST", S, {"markdown": "x", "version": BIG}, status=(409,)),
    Row("comment on section 'abc'", "POST", R + "/comments", {"body": "x", "section_id": "abc"}, message="参数无效"),
    Row("comment on a 31-digit section", "POST", R + "/comments", {"body": "x", "section_id": BIG},
        message="超出允许的范围"),
    Row("reply to a 31-digit comment", "POST", R + "/comments", {"body": "x", "parent_id": BIG},
        message="超出允许的范围"),
    Row("report id of 31 digits in the URL", "GET", "/reports/" + BIG, status=(404,), htmx=False,
        message="页面不存在"),
    Row("section after a 31-digit section", "POST", R + "/sections", {"title": "x", "after": BIG},
        status=(404, 422)),
    Row("new row after a 31-digit row", "GET", R + "/form/indicators/new?after=" + BIG, status=(200, 422)),
    Row("search page of 31 digits", "GET", "/search?q=康复&page=" + BIG, status=(200, 422), htmx=False),
    Row("share for 0 days", "POST", R + "/shares", {"expires": "0", "draft": "1"}, message="有效天数须在1到3650之间"),
    Row("share for 99999 days", "POST", R + "/shares", {"expires": "99999", "draft": "1"},
        message="有效天数须在1到3650之间"),
    Row("share for a 31-digit number of days", "POST", R + "/shares", {"expires": BIG, "draft": "1"},
        message="有效天数须在1到3650之间"),
    # Dates.
    Row("share until 30 February", "POST", R + "/shares", {"expires_date": "2025-02-30", "draft": "1"},
        message="有效期请填写天数"),
    Row("share until a past day", "POST", R + "/shares", {"expires_date": "1999-01-01", "draft": "1"},
        message="有效期不能早于今天"),
    Row("share until 9999-12-31", "POST", R + "/shares", {"expires_date": "9999-12-31", "draft": "1"},
        message="超出允许的范围"),
    Row("filled on 30 February", "POST", R + "/form/header", _with_version(
        {"filled_on": "2025-02-30"}, "SELECT version FROM form_headers WHERE report_id = {report}"),
        message="填报日期格式不对"),
    Row("filled on month 13", "POST", R + "/form/header", _with_version(
        {"filled_on": "2025-13-01"}, "SELECT version FROM form_headers WHERE report_id = {report}"),
        message="填报日期格式不对"),
    Row("filled on 'today'", "POST", R + "/form/header", _with_version(
        {"filled_on": "今天"}, "SELECT version FROM form_headers WHERE report_id = {report}"),
        message="填报日期格式不对"),
    Row("audit since 30 February", "GET", "/admin/audit?date_from=2025-02-30", message="无效，请按 年-月-日 填写",
        htmx=False),
    Row("audit since after until", "GET", "/admin/audit?date_from=2025-03-02&date_to=2025-03-01",
        message="起始日期不能晚于截止日期", htmx=False),
    Row("audit CSV with a bad date", "GET", "/admin/audit.csv?date_to=99999-01-01", message="无效", htmx=False),
    # File names and files.
    Row("import of an .exe", "POST", "/reports/import", _import(), files={"file": ("报告.exe", b"MZ\x90\x00\x03")},
        message="二进制内容", htmx=False),
    Row("import of an old .doc", "POST", "/reports/import", _import(),
        files={"file": ("报告.doc", b"\xd0\xcf\x11\xe0")}, message="不支持旧版 .doc", htmx=False),
    Row("import of a .docx that is not one", "POST", "/reports/import", _import(),
        files={"file": ("报告.docx", b"not a zip at all")}, message="无法读取该 Word 文件", htmx=False),
    Row("import of an empty file", "POST", "/reports/import", _import(), files={"file": ("报告.md", b"")},
        message="内容为空", htmx=False),
    Row("import with a path in the file name", "POST", "/reports/import", _import(),
        files={"file": ("../../../../etc/passwd.md", "一、概况\n\n正文。".encode())}, status=(200,), htmx=False),
    Row("import with a 1,000-character file name", "POST", "/reports/import", _import(),
        files={"file": ("长" * 1000 + ".md", "一、概况\n\n正文。".encode())}, status=(200,), htmx=False),
    Row("import of a Word zip bomb", "POST", "/reports/import", _import(),
        files={"file": ("炸弹.docx", _docx(body=b" " * 100_000_000))}, message="解压后超过", htmx=False),
    Row("import of a Word file with 300,000 paragraphs", "POST", "/reports/import", _import(),
        files={"file": ("长文.docx", _docx(300_000))}, message="段落和表格", htmx=False),
    Row("import of random bytes as text", "POST", "/reports/import", _import(),
        files={"file": ("报告.md", bytes(range(256)) * 10)}, message="二进制内容", htmx=False),
    Row("import of UTF-16 text", "POST", "/reports/import", _import(),
        files={"file": ("报告.txt", "一、概况\n正文".encode("utf-16"))}, status=(200, 422), htmx=False),
    # Sizes.
    Row("section of 201 KB", "POST", S, _with_version({"markdown": "字" * 70_000}), status=(413,),
        message="内容过长"),
    Row("request body of 4 MB", "POST", S, {"markdown": "a" * 4 * 1024 * 1024, "version": "1"}, status=(413,),
        message="提交的内容过大"),
    Row("comment of 5,001 characters", "POST", R + "/comments", {"body": "意" * 5001}, message="意见过长"),
    Row("report title of 201 characters", "POST", R + "/header", _with_version(
        {"title": "题" * 201, "preamble": ""}, "SELECT version FROM reports WHERE id = {report}"), status=(409,),
        message="报告标题过长", htmx=False),
    Row("section title of 201 characters", "POST", R + "/sections", {"title": "题" * 201}, message="章节标题过长"),
    Row("unit name of 101 characters", "POST", "/admin/units", {"name": "单" * 101}, message="单位名称过长",
        htmx=False),
    Row("display name of 51 characters", "POST", "/admin/users", {"username": "u51", "role": "viewer",
        "unit_id": "{unit}", "display_name": "名" * 51}, message="姓名过长", htmx=False),
    Row("password of 129 characters", "POST", "/admin/users/{target_user}/password", {"password": "p" * 129},
        message="密码过长", htmx=False),
    Row("share note of 201 characters", "POST", R + "/shares", {"note": "注" * 201, "draft": "1"},
        message="备注过长"),
    Row("indicator name of 101 characters", "POST", R + "/form/indicators", {**INDICATOR, "name": "指" * 101},
        message="三级指标名称过长"),
    Row("5,000 form fields", "POST", S, b"&".join(b"f%d=1" % i for i in range(5000)),
        content_type="application/x-www-form-urlencoded", message="没有收到正文内容"),
    # Encodings.
    Row("invalid UTF-8", "POST", S, b"markdown=%ff%fe&version=1", content_type="application/x-www-form-urlencoded",
        status=(400,), message="不是有效的 UTF-8"),
    Row("overlong UTF-8", "POST", S, b"markdown=%c0%af&version=1", content_type="application/x-www-form-urlencoded",
        status=(400,), message="不是有效的 UTF-8"),
    Row("UTF-8 surrogate", "POST", S, b"markdown=%ed%a0%80&version=1",
        content_type="application/x-www-form-urlencoded", status=(400,), message="不是有效的 UTF-8"),
    Row("invalid UTF-8 in a multipart field", "POST", S,
        b'--B\r\nContent-Disposition: form-data; name="markdown"\r\n\r\n\xff\xfe\r\n--B--\r\n',
        content_type="multipart/form-data; boundary=B", status=(400,), message="不是有效的 UTF-8"),
    # Deeply nested and pathological Markdown (the preview stores nothing; the save of one is accepted).
    *(Row(f"preview of {label}", "POST", R + "/preview", {"markdown": text}, status=(200,))
      for label, text in [
          ("10,000 nested quotes", ">" * 10_000 + " x"), ("5,000 nested list levels", "- " * 5_000 + "x"),
          ("60,000 brackets", "[" * 60_000), ("60,000 '<x '", "<x " * 60_000),
          ("20,000 CDATA openings", "<![CDATA[" * 20_000), ("50,000 '1. '", "1. " * 50_000),
          ("40,000 setext headings", "x\n=\n" * 40_000), ("40,000 rules", "---\n" * 40_000),
          ("20,000 open attributes", "<a href='" * 20_000), ("150,000 asterisks", "*" * 150_000),
          ("30,000 links opened", "[a](" * 30_000), ("20,000 headings", "###### x\n" * 20_000),
          ("a 2,000-column table", "|" + "a|" * 2000 + "\n|" + "-|" * 2000 + "\n"),
      ]),
    Row("save of 20,000 nested quotes", "POST", S, _with_version({"markdown": ">" * 20_000 + " x"}),
        status=(200,), writes=True),
    Row("import of a report with a pathological section", "POST", "/reports/import",
        _import(text="一、概况\n\n" + "<x " * 40_000, confirm="1"), status=(303,), writes=True, htmx=False),
    # Search syntax: FTS5 operators typed as text.
    *(Row(f"search for {query!r}", "GET", "/search?q=" + quote(query), status=(200,), htmx=False)
      for query in ['"', 'NEAR(', "*", "a OR b", ")", "'; DROP TABLE reports;--", '"""', "col:val", "^x", "-x",
                    "AND", "康复" * 100, "%", "%00", "\\", "NOT 康复", "{x}", "x*y", '"康复" NEAR/2 "服务"']),
    # Workflow actions out of order, and things that are not there.
    Row("approve a draft", "POST", R + "/approve", {"reason": "x"}, status=(409,), message="不能执行“审批定稿”"),
    Row("pass a draft", "POST", R + "/pass", status=(409,), message="不能执行“审核通过”"),
    Row("reopen a draft", "POST", R + "/reopen", {"reason": "x"}, status=(409,), message="不能执行“重新打开”"),
    Row("return a draft", "POST", R + "/return", {"reason": "x"}, status=(409,), message="不能执行“退回修改”"),
    Row("submit twice", "POST", R + "/submit", status=(409,), state="submitted", principal="editor",
        message="不能执行“提交审核”"),
    Row("approve before the review", "POST", R + "/approve", {"reason": "x"}, status=(409,), state="submitted",
        principal="approver", message="不能执行“审批定稿”"),
    Row("return without a reason", "POST", R + "/return", {"reason": "  "}, state="submitted",
        principal="reviewer", message="须填写原因"),
    Row("an action that does not exist", "POST", R + "/frobnicate", status=(404, 405)),
    Row("resolve a comment that does not exist", "POST", R + "/comments/999999/resolve", status=(404,),
        message="该意见不存在或已处理"),
    Row("reply to a comment that does not exist", "POST", R + "/comments", {"body": "x", "parent_id": "999999"},
        status=(404,), message="要回复的意见不存在"),
    Row("restore a revision of another section", "POST", S + "/restore", _with_version({"revision": "1"}),
        status=(404,), message="该历史版本不存在"),
    Row("move a section sideways", "POST", S + "/move", {"direction": "sideways"}, message="未知的移动方式"),
    Row("revoke a revoked link", "POST", R + "/shares/999999/revoke", status=(404,),
        message="该分享链接不存在或已撤销"),
    Row("next year's report for the same year", "POST", R + "/clone", {"year": "2024"}, message="新报告的年度须晚于"),
    Row("replace a year in a report never copied", "POST", S + "/replace-year", _with_version({"start": "0"}),
        message="不是由上一年度复制而来"),
    Row("apply the template to a filled form", "POST", R + "/form/template", message="自评表已有内容"),
    Row("save a section over a newer version", "POST", S, {"markdown": "旧的", "version": "1"}, status=(409,),
        message="未保存"),
    Row("delete a row over a newer version", "POST", R + "/form/budget/{budget}/delete", {"version": "999"},
        status=(409,), message="已被他人修改"),
    # A field sent twice: which one counts is a guess the site refuses to make.
    Row("markdown twice", "POST", S, b"markdown=a&markdown=b&version=1",
        content_type="application/x-www-form-urlencoded", status=(400,), message="出现了不止一次"),
    Row("version twice", "POST", S, b"markdown=a&version=1&version=999",
        content_type="application/x-www-form-urlencoded", status=(400,), message="出现了不止一次"),
    Row("reason twice", "POST", R + "/return", b"reason=a&reason=b", content_type="application/x-www-form-urlencoded",
        status=(400,), message="出现了不止一次", state="submitted", principal="reviewer"),
    Row("username twice at login", "POST", "/login", b"username=a&username=admin&password=x",
        content_type="application/x-www-form-urlencoded", status=(400,), message="出现了不止一次", htmx=False),
    Row("amount twice in a multipart form", "POST", R + "/form/budget",
        b'--B\r\nContent-Disposition: form-data; name="initial"\r\n\r\n1\r\n'
        b'--B\r\nContent-Disposition: form-data; name="initial"\r\n\r\n2\r\n--B--\r\n',
        content_type="multipart/form-data; boundary=B", status=(400,), message="出现了不止一次"),
]


def test_the_table_covers_every_kind_of_bad_input():
    names = " ".join(row.name for row in ROWS)
    for kind in ("year", "amount", "31-digit", "February", "file name", "zip bomb", "201", "UTF-8",
                 "nested", "search for", "draft", "twice"):
        assert kind in names, kind
    assert len(ROWS) >= 100


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_a_bad_input_gets_a_clear_answer_in_time_and_changes_nothing(row, worlds):
    world = worlds(row.state)
    ids = world.ids
    if row.writes:
        copy = world.use_copy()
        db = world.connect(copy)
    else:
        world.use_base()
        db = world.connect()
        watch = world.watch
    data = row.data(ids, db) if callable(row.data) else row.data
    db.conn.close()
    auth = world.client(row.principal)
    headers = {"X-CSRFToken": auth.token}
    if row.htmx:
        headers["HX-Request"] = "true"
    url = row.url.format(**ids)
    started = time.monotonic()
    if row.method == "GET":
        response = auth.client.get(url, headers=headers)
    elif isinstance(data, bytes):
        response = auth.client.post(url, data=data, content_type=row.content_type, headers=headers)
    else:
        form = {name: value.format(**ids) if isinstance(value, str) else value for name, value in data.items()}
        if row.files:
            form.update({name: (io.BytesIO(content), filename) for name, (filename, content) in row.files.items()})
            response = auth.client.post(url, data=form, headers=headers, content_type="multipart/form-data")
        else:
            response = auth.client.post(url, data=form, headers=headers)
    elapsed = time.monotonic() - started
    world.use_base()
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code < 500, (response.status_code, text[:500])
    assert response.status_code in row.status, (response.status_code, text[:800])
    if row.message:
        assert row.message in text, text[:800]
    assert elapsed < row.seconds, f"held a server thread for {elapsed:.2f} s"
    if row.writes:
        assert digest(copy) != digest(world.template)
    else:
        assert watch.unchanged(), "a refused input changed the database"
