"""Benchmarks against the real server (waitress) on loopback: each page beside a baseline of the same bytes.

    python -m bench.run                                  # a fresh database holding only the bench reports
    python -m bench.run --db /tmp/district.sqlite        # a seed-scale district (the bench adds its reports)

See bench/README.md. Bounded: every run lasts warmup + duration seconds, then the server is stopped.
"""

import argparse
import http.client
import json
import os
import platform
import random
import re
import resource
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from bench.loadgen import Result, Spec, run

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-pass-42"
SEARCH_TERM = "康复"


def machine() -> dict:
    """Where the numbers were measured."""
    info = {"date": datetime.now().astimezone().isoformat(timespec="minutes"), "nproc": os.cpu_count(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "system": platform.platform()}
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                           if line.startswith("model name"))
        info["ram_mb"] = int(next(line.split()[1] for line in open("/proc/meminfo", encoding="utf-8")
                                     if line.startswith("MemTotal"))) // 1024
        info["load_before"] = open("/proc/loadavg", encoding="utf-8").read().split()[:3]
    except (OSError, StopIteration):
        pass
    return info


def _sections(rng: random.Random, count: int, pool) -> list:
    """Sections of plausible text, from seed-scale's paragraph pool."""
    from app.outline import ParsedSection
    from app.seedscale import outline

    parsed = []
    for level, title in outline(rng, count):
        picked = rng.sample(pool, rng.randint(1, 3))
        parsed.append(ParsedSection(level, title, "\n\n".join(md for md, _ in picked).split("\n")))
    return parsed


def prepare(path: Path) -> dict:
    """Add the bench's unit, accounts and reports to the database (through the domain functions)."""
    from app import SAMPLE_REPORT
    from app import db as database
    from app.db import transaction
    from app.importer import parse_upload
    from app.outline import ParsedReport
    from app.reports import InvalidInput, create_report, get_report
    from app.schema import migrate
    from app.seedscale import _advance, paragraph_pool
    from app.shares import create_share
    from app.users import create_user, get_or_create_unit, get_user
    from app.workflow import InvalidTransition, perform

    db = database.connect(str(path))
    migrate(db)
    tag = secrets.token_hex(3)
    admin = get_user(db, create_user(db, f"bench-admin-{tag}", "admin", PASSWORD))
    unit_id = get_or_create_unit(db, f"压测单位{tag}")
    create_user(db, f"bench-editor-{tag}", "editor", PASSWORD, unit_id=unit_id)
    rng = random.Random(7)
    pool = paragraph_pool(rng)
    ids = {}
    for key, year, count in (("r200", 2001, 200), ("r40", 2002, 40)):
        parsed = ParsedReport(f"{year}年度压测单位部门整体支出绩效自评表说明", "", _sections(rng, count, pool))
        ids[key] = create_report(db, admin, unit_id, year, parsed, how="压测")
    # The approved report behind the share link: the sample report (with its 自评表 where there is one).
    parsed = parse_upload(SAMPLE_REPORT.read_text(encoding="utf-8"), SAMPLE_REPORT.name)
    try:
        from app.bootstrap import SAMPLE_FORM_NAME
        from app.form_model import load_form_file

        parsed.form = load_form_file(SAMPLE_REPORT.with_name(SAMPLE_FORM_NAME))
    except (ImportError, OSError):
        pass
    ids["approved"] = create_report(db, admin, unit_id, 2003, parsed, how="压测")
    try:
        for action in ("submit", "pass", "approve"):
            perform(db, ids["approved"], admin, action)
    except (InvalidTransition, InvalidInput) as refused:
        print(f"（workflow.perform 拒绝：{refused}；改为直接记录流转）", file=sys.stderr)
        with transaction(db):
            _advance(db, admin, ids["approved"], "approved")
    token = create_share(db, get_report(db, admin, ids["approved"]), admin, "", "压测", "Asia/Shanghai")
    sections = [row[0] for row in db.execute(
        "SELECT id FROM sections WHERE report_id = ? AND deleted_at IS NULL ORDER BY position", (ids["r40"],))]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return {"admin": f"bench-admin-{tag}", "editor": f"bench-editor-{tag}", "token": token,
            "save_sections": sections[:8], **ids}


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, headers: dict | None = None, method: str = "GET", body: bytes | None = None):
    """(status, headers, body) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def login(port: int, username: str) -> tuple[str, str]:
    """(Cookie header, CSRF token) of a session logged in through the real form."""
    status, headers, body = http_get(port, "/login")
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(rb'<meta name="csrf-token" content="([^"]+)"', body).group(1).decode()
    form = urlencode({"username": username, "password": PASSWORD, "csrf_token": token}).encode()
    form_headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = http_get(port, "/login", form_headers, "POST", form)
    if status != 303:
        raise RuntimeError(f"login as {username} failed: {status}")
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    _, headers, home = http_get(port, "/", {"Cookie": cookie})
    # The page's CSRF token is stored in the session on first use: keep the cookie that carries it.
    cookie = headers.get("Set-Cookie", cookie).split(";", 1)[0]
    return cookie, re.search(rb'<meta name="csrf-token" content="([^"]+)"', home).group(1).decode()


def _pss(pid: int) -> float:
    """Proportional set size of a process now (MB), 0 where the system does not tell."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="utf-8")
    except OSError:
        return 0.0
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


