"""Command-line tools: flask --app app <command>."""

import gc
import json
import signal
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import audit
from . import db as database
from .bootstrap import SAMPLE_REPORT, first_run
from .cloning import clone_report
from .documents import document_file
from .exporters import to_json, to_markdown
from .importer import parse_bounded
from .printing import NoCJKFont, from_report
from .reports import InvalidInput, NotFound, create_report, get_report, list_reports
from .schema import current_version, migrate
from .users import ROLES, User, UserError, create_user, generate_password, get_or_create_unit

# The CLI acts as the machine's operator: it sees and may change every unit's reports.
OPERATOR = User(id=0, username="cli", display_name="命令行", role="admin", unit_id=None,
                unit_name=None, active=True)


def _db():
    """A connection to the configured database, schema up to date."""
    db = database.connect(current_app.config["DATABASE"])
    migrate(db)
    return db


def _operator(db) -> User:
    """The admin the CLI acts as (the first admin account; audit rows name it)."""
    row = db.execute("SELECT id FROM users WHERE role = 'admin' AND active = 1 ORDER BY id LIMIT 1").fetchone()
    if row is None:
        return User(**{**OPERATOR.__dict__, "id": None})
    return User(**{**OPERATOR.__dict__, "id": row[0]})


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database schema."""
    db = _db()
    click.echo(f"数据库已就绪：{current_app.config['DATABASE']}（结构版本 {current_version(db)}）")


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), required=True, help="角色")
@click.option("--unit", "unit_name", default=None, help="所属单位名称（不存在则新建）")
@click.option("--password", default=None, help="密码；不给则随机生成并显示一次")
@click.option("--name", "display_name", default=None, help="显示姓名")
@click.option("--email", default=None, help="电子邮件地址（接收通知邮件）")
@click.option("--directory", is_flag=True, help="单位目录（LDAP/AD）账号：用目录密码登录，本系统不存密码")
@with_appcontext
def create_user_command(username, role, unit_name, password, display_name, email, directory):
    """Create an account."""
    db = _db()
    if directory and password is not None:
        raise click.ClickException("目录账号用单位目录的密码登录，不能再用 --password 设置密码。")
    generated = password is None and not directory
    password = password or ("" if directory else generate_password())
    try:
        unit_id = get_or_create_unit(db, unit_name) if unit_name else None
        create_user(db, username, role, password, display_name=display_name, unit_id=unit_id, email=email,
                    directory=directory, method=current_app.config.get("TEST_PASSWORD_HASH"))
    except UserError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"已创建用户 {username}（{ROLES[role]}{'，单位目录账号' if directory else ''}）")
    if generated:
        click.echo(f"初始密码（只显示这一次）：{password}")


@click.command("import-report")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "unit_name", required=True, help="单位名称（不存在则新建）")
@click.option("--year", type=int, required=True, help="报告年度，如 2024")
@click.option("--format", "fmt", type=click.Choice(["auto", "markdown", "plain"]), default="auto")
@with_appcontext
def import_report(file: Path, unit_name: str, year: int, fmt: str):
    """Import a report from Markdown, plain text, Word (.docx) or JSON; print the new id on the last line."""
    db = _db()
    try:
        parsed = parse_bounded(file.name, file.read_bytes(), fmt).parsed  # the same limits as an upload
        unit_id = get_or_create_unit(db, unit_name)
        report_id = create_report(db, _operator(db), unit_id, year, parsed, how="导入")
    except (InvalidInput, UserError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"已导入：{parsed.title}（{len(parsed.sections)} 个部分）", err=True)
    click.echo(report_id)


@click.command("export-report")
@click.argument("report_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "md", "pdf", "docx", "xlsx"]), required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@with_appcontext
def export_report(report_id: int, fmt: str, output: Path | None):
    """Export a report as JSON or Markdown (to stdout or a file), PDF, DOCX or its 自评表 as XLSX (to a file)."""
    db = _db()
    try:
        report = get_report(db, _operator(db), report_id)
    except NotFound as error:
        raise click.ClickException(str(error)) from None
    if fmt == "xlsx":  # the 自评表 as a workbook (xlsx_export.py)
        if output is None:
            raise click.ClickException("XLSX 是二进制文件，请用 -o 指定输出文件，如 -o 自评表.xlsx")
        # openpyxl takes a tenth of a second to load: when a workbook is made, not at every start.
        from .xlsx_export import report_workbook

        output.write_bytes(report_workbook(db, report))
        click.echo(f"已导出到 {output}", err=True)
        return
    if fmt in ("pdf", "docx"):
        if output is None:
            raise click.ClickException(f"{fmt.upper()} 是二进制文件，请用 -o 指定输出文件，如 -o 报告.{fmt}")
        # The print page is a template: render it as a request would, without a server.
        with current_app.test_request_context():
            try:
                output.write_bytes(document_file(from_report(db, report), fmt))
            except NoCJKFont as error:
                raise click.ClickException(str(error)) from None
        click.echo(f"已导出到 {output}", err=True)
        return
    body = to_json(db, report) if fmt == "json" else to_markdown(db, report)
    if output is None:
        sys.stdout.write(body)
    else:
        output.write_text(body, encoding="utf-8")
        click.echo(f"已导出到 {output}", err=True)


@click.command("clone-report")
@click.argument("report_id", type=int)
@click.option("--year", type=int, required=True, help="新报告的年度，如 2025")
@with_appcontext
def clone_report_command(report_id: int, year: int):
    """Start next year's report from this one; print the new id on the last line."""
    db = _db()
    try:
        new_id = clone_report(db, _operator(db), report_id, year)
    except (InvalidInput, NotFound) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"已由报告 {report_id} 复制新建 {year} 年度报告", err=True)
    click.echo(new_id)


