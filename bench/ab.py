"""Two checkouts of the site, one target, measured by turns: which costs less CPU per request?

    git worktree add /tmp/base main                       # the code to compare against
    python -m bench.ab --base /tmp/base --only report     # this checkout (B) against /tmp/base (A)
    python -m bench.ab --base /tmp/base --only save       # eight editors saving back to back (save-paced too)

Both servers run at once over copies of one bench database, idle but for the one under load: wrk loads A,
then B, then B, then A… (`--rounds` pairs, `--duration` seconds each), so that the machine's drift from
minute to minute (a fifth here) falls on both alike. Reported: the median server CPU per request, requests
per second and p99 of each. A difference smaller than the spread of its own runs is no difference.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.run import ROOT, SAVES, Server, login, prepare, save_load, targets, wrk


def _load(server: Server, ids: dict, args) -> Callable[[float], dict]:
    """A function that loads `server` with the chosen target for some seconds and returns wrk's result."""
    pauses = {key: pause_ms for key, _, pause_ms in SAVES}
    if args.only in pauses:
        session = login(server.port, ids["editor"])

        def saves(seconds: float) -> dict:
            result = save_load(server, ids, session, seconds, pauses[args.only])
            time.sleep(1)  # saves still in flight when wrk stopped finish before the next run reads the versions
            return result
        return saves
    found = [(path, headers) for key, _, path, headers, _ in targets(server.port, ids) if key == args.only]
    if not found:
        sys.exit(f"没有这个目标：{args.only}")
    return lambda seconds: wrk(server.port, *found[0], args.connections, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the other checkout (A); this one is B")
    parser.add_argument("--only", default="report",
                        help="one target key of bench.run, save and save-paced among them (default report)")
    parser.add_argument("--rounds", type=int, default=8, help="runs of each, taken in turns (default 8)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per run (default 4)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads of both (default 8)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("需要 wrk：make bench 会安装它（Debian 软件包 wrk），或 apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="jixiao-ab-"))
    ids = prepare(work / "a.sqlite")
    shutil.copy(work / "a.sqlite", work / "b.sqlite")
    servers = {}
    try:
        for name, root in (("A", args.base.resolve()), ("B", ROOT)):
            server = Server(work / f"{name.lower()}.sqlite", work / f"{name}.log", args.threads, root=root)
            servers[name] = server
            server.load = _load(server, ids, args)
            server.load(2)  # warm up
        runs = {"A": [], "B": []}
        for turn in range(args.rounds):
            for name in ("A", "B") if turn % 2 == 0 else ("B", "A"):
                server = servers[name]
                before = server.cpu_seconds()
                result = server.load(args.duration)
                runs[name].append(((server.cpu_seconds() - before) * 1000 / max(1, result["requests"]),
                                   result["rps"], result["p99"]))
    finally:
        for server in servers.values():
            server.stop()
    for name, found in runs.items():
        cpu, rps, p99 = (statistics.median(r[i] for r in found) for i in range(3))
        where = f"（{args.base}）" if name == "A" else "（本目录）"
        print(f"{name}{where}：CPU 中位 {cpu:.2f} ms/请求（{' '.join(f'{r[0]:.2f}' for r in found)}），"
              f"请求/秒 中位 {rps:.0f}，p99 中位 {p99:.0f} ms")


if __name__ == "__main__":
    main()
