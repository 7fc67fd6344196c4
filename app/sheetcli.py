"""Spreadsheet commands: export-summary, import-form (registered by create_app; export-report --format
xlsx lives with the other formats in cli.py)."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .cli import _db, _operator
from .form_import import ImportConflict, apply, preview
from .form_store import load_form
from .permissions import NotAllowed
from .reports import InvalidInput, NotFound, get_report
from .summary import indicator_scores, year_summary
from .xlsx_import import read_bounded


@click.command("export-summary")
@click.option("--year", type=click.IntRange(1900, 2200), required=True, help="年度，如 2024")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="输出的 .xlsx 文件")
@with_appcontext
def export_summary(year: int, output: Path):
    """Write the year's summary across units as a workbook (汇总, 指标明细)."""
    # openpyxl takes a tenth of a second to load: when a workbook is made, not at every start.
    from .xlsx_export import summary_workbook

    db = _db()
    rows = year_summary(db, year)
    indicators = indicator_scores(db, year, [row.report_id for row in rows if row.report_id])
    output.write_bytes(summary_workbook(rows, indicators, year, current_app.config["TIMEZONE"]))
    having = sum(1 for row in rows if row.report_id)
    click.echo(f"已导出 {year} 年度汇总：{len(rows)} 个单位（{having} 个已建立报告）→ {output}", err=True)


@click.command("import-form")
@click.argument("report_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="不询问，预览无问题即导入")
@with_appcontext
def import_form(report_id: int, file: Path, yes: bool):
    """Import a 自评表 from .xlsx into a draft report: preview, then confirm (or --yes)."""
    db = _db()
    operator = _operator(db)
    try:
        report = get_report(db, operator, report_id)
        grid = read_bounded(file.read_bytes())
        found = preview(grid, load_form(db, report_id), report["year"], report["unit_name"])
    except (NotFound, InvalidInput) as error:
        raise click.ClickException(str(error)) from None
    for warning in found.warnings:
        click.echo(f"提示：{warning}", err=True)
    if found.problems:
        for problem in found.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"发现 {len(found.problems)} 处问题，未导入任何内容。")
    for label, old, new in found.fields:
        click.echo(f"{label}：{old or '（空）'} → {new or '（空）'}")
    for change in found.changes:
        if change.mark != "不变":
            table = "预算资金" if change.kind == "budget" else "绩效指标"
            click.echo(f"{table}第 {change.number} 行 {change.mark}：{change.label}")
    score = found.form.score()
    click.echo(f"导入后总分 {score.total}，等级“{score.grade}”。")
    if not found.changed:
        click.echo("表格内容与当前自评表相同，没有改动。")
        return
    if not yes and not click.confirm("确认导入？", default=False):
        raise click.ClickException("已取消，未导入任何内容。")
    try:
        changed = apply(db, report, operator, found.form, found.fingerprint, file.name)
    except (ImportConflict, NotAllowed) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"已导入，改动 {changed} 处。")


COMMANDS = (export_summary, import_form)
