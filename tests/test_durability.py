"""Acknowledged saves survive the server being killed (SIGKILL) again and again, mid-write."""

import random
import sqlite3
import threading
import time
import uuid
from collections import defaultdict

import pytest

from app import audit
from app import db as database
from app.render import render_markdown
from tests.livesrv import PASSWORD, Client, LiveServer, build_database, saved_version

pytestmark = pytest.mark.server

KILLS = 12
OWN_SECTIONS = 6  # one client each
SHARED_CLIENTS = 2  # two more clients fight over one more section (409s under fire)
SAVES_PER_LIFE = 5  # acknowledged saves each server process lives to see: 13 lives, at least 65 in all
FILLER = "本单位严格执行预算，康复服务覆盖率达到百分之九十八，资金使用合规、安全、有效。"


class Editor(threading.Thread):
    """Saves one section over and over, noting which saves the server acknowledged."""

    def __init__(self, server: LiveServer, report_id: int, section_id: int, username: str, seed: int,
                 stop: threading.Event, ledger: dict):
        super().__init__(daemon=True)
        self.server, self.report_id, self.section_id, self.username = server, report_id, section_id, username
        self.rng, self.stop, self.ledger = random.Random(seed), stop, ledger
        self.client = Client(server.base)

    def text(self) -> str:
        """A save nobody else will ever send: a unique mark, then filler of random length."""
        mark = f"{self.username}·{uuid.uuid4().hex}"
        return mark + "\n\n" + FILLER * self.rng.randint(1, 120)

    def run(self) -> None:
        """Save until told to stop; a dropped connection just means: ask again once it is back."""
        version = None
        while not self.stop.is_set():
            if version is None:
                version = self.client.version(self.report_id, self.section_id)
                if version is None:
                    time.sleep(0.05)
                    continue
            text = self.text()
            self.ledger["attempted"][self.section_id].add(text)
            reply = self.client.save(self.report_id, self.section_id, text, version)
            if reply.status == 200:
                self.ledger["acked"].append((self.section_id, text))
                version = saved_version(reply)
            elif reply.status == 409:
                self.ledger["conflicts"] += 1
                version = None
            elif reply.status == 0:
                self.ledger["lost"] += 1  # in flight when the server died: saved or not, both are fine
                version = None
            else:
                self.ledger["unexpected"].append((reply.status, reply.body[:500]))
                version = None


def wait_for_saves(ledger: dict, count: int, timeout: float = 30.0) -> None:
    """Wait until `count` more saves are acknowledged (or the timeout passes; the final count decides)."""
    target, deadline = len(ledger["acked"]) + count, time.monotonic() + timeout
    while len(ledger["acked"]) < target and time.monotonic() < deadline:
        time.sleep(0.02)


