"""The year summary and its workbook on a district, in process: `python -m bench.summary --db FILE`.

The database is a seed-scale district (see README.md); its forms are the default template with nothing
filled in, so this first gives every form varied actual values and budgets (on a copy, never on --db
itself; written behind the app's back, so the reports' facts are then made again with facts.refresh_all),
then times: the summary page cold (the app's cache emptied, as after a server start; the summary itself
keeps nothing), the page again, one save of a budget line (its report's facts are written in the
save's transaction) followed by the page, and the .xlsx export of the year (the download button, and
export-summary's work without the HTTP) — each several times, median and worst.
"""

import argparse
import os
import random
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from app import create_app
from app import db as database

PASSWORD = "bench-summary-42"  # noqa: S105 (a throwaway account on a copy)


def vary(path: Path, seed: int = 3) -> None:
    """Varied actual values, ratings and budgets in every form of the copy."""
    rng = random.Random(seed)  # noqa: S311 (synthetic data)
    db = database.connect(str(path))
    with db.conn:
        rows = db.execute("SELECT id, kind, target FROM indicators").fetchall()
        db.conn.executemany("UPDATE indicators SET actual = ?, rating = ? WHERE id = ?", [
            ("已完成", rng.choice(["达成", "部分达成", "未达成"]), i) if kind == "qualitative"
            else (format(round(float(target or 0) * rng.uniform(0.5, 1.2), 2), "g") if target else None, None, i)
            for i, kind, target in rows])
        lines = db.execute("SELECT id FROM budget_lines").fetchall()
        budgets = [(rng.randint(100, 5000), i) for (i,) in lines]
        db.conn.executemany("UPDATE budget_lines SET initial = ?, adjusted = ?, executed = ? WHERE id = ?", [
            (f"{b}.00", f"{b}.00", f"{b * rng.uniform(0.4, 1.05):.2f}", i) for b, i in budgets])
    db.conn.close()


def timed(action, times: int) -> tuple[float, float, float]:
    """(median, worst, median CPU) milliseconds of `times` runs: on a shared machine the wall time also
    counts the waits for a core, the CPU time only this process's own work."""
    spent, cpu = [], []
    for _ in range(times):
        started, used = time.perf_counter(), time.process_time()
        action()
        spent.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return statistics.median(spent), max(spent), statistics.median(cpu)


def main() -> None:
    """Copy, vary, then time the summary and the workbook."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--year", type=int, default=None)
    parser.add_argument("--times", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-summary-"))
    copy = work / "district.sqlite"
    shutil.copyfile(args.db, copy)
    vary(copy)
    from app.schema import migrate
    from app.users import create_user

    db = database.connect(str(copy))
    started = time.perf_counter()
    migrate(db)  # a district seeded before the supervisor role existed, or before its facts were kept
    migrated = time.perf_counter() - started
    from app.facts import refresh_all

    started = time.perf_counter()
    with database.transaction(db):  # vary() wrote behind the app's back
        refresh_all(db)
    refreshed = time.perf_counter() - started
    year = args.year or db.execute("SELECT max(year) FROM reports").fetchone()[0]
    units = db.execute("SELECT count(*) FROM units").fetchone()[0]
    create_user(db, "bench-supervisor", "supervisor", PASSWORD, display_name="压测监管")
    app = create_app({"TESTING": True, "DATABASE": str(copy), "SECRET_KEY": "bench", "LOAD_SAMPLE": False})
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "bench-supervisor", "password": PASSWORD, "csrf_token": token})
    url = f"/summary?year={year}"

    def cold():
        app.extensions["kept"].clear()
        assert client.get(url).status_code == 200

    from app.form_store import load_form, save_row
    from app.reports import get_report
    from app.summary import indicator_scores, year_summary
    from app.users import get_user
    from app.xlsx_export import summary_workbook

    admin = get_user(db, db.execute("SELECT id FROM users WHERE role = 'admin' ORDER BY id").fetchone()[0])
    draft = db.execute("SELECT id FROM reports WHERE year = ? AND status = 'draft' ORDER BY id", (year,)).fetchone()[0]
    flip = iter(range(10**6))

    def save():
        line = load_form(db, draft).lines[0]
        save_row(db, get_report(db, admin, draft), admin, "budget", line.id,
                 {"source": line.source, "initial": "1000", "adjusted": "1000", "executed": str(500 + next(flip))},
                 line.version)

    def one_change():
        save()  # a real save: the report's facts are written in its transaction, the generation raised
        assert client.get(url).status_code == 200

    def workbook():
        rows = year_summary(db, year)
        summary_workbook(rows, indicator_scores(db, year, [row.report_id for row in rows if row.report_id]), year)

    results = {
        "第一次打开（缓存清空）": timed(cold, args.times),
        "再次打开": timed(lambda: client.get(url), args.times),
        "保存一行预算（含写入该报告的汇总数据）": timed(save, args.times),
        "保存一行之后打开": timed(one_change, args.times),
        "下载 .xlsx（整年）": timed(lambda: client.get(f"/summary/export.xlsx?year={year}"), max(2, args.times // 2)),
        "export-summary 的工作（不经 HTTP）": timed(workbook, max(2, args.times // 2)),
    }
    print(f"{units} 个单位，{year} 年度；负载 {os.getloadavg()[0]:.2f}；迁移 {migrated:.1f} s，"
          f"重算全部报告的汇总数据 {refreshed:.1f} s")
    for name, (median, worst, cpu) in results.items():
        print(f"{name}: 中位 {median:.0f} ms，最慢 {worst:.0f} ms，CPU 中位 {cpu:.0f} ms")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
