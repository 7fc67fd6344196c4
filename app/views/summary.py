"""The year summary across units for admins and 监管人员: table, charts, a unit's trend, the .xlsx download."""

from typing import NamedTuple

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_login import current_user

from ..charts import bar_chart, line_chart
from ..clock import local
from ..db import get_db
from ..permissions import require_summary
from ..printing import content_disposition
from ..reports import NotFound, year_to_report
from ..summary import (
    GRADES,
    SORTS,
    STATUS_NAMES,
    distributions,
    filter_rows,
    indicator_scores,
    sort_rows,
    summary_years,
    totals,
    unit_name,
    unit_trend,
    year_summary,
)

bp = Blueprint("summary", __name__, url_prefix="/summary")


def _choices() -> dict:
    """The filters and the sort as the request gives them, each checked against its choices."""
    args = request.args
    years = summary_years(get_db())
    year = args.get("year", type=int)
    if year is None or not 1900 <= year <= 2200:
        year = years[0] if years else year_to_report()
    status = args.get("status", "")
    grade = args.get("grade", "")
    return {
        "year": year, "years": years,
        "status": status if status in STATUS_NAMES else "",
        "grade": grade if grade in GRADES else "",
        "unit_name": args.get("unit_name", "").strip()[:100],
        "sort": args.get("sort", "unit") if args.get("sort") in SORTS else "unit",
        "desc": args.get("order") == "desc",
    }


def _rows(choices: dict) -> list:
    """The rows shown: the year's, filtered and sorted (read from the reports' facts: nothing to keep)."""
    rows = filter_rows(year_summary(get_db(), choices["year"]), choices["status"], choices["grade"],
                       choices["unit_name"])
    return sort_rows(rows, choices["sort"], choices["desc"])


class Line(NamedTuple):
    """A row of the table as text: a district has a thousand, formatted here rather than in the template."""

    unit_name: str
    status: str
    status_label: str
    more: int
    updated: str
    total: str
    grade: str
    rate: str
    budget: str
    indicators: str
    errors: str
    warnings: str
    report_url: str
    trend_url: str


_MARK = 987654321  # stands for an id in a URL built once per page


def _lines(rows: list, year: int) -> list[Line]:
    """The rows as the table shows them: numbers to two decimals, local times, links."""
    zone = current_app.config["TIMEZONE"]
    report_url = url_for("reports.show", report_id=_MARK)
    trend_url = url_for("summary.trend", unit_id=_MARK, year=year)

    def two(value) -> str:
        return "—" if value is None else f"{value:.2f}"

    lines = []
    for row in rows:
        has = row.report_id is not None
        lines.append(Line(
            row.unit_name, row.status, row.status_label, row.more_reports,
            local(row.updated_at, zone) if row.updated_at else "—", two(row.total), row.grade or "—",
            "—" if row.rate is None else f"{row.rate * 100:.2f}%", two(row.budget_score), two(row.indicator_score),
            str(row.errors) if has else "—", str(row.warnings) if has else "—",
            report_url.replace(str(_MARK), str(row.report_id)) if has else "",
            trend_url.replace(str(_MARK), str(row.unit_id))))
    return lines


@bp.get("")
def show():
    """The summary of a year: one row per unit, totals and averages, charts of the distributions."""
    require_summary(current_user)
    choices = _choices()
    rows = _rows(choices)
    data = distributions(rows)
    charts = [
        bar_chart("等级分布", data["grades"], "个单位"),
        bar_chart("总分分布", data["scores"], "个单位"),
        bar_chart("预算执行率分布", data["rates"], "个单位"),
        bar_chart("填报进度", data["statuses"], "个单位"),
    ]

    def link(**changes):
        """This page's URL with some choices changed."""
        values = {key: choices[key] for key in ("year", "status", "grade", "unit_name", "sort")}
        values["order"] = "desc" if choices["desc"] else ""
        values.update(changes)
        return url_for("summary.show", **{k: v for k, v in values.items() if v not in (None, "")})

    return render_template("summary/show.html", rows=_lines(rows, choices["year"]), totals=totals(rows),
                           charts=charts, link=link,
                           sorts=SORTS, statuses=STATUS_NAMES, grades=GRADES, **choices)


@bp.get("/export.xlsx")
def export():
    """The summary as a workbook: the rows shown on the page, then every indicator of those units."""
    # openpyxl takes a tenth of a second to load: when a workbook is made, not at every start.
    from ..xlsx_export import XLSX_MIMETYPE, summary_workbook

    require_summary(current_user)
    choices = _choices()
    rows = _rows(choices)
    indicators = indicator_scores(get_db(), choices["year"], [row.report_id for row in rows if row.report_id])
    body = summary_workbook(rows, indicators, choices["year"], current_app.config["TIMEZONE"])
    response = Response(body, mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = content_disposition(
        f"{choices['year']}年度部门整体支出绩效自评汇总.xlsx", f"summary-{choices['year']}.xlsx")
    return response


@bp.get("/units/<int:unit_id>")
def trend(unit_id: int):
    """One unit's total score and execution rate across the years."""
    require_summary(current_user)
    db = get_db()
    name = unit_name(db, unit_id)
    if name is None:
        raise NotFound("该单位不存在。")
    points = unit_trend(db, unit_id)
    chart = None
    if points:
        rates = [point.rate * 100 if point.rate is not None else None for point in points]
        chart = line_chart(f"{name}历年自评", [point.year for point in points],
                           [("总分", [point.total for point in points]), ("预算执行率", rates)], ("", "%"))
    return render_template("summary/trend.html", unit_name=name, points=points, chart=chart,
                           statuses=STATUS_NAMES, year=request.args.get("year", type=int))