def test_every_acknowledged_save_survives_repeated_sigkill(tmp_path):
    seed = random.randrange(1_000_000)
    print(f"random seed {seed}")
    rng = random.Random(seed)
    path = tmp_path / "durable.sqlite"
    report_id, section_ids = build_database(path, editors=OWN_SECTIONS + SHARED_CLIENTS, sections=OWN_SECTIONS + 1)
    server = LiveServer(path, tmp_path / "server.log")
    server.start()
    ledger = {"acked": [], "attempted": defaultdict(set), "conflicts": 0, "lost": 0, "unexpected": []}
    stop = threading.Event()
    editors = [Editor(server, report_id, section_ids[n], f"editor{n + 1}", seed + n, stop, ledger)
               for n in range(OWN_SECTIONS)]
    editors += [Editor(server, report_id, section_ids[OWN_SECTIONS], f"editor{OWN_SECTIONS + n + 1}",
                       seed + 100 + n, stop, ledger) for n in range(SHARED_CLIENTS)]
    for editor in editors:
        editor.client.login(editor.username, PASSWORD)
    for editor in editors:
        editor.start()
    restarts = []
    try:
        for _ in range(KILLS):
            # Kill once this process has acknowledged a few saves (a loaded machine restarts and saves
            # slower), then at a random moment: there is always something acknowledged to lose. A save takes
            # milliseconds, so a tenth of a second holds many: the kill falls anywhere in one.
            wait_for_saves(ledger, SAVES_PER_LIFE)
            time.sleep(rng.uniform(0.0, 0.15))
            server.kill()
            restarts.append(server.start())
            # Every new process's connections carry the durability settings.
            settings = server.healthz()["database"]
            assert settings["journal_mode"] == "wal"
            assert settings["synchronous"] == "full"
            assert settings["busy_timeout_ms"] >= 5000
            assert settings["foreign_keys"] is True
        wait_for_saves(ledger, SAVES_PER_LIFE)
        time.sleep(0.2)
        server.kill()  # the last word is a SIGKILL too, mid-save
    finally:
        stop.set()
        for editor in editors:
            editor.join(timeout=30)
        server.kill()
    print(f"{len(ledger['acked'])} acknowledged, {ledger['conflicts']} conflicts, {ledger['lost']} lost in flight,"
          f" restarts took {min(restarts):.2f}–{max(restarts):.2f} s")

    assert ledger["unexpected"] == []
    assert len(ledger["acked"]) >= 50, "too few saves between kills to prove anything"
    assert ledger["lost"] > 0, "no kill caught a save in flight"
    assert "database is locked" not in server.log()

    db = database.connect(str(path))
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert audit.verify_chain(db) is None
        _assert_acknowledged_present(db, ledger)
        for section_id in section_ids:
            _assert_whole(db, section_id, ledger["attempted"][section_id])
    finally:
        db.conn.close()


def _assert_acknowledged_present(db, ledger: dict) -> None:
    """Each acknowledged text is one of its section's revisions."""
    revisions = defaultdict(set)
    for section_id, markdown in db.execute("SELECT section_id, markdown FROM revisions"):
        revisions[section_id].add(markdown)
    missing = [(sid, text[:40]) for sid, text in ledger["acked"] if text not in revisions[sid]]
    assert missing == [], f"{len(missing)} acknowledged saves lost"


def _assert_whole(db, section_id: int, attempted: set[str]) -> None:
    """Nothing half-written: versions 1…n without gaps, each a text that was sent whole, the section
    row equal to its newest revision, its cached HTML the rendering of its text, one audit row per save."""
    rows = db.execute("SELECT version, markdown FROM revisions WHERE section_id = ? ORDER BY version",
                      (section_id,)).fetchall()
    versions = [version for version, _ in rows]
    assert versions == list(range(1, len(rows) + 1))
    assert all(markdown in attempted for version, markdown in rows if version > 1)
    section = db.execute("SELECT version, markdown, html FROM sections WHERE id = ?", (section_id,)).fetchone()
    assert section[0] == versions[-1]
    assert section[1] == rows[-1][1]
    assert section[2] == render_markdown(section[1])
    saves = db.execute("SELECT count(*) FROM audit_log WHERE action = 'section.save' AND section_id = ?",
                       (section_id,)).fetchone()[0]
    assert saves == len(rows) - 1


def test_live_database_is_readable_by_plain_sqlite(tmp_path):
    """After a SIGKILL the file (with its -wal) opens with no special tools: recovery is SQLite's own."""
    path = tmp_path / "plain.sqlite"
    build_database(path, editors=1, sections=1)
    server = LiveServer(path, tmp_path / "server.log")
    server.start()
    client = Client(server.base)
    client.login("editor1", PASSWORD)
    report_id = 1
    section_id = sqlite3.connect(path).execute("SELECT min(id) FROM sections").fetchone()[0]
    reply = client.save(report_id, section_id, "断电之前的最后一句。", client.version(report_id, section_id))
    assert reply.status == 200
    server.kill()
    conn = sqlite3.connect(path)
    try:
        saved = conn.execute("SELECT markdown FROM sections WHERE id = ?", (section_id,)).fetchone()[0]
        assert saved == "断电之前的最后一句。"
    finally:
        conn.close()
