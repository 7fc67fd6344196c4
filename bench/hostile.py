"""By hand (not in `make test`): the real server under hostile uploads and concurrent share PDFs.

    .venv/bin/python -m bench.hostile [--rounds 3]

1. Eight hostile Word/JSON uploads at once (tests/security/hostile_files.py), while /healthz is timed
   every 20 ms: each upload's status and seconds, /healthz p50/p99/max, the server's CPU after the answers
   and its peak memory.
2. Sixteen GET /s/<token>/export.pdf at once, `--rounds` times (the first round makes the edition's PDF,
   the rest are served from the kept file), while /healthz is timed: statuses, /healthz p99, peak memory.
Results are printed as Markdown for docs/benchmarks.md.
"""

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.run import Server, http_get, login, prepare

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.security.hostile_files import CORPUS  # noqa: E402 (after the path is set)

HOSTILE = ["gridSpan of ten million", "900×20 vertical merge chain", "gridSpan of a million",
           "tables nested 300 deep", "JSON nested 100,000 deep", "3,000-row table", "20,000 headings",
           "Markdown with 5,000 headings"]


def _probe(port: int, stop: threading.Event, out: list[float]) -> None:
    """Time /healthz every 20 ms until stopped (a failure counts as 99 s)."""
    while not stop.is_set():
        started = time.perf_counter()
        try:
            ok = http_get(port, "/healthz")[0] == 200
        except OSError:
            ok = False
        out.append(time.perf_counter() - started if ok else 99.0)
        time.sleep(0.02)


def _percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _upload(port: int, cookie: str, token: str, name: str, out: dict) -> None:
    """POST one hostile file to the import preview."""
    filename, make, _ = CORPUS[name]
    boundary = "----bench"
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in (("year", "2030"), ("format", "auto")))
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'
             .encode() + make() + f"\r\n--{boundary}--\r\n".encode())
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("POST", "/reports/import", body=body, headers={
        "Cookie": cookie, "X-CSRFToken": token, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    status = connection.getresponse().status
    connection.close()
    out[name] = (status, time.perf_counter() - started)


def _idle_after(server: Server) -> float:
    """Seconds until the server used under 0.05 s of CPU in a 0.5 s window (at most 10)."""
    started = time.perf_counter()
    while time.perf_counter() - started < 10:
        before = server.cpu_seconds()
        time.sleep(0.5)
        if server.cpu_seconds() - before < 0.05:
            return time.perf_counter() - started
    return 10.0


def hostile_uploads(server: Server, editor: str) -> list[str]:
    """Section 1: eight hostile uploads at once."""
    cookie, token = login(server.port, editor)
    stop, latencies, results = threading.Event(), [], {}
    probe = threading.Thread(target=_probe, args=(server.port, stop, latencies))
    probe.start()
    threads = [threading.Thread(target=_upload, args=(server.port, cookie, token, n, results)) for n in HOSTILE]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    probe.join()
    idle = _idle_after(server)
    lines = ["| 上传 | 状态 | 秒 |", "|---|---|---|"]
    lines += [f"| {name} | {status} | {seconds:.2f} |" for name, (status, seconds) in results.items()]
    lines.append(f"\n/healthz：p50 {statistics.median(latencies) * 1000:.1f} ms，p99 "
                 f"{_percentile(latencies, 0.99) * 1000:.1f} ms，最长 {max(latencies) * 1000:.1f} ms"
                 f"（{len(latencies)} 次）；答复后服务器 {idle:.1f} 秒内回到空闲；"
                 f"服务器内存峰值 {server.memory()['VmHWM']:.0f} MB")
    return lines


def share_pdfs(server: Server, share_token: str, rounds: int) -> list[str]:
    """Section 2: sixteen share-PDF downloads at once, several rounds."""
    lines = ["| 轮次 | 200 | 503（稍后重试） | 其他 | 用时 秒 | /healthz p99 ms | 最长 ms |",
             "|---|---|---|---|---|---|---|"]
    for number in range(1, rounds + 1):
        stop, latencies, statuses = threading.Event(), [], []
        probe = threading.Thread(target=_probe, args=(server.port, stop, latencies))
        probe.start()

        def fetch(statuses=statuses):
            statuses.append(http_get(server.port, f"/s/{share_token}/export.pdf")[0])

        started = time.perf_counter()
        threads = [threading.Thread(target=fetch) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        stop.set()
        probe.join()
        lines.append(f"| {number} | {statuses.count(200)} | {statuses.count(503)} | "
                     f"{len(statuses) - statuses.count(200) - statuses.count(503)} | {elapsed:.2f} | "
                     f"{_percentile(latencies, 0.99) * 1000:.1f} | {max(latencies) * 1000:.1f} |")
    lines.append(f"\n服务器内存峰值（VmHWM）{server.memory()['VmHWM']:.0f} MB")
    return lines


def main() -> None:
    """Run both sections against a fresh database and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite"
        ids = prepare(path)
        server = Server(path, Path(folder) / "server.log", threads=8)
        try:
            print("## 八个恶意文件同时上传\n")
            print("\n".join(hostile_uploads(server, ids["editor"])))
            print("\n## 十六个分享链接 PDF 同时下载\n")
            print("\n".join(share_pdfs(server, ids["token"], args.rounds)))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
