"""The year summary and its workbook on a district, in process: `python -m bench.summary --db FILE`.

The database is a seed-scale district (see README.md); its forms are the default template with nothing
filled in, so this first gives every form varied actual values and budgets (on a copy, never on --db
itself), then times: the summary page cold (after a server start: every form scored and checked), the
page again (kept), the page after one write (the whole year scored again: the cache keys on the
database's generation, views/kept.py), and the .xlsx
export of the year (CLI export-summary's work) — each several times, median and worst.
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
    migrate(db)  # a district seeded before the supervisor role existed
    year = args.year or db.execute("SELECT max(year) FROM reports").fetchone()[0]
    units = db.execute("SELECT count(*) FROM units").fetchone()[0]
    create_user(db, "bench-supervisor", "supervisor", PASSWORD, display_name="压测监管")
    app = create_app({"TESTING": True, "DATABASE": str(copy), "SECRET_KEY": "bench", "LOAD_SAMPLE": False})
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "bench-supervisor", "password": PASSWORD, "csrf_token": token})
    url = f"/summary?year={year}"
    from app.db import transaction

    def cold():
        app.extensions["kept"].clear()
        assert client.get(url).status_code == 200

    def one_change():
        with transaction(db):  # raises the generation: the whole year is scored and checked again
            db.execute("UPDATE reports SET updated_at = updated_at WHERE id = (SELECT min(id) FROM reports"
                       " WHERE year = ?)", (year,))
        assert client.get(url).status_code == 200

    results = {
        "冷启动（全部评分与检查）": timed(cold, args.times),
        "再次打开（已保留）": timed(lambda: client.get(url), args.times),
        "一份报告改动之后": timed(one_change, args.times),
        "导出 .xlsx（整年）": timed(lambda: client.get(f"/summary/export.xlsx?year={year}"), max(2, args.times // 2)),
    }
    print(f"{units} 个单位，{year} 年度；负载 {os.getloadavg()[0]:.2f}")
    for name, (median, worst, cpu) in results.items():
        print(f"{name}: 中位 {median:.0f} ms，最慢 {worst:.0f} ms，CPU 中位 {cpu:.0f} ms")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
