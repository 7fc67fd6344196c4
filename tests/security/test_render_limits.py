"""Markdown that would take Python-Markdown minutes is cut off after RENDER_SECONDS and shown as plain,
escaped text; the stuck worker is replaced; a whole import has one time budget."""

import threading
import time

import pytest

from app import render, sandbox
from app.render import RENDER_SECONDS, render_markdown, time_budget

# Each of these took Python-Markdown from 20 s to several minutes at 200 KB (the limit of a section).
PATHOLOGICAL = {
    "unclosed tags": "<x " * 60_000,
    "open attribute quotes": "<a href='" * 20_000,
    "setext headings": "x\n=\n" * 40_000,
    "horizontal rules": "---\n" * 40_000,
    "autolinks opened": "<http://a" * 20_000,
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_pathological_markdown_is_cut_off_and_shown_as_escaped_text(name):
    started = time.monotonic()
    html = render_markdown(PATHOLOGICAL[name] + "<script>alert(1)</script>")
    # Stopped at RENDER_SECONDS, not after minutes; besides the stop, a worker may have to start after the last one was
    # stopped, and the text is prepared and escaped here: 1.3–1.5 s for the headings on an idle machine, 2 s when busy.
    assert time.monotonic() - started < RENDER_SECONDS + 2.0
    # Escaped as text, or removed by nh3. Since #16 one Enter is one paragraph, which splits the rules
    # into blocks that Python-Markdown reads in linear time: they may come back as rules, in time.
    assert html.startswith(("<hr>", "<p>") if name == "horizontal rules" else "<p>")
    assert "<script" not in html


def test_the_next_text_after_a_stuck_one_renders_normally():
    render_markdown(PATHOLOGICAL["unclosed tags"])
    assert render_markdown("**粗体** 与 [链接](https://example.com/)") == (
        '<p><strong>粗体</strong> 与 <a href="https://example.com/" rel="noopener noreferrer">链接</a></p>')


def test_renders_at_once_from_many_threads_all_succeed():
    results = []

    def work(i):
        results.append(render_markdown(f"# 标题 {i}\n\n- 甲\n- 乙"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 12 and all("<ul>" in html for html in results)


def test_a_time_budget_bounds_many_slow_texts_together():
    started = time.monotonic()
    with time_budget(1.5):  # ten texts of a second each: 10 s and more without the budget
        htmls = [render_markdown(PATHOLOGICAL["setext headings"][:120_000]) for _ in range(10)]
    assert time.monotonic() - started < 6.0  # the budget, plus starting a worker on a busy machine
    assert all(html.startswith("<p>") for html in htmls)
    assert render_markdown("*x*") == "<p><em>x</em></p>"  # the budget ended with the block


def test_the_workers_can_be_stopped_and_come_back():
    render_markdown("a")
    render.stop_workers()
    assert render_markdown("*a*") == "<p><em>a</em></p>"


def test_workers_that_died_while_idle_are_replaced():
    # More idle workers than the one retry a call allows for a worker that dies under its job.
    for _ in range(3):
        render._pool._keep(sandbox.Worker(render._pool.task, render._LIMITS))
    with render._pool._lock:
        for worker in render._pool._idle:
            worker.process.kill()
            worker.process.wait()
    assert render_markdown("*还在*") == "<p><em>还在</em></p>"


def test_without_a_worker_the_text_is_still_converted(monkeypatch):
    render.stop_workers()

    def cannot_start(*args, **kwargs):
        raise OSError("no interpreter")

    monkeypatch.setattr(sandbox.subprocess, "Popen", cannot_start)
    assert render_markdown("**仍可用**") == "<p><strong>仍可用</strong></p>"


def _cpu_ticks(pid: int) -> int:
    """User plus system CPU a process has used, in clock ticks (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_a_fresh_workers_first_text_is_not_charged_for_loading_markdown():
    # Loading Python-Markdown costs a worker 60-100 ms of CPU: counted against the first text's
    # RENDER_SECONDS, a loaded server once stored a normal section as plain text after a restart.
    worker = sandbox.Worker(render._pool.task, render._LIMITS)
    try:
        before = _cpu_ticks(worker.process.pid)
        assert worker.call("# 一、基本情况\n\n正文".encode(), RENDER_SECONDS) == (
            "<h1>一、基本情况</h1>\n<p>正文</p>".encode())
        assert _cpu_ticks(worker.process.pid) - before <= 2  # clock ticks of 10 ms
    finally:
        worker.close()


def test_a_reused_converter_forgets_the_last_text():
    # One converter serves every text of a worker: a reference defined in one text must not resolve in
    # the next, nor its footnote-like state leak.
    render.stop_workers()
    assert render_markdown("[甲]\n\n[甲]: https://example.com/a") == (
        '<p><a href="https://example.com/a" rel="noopener noreferrer">甲</a></p>')
    assert render_markdown("[甲]") == "<p>[甲]</p>"


def test_after_a_text_too_deep_to_convert_the_next_keeps_its_paragraphs():
    render.stop_workers()  # one worker, so that both texts go to the same converter
    render_markdown("- " * 500 + "x")
    assert render_markdown("甲\n\n乙") == "<p>甲</p>\n<p>乙</p>"


def test_a_worker_failure_leaves_a_line_in_the_log(monkeypatch, caplog):
    def crash(*args, **kwargs):
        raise sandbox.Overrun("crash", "exit code -9")

    monkeypatch.setattr(render._pool, "call", crash)
    assert render_markdown("*甲*") == "<p>*甲*</p>"
    assert "Markdown worker failed on 3 characters (crash: exit code -9)" in caplog.text