@click.command("list-reports")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")
@with_appcontext
def list_reports_command(fmt: str):
    """List every report."""
    db = _db()
    rows = [
        {"id": r["id"], "unit": r["unit_name"], "year": r["year"], "title": r["title"],
         "status": r["status"]}
        for r in sorted(list_reports(db, _operator(db)), key=lambda r: r["id"])
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['id']}\t{r['year']}\t{r['status']}\t{r['unit']}\t{r['title']}")


@click.command("first-run")
@with_appcontext
def first_run_command():
    """Create the admin account and load the sample report if the instance is empty."""
    _announce(_first_run())


def _first_run() -> dict:
    """Run first-run set-up with the app's configuration."""
    db = _db()
    sample = SAMPLE_REPORT if current_app.config["LOAD_SAMPLE"] else None
    # from_prefixed_env() reads values as JSON: FLASK_ADMIN_PASSWORD=12345678 arrives as an int.
    password = current_app.config.get("ADMIN_PASSWORD")
    return first_run(db, sample, None if password is None else str(password))


def _announce(done: dict) -> None:
    """Tell the operator what first-run set-up did."""
    if done["admin_password"]:
        click.echo("=" * 60)
        click.echo("首次运行：已创建管理员账号 admin")
        click.echo(f"初始密码（只显示这一次，请妥善保存）：{done['admin_password']}")
        click.echo("=" * 60)
    if done["report_id"]:
        click.echo(f"已载入示例报告（编号 {done['report_id']}）")


@click.command("verify-audit")
@with_appcontext
def verify_audit():
    """Check the audit log's hash chain; exit 1 at the first row that was changed or removed."""
    db = _db()
    broken = audit.verify_chain(db)
    if broken is not None:
        click.echo(f"审计日志校验失败：第 {broken} 号记录与哈希链不符（该条或其前一条被修改或删除），"
                   "其后的记录均无法担保。", err=True)
        sys.exit(1)
    click.echo(f"审计日志完整：共 {audit.count(db)} 条")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int, threads: int):
    """Serve the site with waitress (first run sets up the admin and the sample report)."""
    from waitress import serve as waitress_serve

    from .requestlog import configure

    configure()  # one line per request on stderr, errors with their request id
    _announce(_first_run())
    # Here, not in create_app: only the serving process sends mail; tests and other commands start no thread.
    from .mail import configured, start_background

    start_background(current_app.config["DATABASE"], current_app.config)
    if not configured(current_app.config):
        click.echo("未设置邮件服务器（FLASK_MAIL_SERVER）：通知只在网站中显示，不发邮件。")
    click.echo(f"正在运行：http://{host}:{port}/  （按 Ctrl+C 停止）")
    # systemd stops the service with SIGTERM: exit as on Ctrl+C, so that atexit writes the share view
    # counts still in memory (views/shares.py).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # What start-up made (modules, the app, its routes) lives as long as the process: out of the collector's
    # sight, a full collection no longer walks it. Such a collection held every request for ~40 ms
    # (docs/benchmarks.md, the saves' p99); now it takes about one.
    gc.collect()
    gc.freeze()
    # Waitress drops X-Forwarded-* unless told otherwise; with PROXY_FIX set, ProxyFix reads them.
    waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads,
                   ident=None, clear_untrusted_proxy_headers=not current_app.config["PROXY_FIX"])


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    for command in (init_db, create_user_command, import_report, export_report, clone_report_command,
                    list_reports_command, first_run_command, verify_audit, serve):
        app.cli.add_command(command)
