"""Service time of each page: one request at a time, in-process, the fastest of many tries.

    python -m bench.service                     # a fresh database with the bench reports
    python -m bench.service --db /tmp/district.sqlite

On a machine shared with other work the load test's numbers swing with everyone else's load; the
fastest of N single requests does not (much). 1000 / ms is what one core can serve of that page.
"改动后第一次" is the same request with the app's cache (views/kept.py) emptied first: what the first reader after a
change waits.
The Python GIL keeps one server process on about one core, so this bounds the throughput.
"""

import argparse
import html
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from bench.run import PASSWORD, SEARCH_TERM, machine, prepare


def _login(client, username: str) -> str:
    """Log in through the form; the page's CSRF token."""
    token = re.search(r'csrf-token" content="([^"]+)', client.get("/login").text).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    return re.search(r'csrf-token" content="([^"]+)', client.get("/").text).group(1)


def fastest(request, tries: int, before=None) -> float:
    """Milliseconds of the fastest of `tries` calls (after two to warm up), each after `before()` if given."""
    request()
    request()
    best = float("inf")
    for _ in range(tries):
        if before:
            before()
        started = time.perf_counter()
        request()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def forget_kept_pages(app) -> None:
    """What the next request finds after a change: the app's one cache (views/kept.py) empty."""
    app.extensions["kept"].clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help="use this database (e.g. from seed-scale) instead of a fresh one")
    parser.add_argument("--tries", type=int, default=30)
    args = parser.parse_args()

    from app import create_app

    database = args.db or Path(tempfile.mkdtemp(prefix="jixiao-service-")) / "bench.sqlite"
    ids = prepare(database)
    app = create_app({"DATABASE": str(database), "SECRET_KEY": "service", "LOAD_SAMPLE": False})
    editor, admin, anonymous = app.test_client(), app.test_client(), app.test_client()
    token = _login(editor, ids["editor"])
    _login(admin, ids["admin"])
    query = f"/search?q={quote(SEARCH_TERM)}"
    pages = [
        ("分享页（定稿版本）", anonymous, f"/s/{ids['token']}"),
        ("报告页 200 部分（填报人）", editor, f"/reports/{ids['r200']}"),
        ("报告页 200 部分（管理员）", admin, f"/reports/{ids['r200']}"),
        ("报告页 40 部分（填报人）", editor, f"/reports/{ids['r40']}"),
        ("首页（填报人，本单位）", editor, "/"),
        ("首页（管理员，全区）", admin, "/"),
        (f"搜索“{SEARCH_TERM}”（填报人）", editor, query),
        (f"搜索“{SEARCH_TERM}”（管理员）", admin, query),
    ]
    info = machine()
    print(f"{info['date']}；{info.get('cpu', '?')} × {info['nproc']}；负载 {' '.join(info.get('load_before', []))}")
    print("\n| 页面 | 大小 KB | 页面 ms | 改动后第一次 ms | 一核每秒最多 |")
    print("|---|---:|---:|---:|---:|")
    for name, client, path in pages:
        response = client.get(path)
        if response.status_code != 200:
            print(f"| {name} | — | HTTP {response.status_code} | | |")
            continue
        tries = max(3, args.tries // 10) if "搜索" in name and args.db else args.tries
        page = fastest(lambda c=client, p=path: c.get(p), tries)
        cold = fastest(lambda c=client, p=path: c.get(p), tries, before=lambda: forget_kept_pages(app))
        print(f"| {name} | {len(response.data) // 1024} | {page:.1f} | {cold:.1f} | {1000 / page:.0f} |")
    section = ids["save_sections"][0].split(":")[0]  # "id:version"
    form = editor.get(f"/reports/{ids['r40']}/sections/{section}/edit", headers={"HX-Request": "true"}).text
    version = [int(re.search(r'name="version" value="(\d+)"', form).group(1))]
    # The title as the browser sends it back: unchanged, so the answer needs no outline.
    title = html.unescape(re.search(r'name="shown_title" value="([^"]*)"', form).group(1))
    count = [0]

    def save():
        count[0] += 1
        response = editor.post(f"/reports/{ids['r40']}/sections/{section}", headers={
            "HX-Request": "true", "X-CSRFToken": token},
            data={"markdown": f"第{count[0]}次保存。本单位全年为残疾人提供康复服务。", "version": version[0],
                  "title": title, "shown_title": title})
        version[0] = int(re.search(r'data-version="(\d+)"', response.text).group(1))

    page = fastest(save, args.tries)
    print(f"| 保存一个部分（40 部分的报告） | — | {page:.1f} | | {1000 / page:.0f} |")


if __name__ == "__main__":
    main()
