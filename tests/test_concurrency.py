"""Fifty people save the same section from the same version at once: one wins, the others are told."""

import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.livesrv import PASSWORD, Client, LiveServer, build_database

pytestmark = pytest.mark.server

CLIENTS = 50
ROUNDS = 3


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A real server over a database with one report; (server, report id, section id, database path)."""
    tmp = tmp_path_factory.mktemp("concurrency")
    path = tmp / "race.sqlite"
    report_id, section_ids = build_database(path, editors=5, sections=3)
    server = LiveServer(path, tmp / "server.log")
    server.start()
    with ThreadPoolExecutor(max_workers=10) as pool:
        clients = list(pool.map(lambda n: _logged_in(server.base, n), range(CLIENTS)))
    yield server, clients, report_id, section_ids[1], path
    server.stop()


def _logged_in(base: str, n: int) -> Client:
    """Client n, logged in as one of five editors (ten browsers each)."""
    client = Client(base)
    client.login(f"editor{n % 5 + 1}", PASSWORD)
    return client


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_fifty_simultaneous_saves_from_one_version_give_one_200_and_49_409(live, round_):
    server, clients, report_id, section_id, path = live
    version = clients[0].version(report_id, section_id)
    before = sqlite3.connect(path).execute("SELECT count(*) FROM revisions WHERE section_id = ?",
                                           (section_id,)).fetchone()[0]
    start = threading.Barrier(CLIENTS)
    replies = [None] * CLIENTS

    def save(n: int) -> None:
        start.wait(timeout=30)
        replies[n] = clients[n].save(report_id, section_id, f"第{round_}轮，第{n}位的文本。", version)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(reply.status for reply in replies)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == CLIENTS - 1, statuses
    assert not any("database is locked" in reply.body for reply in replies)
    assert "database is locked" not in server.log()
    assert "Traceback" not in server.log()
    # The server logs each request in one line, under its request id.
    assert server.logged(r"INFO app\.requests \[[0-9a-f]{12}\] method=POST path=/reports/\d+/sections/\d+ status=409 "
                         r"ms=\d+\.\d user=\d+ ip=127\.0\.0\.1 bytes=\d+")
    winner = next(n for n, reply in enumerate(replies) if reply.status == 200)
    # Every loser sees the winner's text in the conflict view, not a silent overwrite.
    assert all(f"第{round_}轮，第{winner}位的文本。" in reply.body for reply in replies if reply.status == 409)
    conn = sqlite3.connect(path)
    try:
        text, saved = conn.execute("SELECT markdown, version FROM sections WHERE id = ?", (section_id,)).fetchone()
        after = conn.execute("SELECT count(*) FROM revisions WHERE section_id = ?", (section_id,)).fetchone()[0]
    finally:
        conn.close()
    assert (text, saved, after) == (f"第{round_}轮，第{winner}位的文本。", version + 1, before + 1)
    assert re.search(r'data-version="(\d+)"', replies[winner].body).group(1) == str(version + 1)


def test_many_readers_at_once_while_a_section_changes_each_get_a_whole_current_page(live):
    """Report pages are built one at a time and from kept sections: under load every page is complete
    and shows a saved text no older than the last save acknowledged before it was requested."""
    server, clients, report_id, section_id, path = live
    readers = clients[:16]
    writer = clients[16]
    acknowledged = []
    failures = []

    def read(n: int) -> None:
        for _ in range(5):
            known = acknowledged[-1] if acknowledged else -1  # the newest save acknowledged before asking
            reply = readers[n].request("GET", f"/reports/{report_id}")
            shown = [int(m) for m in re.findall(r"读写并发第(\d+)次保存", reply.body)]
            if reply.status != 200 or not reply.body.rstrip().endswith("</html>"):
                failures.append((reply.status, reply.body[-200:]))
            elif known >= 0 and (not shown or max(shown) < known):
                failures.append(("stale", known, shown))

    def write() -> None:
        for n in range(10):
            version = writer.version(report_id, section_id)
            if writer.save(report_id, section_id, f"读写并发第{n}次保存。", version).status == 200:
                acknowledged.append(n)

    threads = [threading.Thread(target=read, args=(n,)) for n in range(len(readers))]
    threads.append(threading.Thread(target=write))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert acknowledged and not failures, failures[:3]
    assert "Traceback" not in server.log()