class Server:
    """`flask --app bench.benchapp serve` in a subprocess."""

    def __init__(self, database: Path, log: Path, threads: int):
        self.port = free_port()
        env = {**os.environ, "FLASK_DATABASE": str(database), "FLASK_SECRET_KEY": secrets.token_hex(16),
               "FLASK_LOAD_SAMPLE": "false", "PYTHONUNBUFFERED": "1"}
        with open(log, "w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "bench.benchapp", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--threads", str(threads)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if http_get(self.port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start; see {log}")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server so far."""
        fields = open(f"/proc/{self.proc.pid}/stat", encoding="utf-8").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory(self) -> dict:
        """Peak and current resident memory (MB) of the server, and of its helper processes (Markdown workers)."""
        def status(pid: int) -> dict:
            text = open(f"/proc/{pid}/status", encoding="utf-8").read()
            return {key: int(re.search(rf"{key}:\s+(\d+) kB", text).group(1)) / 1024 for key in ("VmHWM", "VmRSS")}

        found = status(self.proc.pid)
        children, pids = [], []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
                    if int(stat[1]) == self.proc.pid:
                        children.append(status(int(entry.name)))
                        pids.append(int(entry.name))
                except (OSError, ValueError):
                    continue
        found["children"] = len(children)
        found["children_VmHWM"] = sum(child["VmHWM"] for child in children)
        # Resident sizes count shared pages (the interpreter, libraries) once per process; PSS shares them out.
        found["Pss_all"] = sum(_pss(pid) for pid in [self.proc.pid, *pids])
        return found

    def stop(self) -> None:
        """Stop the server (bounded)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


def measure(server: Server, spec: Spec, concurrency: int, args) -> dict:
    """Run one load and note throughput, latency, errors and CPU of server and client."""
    before_server = server.cpu_seconds()
    before_client = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: Result = run(server.port, spec, concurrency, args.duration, args.warmup, args.processes)
    after_client = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = args.duration + args.warmup + 1
    client_cpu = (after_client.ru_utime + after_client.ru_stime - before_client.ru_utime - before_client.ru_stime)
    row = {
        "name": spec.name, "concurrency": concurrency, "rps": round(result.rps, 1),
        "p50": round(result.percentile(50), 1), "p95": round(result.percentile(95), 1),
        "p99": round(result.percentile(99), 1), "errors": result.errors, "statuses": result.statuses,
        "first_error": result.first_error, "server_cpu": round((server.cpu_seconds() - before_server) / wall, 2),
        "client_cpu": round(client_cpu / wall, 2),
    }
    print(f"  {spec.name:<28} c={concurrency:<3} {row['rps']:>8.1f}/s  p50 {row['p50']:>7.1f}  p95 {row['p95']:>7.1f}"
          f"  p99 {row['p99']:>7.1f} ms  errors {row['errors']}  CPU server {row['server_cpu']:.2f}"
          f" client {row['client_cpu']:.2f}", flush=True)
    if result.first_error:
        print(f"    first error: {result.first_error}", flush=True)
    time.sleep(1)
    return row


def targets(server: Server, ids: dict) -> list[tuple[str, Spec, int, Spec]]:
    """(key, page, concurrency, its baseline): the page's bytes are first stored in the baseline route."""
    editor_cookie, editor_token = login(server.port, ids["editor"])
    admin_cookie, _ = login(server.port, ids["admin"])
    editor, admin = {"Cookie": editor_cookie}, {"Cookie": admin_cookie}
    pages = [
        ("share", Spec("分享页（定稿版本）", f"/s/{ids['token']}"), 16),
        ("report200", Spec("报告页 200 部分（填报人）", f"/reports/{ids['r200']}", headers=editor), 16),
        ("report200-admin", Spec("报告页 200 部分（管理员）", f"/reports/{ids['r200']}", headers=admin), 16),
        ("report40", Spec("报告页 40 部分（填报人）", f"/reports/{ids['r40']}", headers=editor), 16),
        ("dashboard", Spec("首页（填报人，本单位）", "/", headers=editor), 16),
        ("dashboard-admin", Spec("首页（管理员，全区）", "/", headers=admin), 16),
    ]
    if http_get(server.port, "/search?q=x", editor)[0] == 200:
        query = f"/search?q={quote(SEARCH_TERM)}"
        pages += [("search", Spec(f"搜索“{SEARCH_TERM}”（填报人）", query, headers=editor), 16),
                  ("search-admin", Spec(f"搜索“{SEARCH_TERM}”（管理员）", query, headers=admin), 16)]
    else:
        print("（/search 不存在：跳过搜索）", flush=True)
    chosen = []
    for key, spec, concurrency in pages:
        status, headers, body = http_get(server.port, spec.path, spec.headers)
        if status != 200:
            print(f"（{spec.name}：{spec.path} 答 {status}，跳过；见服务器日志）", flush=True)
            continue
        http_get(server.port, f"/_bench/baseline/{key}", {"Content-Type": headers.get("Content-Type", "")},
                 "PUT", body)
        chosen.append((key, spec, concurrency, Spec(f"  基线：同样 {len(body) // 1024} KB", f"/_bench/baseline/{key}")))
    # A save: the real one, and a baseline POST of the same form size answering a saved fragment's bytes.
    save = Spec("保存一个部分（8 人各改一节）", "", kind="save", report_id=ids["r40"],
                sections=tuple(ids["save_sections"]), token=editor_token, headers=editor)
    section = ids["save_sections"][0]
    _, _, edit = http_get(server.port, f"/reports/{ids['r40']}/sections/{section}/edit",
                          {**editor, "HX-Request": "true"})
    version = re.search(rb'name="version" value="(\d+)"', edit).group(1).decode()
    form = urlencode({"markdown": "基线测量用的文字。" * 20, "version": version}).encode()
    status, headers, saved = http_get(server.port, f"/reports/{ids['r40']}/sections/{section}", {
        **editor, "HX-Request": "true", "X-CSRFToken": editor_token,
        "Content-Type": "application/x-www-form-urlencoded"}, "POST", form)
    if status != 200:
        raise RuntimeError(f"a save answered {status}: {saved[:300]!r}")
    http_get(server.port, "/_bench/baseline/save", {"Content-Type": headers.get("Content-Type", "")}, "PUT", saved)
    baseline = Spec(f"  基线：同样 {len(saved) // 1024} KB", "/_bench/baseline/save", method="POST", body=form,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    chosen.append(("save", save, 8, baseline))
    # The same eight editors as people work: a save every 0.5–1.5 s each (think time not counted).
    paced = Spec("保存（8 人，各约每秒一次）", "", kind="save", report_id=ids["r40"], think=(0.5, 1.5),
                 sections=tuple(ids["save_sections"]), token=editor_token, headers=editor)
    chosen.append(("save-paced", paced, 8, Spec(baseline.name, baseline.path, method="POST", body=form,
                                                headers=baseline.headers, think=(0.5, 1.5))))
    return chosen


def markdown(info: dict, rows: list[dict]) -> str:
    """The results as a Markdown table for docs/benchmarks.md."""
    lines = [
        f"{info['date']}；{info.get('cpu', '?')} × {info['nproc']}，内存 {info.get('ram_mb', 0) // 1024} GB；"
        f"Python {info['python']}，SQLite {info['sqlite']}；数据库 {info['database_mb']} MB"
        f"（报告 {info['reports']:,} 份，部分 {info['sections']:,} 个）；"
        f"开始时负载 {' '.join(info.get('load_before', []))}",
        "",
        "| 测量 | 连接 | 请求/秒 | p50 ms | p95 ms | p99 ms | 错误 | 基线 请求/秒 | 基线 p99 ms | 页面/基线"
        " | CPU 服务器/压测 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        page, base = row["page"], row["baseline"]
        ratio = page["rps"] / base["rps"] if base["rps"] else 0
        lines.append(f"| {page['name']} | {page['concurrency']} | {page['rps']:.0f} | {page['p50']:.1f} | "
                     f"{page['p95']:.1f} | {page['p99']:.1f} | {page['errors']} | {base['rps']:.0f} | "
                     f"{base['p99']:.1f} | {ratio:.0%} | {page['server_cpu']:.2f} / {page['client_cpu']:.2f} |")
    memory = info.get("server_memory_mb", {})
    if memory:
        lines += ["", f"服务器内存峰值（VmHWM）{memory['VmHWM']:.0f} MB，结束时（VmRSS）{memory['VmRSS']:.0f} MB；"
                      f"另有 {memory.get('children', 0)} 个子进程（Markdown 渲染），峰值合计 "
                      f"{memory.get('children_VmHWM', 0):.0f} MB；"
                      f"结束时全部进程 PSS 合计 {memory.get('Pss_all', 0):.0f} MB。"]
    return "\n".join(lines)


def _wait_quiet(seconds: float) -> None:
    """Wait (bounded) until nothing else keeps the machine busy: other load skews every number."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        load = float(open("/proc/loadavg", encoding="utf-8").read().split()[0])
        if load < 0.5:
            return
        print(f"（等待机器空闲：负载 {load}）", flush=True)
        time.sleep(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help="use this database (e.g. from seed-scale) instead of a fresh one")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (default 8, as serve)")
    parser.add_argument("--processes", type=int, default=2, help="load generator processes (default 2)")
    parser.add_argument("--only", default="", help="comma-separated keys: share,report200,save,dashboard,search…")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="first wait up to this long for the 1-minute load average to drop below 0.5")
    args = parser.parse_args()
    _wait_quiet(args.wait_quiet)

    work = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
    database = args.db or work / "bench.sqlite"
    print(f"准备数据：{database}", flush=True)
    ids = prepare(database)
    info = machine()
    info["database_mb"] = round(database.stat().st_size / 1024 / 1024, 1)
    with sqlite3.connect(database) as conn:
        info["reports"] = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
        info["sections"] = conn.execute("SELECT count(*) FROM sections").fetchone()[0]
    print(json.dumps(info, ensure_ascii=False), flush=True)
    server = Server(database, work / "server.log", args.threads)
    rows = []
    try:
        only = {key for key in args.only.split(",") if key}
        for key, spec, concurrency, baseline in targets(server, ids):
            if only and key not in only:
                continue
            page = measure(server, spec, concurrency, args)
            base = measure(server, baseline, concurrency, args)
            rows.append({"key": key, "page": page, "baseline": base})
        info["server_memory_mb"] = memory = server.memory()
        print(f"服务器内存：峰值 {memory['VmHWM']:.0f} MB，当前 {memory['VmRSS']:.0f} MB；"
              f"{memory['children']} 个子进程峰值合计 {memory['children_VmHWM']:.0f} MB；"
              f"全部进程当前 PSS 合计 {memory['Pss_all']:.0f} MB", flush=True)
    finally:
        server.stop()
    print(f"服务器日志：{work / 'server.log'}")
    print(markdown(info, rows))
    if args.out:
        args.out.write_text(json.dumps({"machine": info, "results": rows}, ensure_ascii=False, indent=1),
                            encoding="utf-8")
        print(f"结果已写入 {args.out}")


if __name__ == "__main__":
    main()
