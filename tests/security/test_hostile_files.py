"""Hostile uploads answer quickly with a clear Chinese message and change nothing; text with invisible
characters comes in cleaned. The parsing runs in a sandboxed worker, never in a server thread."""

import ast
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import sandbox
from app.importer import parse_bounded
from app.reports import InvalidInput
from tests.procs import processes
from tests.security.hostile_files import CORPUS

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _reports(db) -> int:
    return db.execute("SELECT count(*) FROM reports").fetchone()[0]


@pytest.mark.parametrize("name", list(CORPUS))
def test_a_hostile_file_is_answered_within_seconds_without_a_server_error(name, auth, db):
    filename, make, refusal = CORPUS[name]
    auth.login("editor")
    before = _reports(db)
    started = time.monotonic()
    response = auth.post("/reports/import", data={
        "year": "2030", "format": "auto", "file": (io.BytesIO(make()), filename)},
        htmx=False, content_type="multipart/form-data")
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"{name}: {elapsed:.1f} s"
    assert response.status_code < 500, response.text[:500]
    if refusal is None:
        assert response.status_code == 200, response.text[:500]
        assert "确认导入" in response.text or "章节" in response.text
    else:
        assert response.status_code == 422
        assert refusal in response.text, response.text[-1500:]
        assert "未导入" in response.text or "不能导入" in response.text or "无法" in response.text
    assert _reports(db) == before  # a preview or a refusal creates nothing


def test_the_merged_cells_of_a_word_table_repeat_their_text():
    from tests.security.hostile_files import _cell, _table, docx_with_body

    body = _table([_cell("项目", span=2) + _cell("金额"),
                   _cell("甲", vmerge="restart") + _cell("一") + _cell("1"),
                   _cell("", vmerge="continue") + _cell("二") + _cell("2")], 3)
    text = parse_bounded("表.docx", docx_with_body(body)).text
    assert "| 项目 | 项目 | 金额 |" in text
    assert "| 甲 | 二 | 2 |" in text


def test_a_lone_surrogate_and_control_characters_are_removed_from_an_import():
    upload = parse_bounded("x.json", CORPUS["JSON with NUL and control characters"][1]())
    section = upload.parsed.sections[0]
    assert upload.parsed.preamble == "前言"
    assert section.title == "概\n况" or section.title == "概况"
    assert section.markdown == "正文"
    assert parse_bounded("s.json", CORPUS["JSON with a lone surrogate in the title"][1]()).parsed.title == "甲乙"


@pytest.mark.parametrize("task", ["upload", "xlsx", "pdf"])
def test_a_file_worker_loads_its_task_and_not_the_whole_site(task):
    # Every upload and every PDF starts a fresh worker, and its start counts against the file's time: the
    # application (app/__init__.py), Flask, the database layer and the views took 0.5 s before the first byte.
    # Run as the worker runs: `python app/worker_main.py`, its own folder first on the path.
    show = f"import sys, worker_main; worker_main._task({task!r}); print(sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", show], cwd=Path(sandbox.WORKER_PROGRAM).parent,
                          capture_output=True, text=True, timeout=60, check=True)
    loaded = set(ast.literal_eval(done.stdout))
    assert {"flask", "werkzeug", "sqlite_utils", "sqlite3", "app.db", "app.views", "ldap3"}.isdisjoint(loaded)
    assert f"app.{dict(upload='importer', xlsx='xlsx_import', pdf='pdf_task')[task]}" in loaded


def test_a_worker_past_its_time_limit_is_killed_and_the_user_told_why():
    from tests.security.hostile_files import docx_with_body

    limits = sandbox.Limits(seconds=0.5, cpu_seconds=5, memory_bytes=1024 * 1024 * 1024)
    # Starting the worker and reading 8,000 paragraphs of Word takes well over half a second.
    slow = docx_with_body("<w:p><w:r><w:t>一、段落</w:t></w:r></w:p>" * 8000)
    started = time.monotonic()
    with pytest.raises(InvalidInput, match="秒内未能读完"):
        parse_bounded("slow.docx", slow, limits=limits)
    assert time.monotonic() - started < 5  # killed at its limit, not after reading all 8,000 paragraphs


def test_a_word_file_that_needs_more_memory_than_allowed_is_refused_clearly():
    # The worker needs about 60 MB to start; half a million runs (14 MB of XML) take far more to parse.
    # libxml2 reports the failed allocation only as "unknown error", so the message may be either.
    limits = sandbox.Limits(seconds=20, cpu_seconds=20, memory_bytes=110 * 1024 * 1024)
    from tests.security.hostile_files import docx_with_body

    big = docx_with_body(("<w:p>" + "<w:r><w:t>x</w:t></w:r>" * 20 + "</w:p>") * 25_000)
    with pytest.raises(InvalidInput, match="内存超过限制|无法读取该 Word 文件"):
        parse_bounded("big.docx", big, limits=limits)
    with pytest.raises(InvalidInput, match="超过 10000 个段落"):  # the real limits read it, then count
        parse_bounded("big.docx", big)


def test_a_worker_past_its_memory_limit_reports_memory_as_the_cause():
    worker = sandbox.Worker("markdown:tables", sandbox.Limits(seconds=30, memory_bytes=80 * 1024 * 1024))
    try:
        with pytest.raises(sandbox.Overrun) as stopped:
            worker.call(("- item\n" * 3_000_000).encode(), timeout=30)
        assert stopped.value.cause == "memory"
    finally:
        worker.close()


def test_a_worker_past_its_cpu_limit_is_ended_by_the_kernel():
    worker = sandbox.Worker("markdown:tables", sandbox.Limits(seconds=30, cpu_seconds=1))
    try:
        started = time.monotonic()
        with pytest.raises(sandbox.Overrun) as stopped:
            worker.call(("x\n=\n" * 200_000).encode(), timeout=30)
        assert stopped.value.cause == "time"
        assert time.monotonic() - started < 10
    finally:
        worker.close()


def test_a_job_whose_time_went_on_starting_its_worker_is_not_sent():
    # An upload's limit counts the worker's start (sandbox.run_once): with nothing left, the job must be refused as
    # too slow, not handed over and its answer taken when this thread happens to look after it has arrived.
    worker = sandbox.Worker("markdown:tables", sandbox.Limits(seconds=30))
    try:
        with pytest.raises(sandbox.Overrun) as stopped:
            worker.call("正文".encode(), timeout=0)
        assert stopped.value.cause == "time"
        time.sleep(0.5)  # time enough for a worker that had the job to answer it
        assert worker.answers.empty(), "the worker was given the job"
    finally:
        worker.close()


def _upload_workers() -> list[int]:
    """Process ids of this process's upload workers still alive."""
    return [pid for pid, (parent, argv) in processes().items()
            if parent == os.getpid() and "upload" in argv and any("worker_main.py" in arg for arg in argv)]


def test_no_worker_is_left_running_after_an_answer():
    with pytest.raises(InvalidInput):
        parse_bounded("slow.md", "一、概况".encode(), limits=sandbox.Limits(seconds=0.01))
    parse_bounded("ok.md", "一、概况\n\n正文".encode())
    assert _upload_workers() == []
