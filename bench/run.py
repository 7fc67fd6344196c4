"""Load benchmarks with wrk: each target against the real server, then its ceiling, one at a time.

    python -m bench.run                                  # a fresh database holding only the bench reports
    python -m bench.run --db /tmp/district.sqlite        # a seed-scale district (the bench adds its reports)

The ceiling of a target is a separate bare Flask app under waitress with the same thread count
serving the very bytes the target served (bench/ceiling.py): what Flask, waitress and loopback cost,
nothing of this app. See bench/README.md. Bounded: every run lasts warmup + duration seconds.
"""

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode

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
    sections = [f"{row[0]}:{row[1]}" for row in db.execute(
        "SELECT id, version FROM sections WHERE report_id = ? AND deleted_at IS NULL ORDER BY position", (ids["r40"],))]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return {"admin": f"bench-admin-{tag}", "editor": f"bench-editor-{tag}", "token": token,
            # Eight editors' sections, and one more: wrk calls the first thread's request() once before it starts.
            "save_sections": sections[:9], **ids}


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
    """The real site (`flask --app app serve`, as in production) in a subprocess, or with `command` another server;
    `root`: the checkout it runs from (bench/ab.py compares two)."""

    def __init__(self, database: Path | None, log: Path, threads: int, command: list[str] | None = None,
                 root: Path = ROOT):
        self.port, self.database = free_port(), database
        env = {**os.environ, "FLASK_DATABASE": str(database), "FLASK_SECRET_KEY": secrets.token_hex(16),
               "FLASK_LOAD_SAMPLE": "false", "PYTHONUNBUFFERED": "1"}
        command = command or ["-m", "flask", "--app", "app", "serve", "--host", "127.0.0.1"]
        with open(log, "w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *command, "--port", str(self.port), "--threads", str(threads)],
                cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if http_get(self.port, "/healthz")[0] in (200, 404):  # the ceiling has no /healthz
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


WRK_SCRIPT = Path(__file__).with_name("wrk-report.lua")


SAVE_SCRIPT = Path(__file__).with_name("wrk-save.lua")
WRK_THREADS = 2


def wrk(port: int, path: str, headers: dict, connections: int, seconds: float,
        script: Path = WRK_SCRIPT, script_args: tuple = ()) -> dict:
    """One wrk run (2 threads, closed loop, keep-alive): requests, req/s, latency percentiles, errors."""
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    if script_args:
        command += ["--", *script_args]
    out = subprocess.run(command, capture_output=True, text=True,  # noqa: S603 (wrk, fixed arguments)
                         check=True, timeout=seconds + 60).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def measure(server: Server, path: str, headers: dict, connections: int, args, **script) -> dict:
    """Warm up, then one measured wrk run: throughput, latency, errors, server CPU per request."""
    wrk(server.port, path, headers, connections, args.warmup, **script)
    before = server.cpu_seconds()
    row = wrk(server.port, path, headers, connections, args.duration, **script)
    row["cpu_ms_per_request"] = (server.cpu_seconds() - before) * 1000 / max(1, row["requests"])
    return row


def targets(port: int | None, ids: dict) -> list[tuple[str, str, str, dict, int]]:
    """(key, name, path, headers, connections) of each page measured; with no port, no login (names only)."""
    editor, admin = ({"Cookie": login(port, ids[who])[0]} for who in ("editor", "admin")) if port else ({}, {})
    query = f"/search?q={quote(SEARCH_TERM)}"
    return [
        ("share", "分享页 /s/<令牌>（定稿版本，无会话）", f"/s/{ids['token']}", {}, 16),
        ("report", "报告页：示例报告（填报人）", f"/reports/{ids['approved']}", editor, 16),
        ("report200", "报告页 200 部分（填报人）", f"/reports/{ids['r200']}", editor, 16),
        ("report200-admin", "报告页 200 部分（管理员）", f"/reports/{ids['r200']}", admin, 16),
        ("report40", "报告页 40 部分（填报人）", f"/reports/{ids['r40']}", editor, 16),
        ("dashboard", "首页（填报人，本单位）", "/", editor, 16),
        ("dashboard-admin", "首页（管理员，全区）", "/", admin, 16),
        ("search", f"搜索“{SEARCH_TERM}”（填报人）", query, editor, 16),
        ("search-admin", f"搜索“{SEARCH_TERM}”（管理员）", query, admin, 16),
    ]


SAVES = (("save", "保存部分：8 名填报人各改一个部分，一存完立即再存（最坏情况）", 0),
         ("save-paced", "保存部分：8 名填报人各改一个部分，每人平均每秒存一次", 1000))


def _save_sections(database: Path, ids: dict) -> tuple[str, ...]:
    """section:version:title of the sections the editors save, as the database holds them now (the title
    URL-encoded: the edit form sends it back as shown_title, as a browser does)."""
    found = []
    with sqlite3.connect(database) as conn:
        for pair in ids["save_sections"]:
            section = int(pair.split(":")[0])
            version, title = conn.execute("SELECT version, title FROM sections WHERE id = ?", (section,)).fetchone()
            found.append(f"{section}:{version}:{quote(title)}")
    return tuple(found)


def save_load(server: Server, ids: dict, session: tuple[str, str], seconds: float, pause_ms: int) -> dict:
    """One wrk run of eight editors saving (8 connections, a section each, each save with the version the last one
    returned, bench/wrk-save.lua), each pausing `pause_ms` after a save; `session`: the editor's (cookie, CSRF token).
    Each run starts from the versions the last one left."""
    cookie, csrf = session
    return wrk(server.port, "/", {}, 8, seconds, script=SAVE_SCRIPT, script_args=(
        str(ids["r40"]), csrf, cookie, str(WRK_THREADS), str(pause_ms), *_save_sections(server.database, ids)))


def measure_saves(server: Server, ids: dict, args, key: str, name: str, pause_ms: int) -> dict:
    """Eight editors saving at once, each pausing `pause_ms` after a save: throughput, latency, errors; no
    ceiling (a bare app stores nothing)."""
    session = login(server.port, ids["editor"])
    save_load(server, ids, session, args.warmup, pause_ms)
    time.sleep(1)  # saves still in flight when wrk stopped finish before the versions are read again
    before = server.cpu_seconds()
    # Paced editors save about once a second: twice the time gives enough saves for a p99.
    page = save_load(server, ids, session, args.duration * (2 if pause_ms else 1), pause_ms)
    page["cpu_ms_per_request"] = (server.cpu_seconds() - before) * 1000 / max(1, page["requests"])
    print(f"  {name:<28} {page['rps']:>8.1f}/s  p50 {page['p50']:.1f}  p99 {page['p99']:.1f} ms  "
          f"CPU {page['cpu_ms_per_request']:.2f} ms/请求  非 2xx {page['non2xx']}", flush=True)
    return {"key": key, "name": name, "path": f"/reports/{ids['r40']}/sections/…", "connections": 8, "kb": 0,
            "page": page}


def markdown(info: dict, rows: list[dict]) -> str:
    """The results as a Markdown table for docs/benchmarks.md."""
    lines = [
        f"{info['date']}；{info.get('cpu', '?')} × {info['nproc']}，内存 {info.get('ram_mb', 0) // 1024} GB；"
        f"Python {info['python']}，SQLite {info['sqlite']}；数据库 {info['database_mb']} MB"
        f"（报告 {info['reports']:,} 份，部分 {info['sections']:,} 个）；waitress {info['threads']} 个线程；"
        f"wrk -t2，每次 {info['duration']:g} 秒；开始时负载 {' '.join(info.get('load_before', []))}，"
        f"结束时 {' '.join(info.get('load_after', []))}",
        "",
        "| 页面 | KB | 连接 | 请求/秒 | p50 ms | p95 ms | p99 ms | 服务器 CPU ms/请求 | 上限 请求/秒 | 上限 p99 ms"
        " | 上限 CPU ms/请求 | 与上限之比 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        page, top = row["page"], row.get("ceiling")
        errors = page["errors"] + page["non2xx"]
        ceiling = (f"{top['rps']:.0f} | {top['p99']:.1f} | {top['cpu_ms_per_request']:.2f} | "
                   f"**{page['rps'] / top['rps']:.2f}×**") if top else "— | — | — | —"
        lines.append(
            f"| {row['name']}{f'（错误 {errors}）' if errors else ''} | {row['kb'] or '—'} | {row['connections']} | "
            f"{page['rps']:.0f} | {page['p50']:.1f} | {page['p95']:.1f} | {page['p99']:.1f} | "
            f"{page['cpu_ms_per_request']:.2f} | {ceiling} |")
    memory = info.get("server_memory_mb", {})
    if memory:
        lines += ["", f"网站进程内存峰值（VmHWM）{memory['VmHWM']:.0f} MB，结束时（VmRSS）{memory['VmRSS']:.0f} MB；"
                      f"子进程（Markdown 渲染等）{memory.get('children', 0)} 个，峰值合计 "
                      f"{memory.get('children_VmHWM', 0):.0f} MB；网站进程与子进程峰值合计 "
                      f"{memory['VmHWM'] + memory.get('children_VmHWM', 0):.0f} MB（共用的库页面重复计算）；"
                      f"结束时按比例分摊共用页面（PSS）合计 {memory.get('Pss_all', 0):.0f} MB。"]
    return "\n".join(lines)


def _ratio(row: dict) -> float:
    """The site's requests per second over its ceiling's."""
    return row["page"]["rps"] / row["ceiling"]["rps"]


def _site_then_ceiling(database: Path, work: Path, ids: dict, key: str, args, memory: list) -> dict | None:
    """One target on the site (started for it, then stopped), then the same bytes on its ceiling."""
    server = Server(database, work / f"server-{key}.log", args.threads)
    try:
        _, name, path, headers, connections = next(t for t in targets(server.port, ids) if t[0] == key)
        status, answer, body = http_get(server.port, path, headers)
        if status != 200:
            print(f"（{name}：{path} 答 {status}，跳过；见 {work / f'server-{key}.log'}）", flush=True)
            return None
        page = measure(server, path, headers, connections, args)
        memory.append(server.memory())
    finally:
        server.stop()
    body_file = work / f"{key}.body"
    body_file.write_bytes(body)
    ceiling = Server(None, work / f"ceiling-{key}.log", args.threads,
                     ["-m", "bench.ceiling", str(body_file), answer.get("Content-Type", "text/html")])
    try:
        top = measure(ceiling, path, {}, connections, args)
    finally:
        ceiling.stop()
    print(f"  {name:<28} {page['rps']:>8.1f}/s  p50 {page['p50']:.1f}  p99 {page['p99']:.1f} ms  "
          f"CPU {page['cpu_ms_per_request']:.2f} ms/请求；上限 {top['rps']:.1f}/s  （{page['rps'] / top['rps']:.2f}×）",
          flush=True)
    return {"key": key, "name": name, "path": path, "connections": connections, "kb": len(body) // 1024,
            "page": page, "ceiling": top}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help="use this database (e.g. from seed-scale) instead of a fresh one")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads, site and ceiling (default 8)")
    parser.add_argument("--only", default="", help="comma-separated keys: share,report,report200,dashboard,search…")
    parser.add_argument("--rounds", type=int, default=1,
                        help="site-then-ceiling pairs per target; the median round is reported (default 1)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("需要 wrk：make bench 会安装它（Debian 软件包 wrk），或 apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
    database = args.db or work / "bench.sqlite"
    print(f"准备数据：{database}", flush=True)
    ids = prepare(database)
    info = machine()
    info.update(threads=args.threads, duration=args.duration,
                database_mb=round(database.stat().st_size / 1024 / 1024, 1))
    with sqlite3.connect(database) as conn:
        info["reports"] = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
        info["sections"] = conn.execute("SELECT count(*) FROM sections").fetchone()[0]
    print(json.dumps(info, ensure_ascii=False), flush=True)
    only = {key for key in args.only.split(",") if key}
    rows, memory = [], []
    # One server at a time, each target's ceiling right after it: this machine's speed drifts by a fifth from
    # minute to minute (other virtual machines on the host), so a ratio compares runs a few seconds apart.
    keys = [key for key, *_ in targets(None, ids) if not only or key in only]
    for key in keys:
        runs = sorted((row for row in (_site_then_ceiling(database, work, ids, key, args, memory)
                                        for _ in range(args.rounds)) if row is not None), key=_ratio)
        if runs:
            rows.append(runs[(len(runs) - 1) // 2])  # the median round (the lower one of an even count)
    saves = [(key, name, pause_ms) for key, name, pause_ms in SAVES if not only or key in only]
    if saves:
        server = Server(database, work / "server-saves.log", args.threads)
        try:
            for key, name, pause_ms in saves:
                rows.append(measure_saves(server, ids, args, key, name, pause_ms))
            memory.append(server.memory())
        finally:
            server.stop()
    if memory:
        info["server_memory_mb"] = max(memory, key=lambda found: found["VmHWM"] + found.get("children_VmHWM", 0))
    info["load_after"] = open("/proc/loadavg", encoding="utf-8").read().split()[:3]
    print(markdown(info, rows))
    if args.out:
        args.out.write_text(json.dumps({"machine": info, "results": rows}, ensure_ascii=False, indent=1),
                            encoding="utf-8")
        print(f"结果已写入 {args.out}")


if __name__ == "__main__":
    main()
