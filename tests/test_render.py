"""Markdown rendering: what an office writes survives, anything that could run does not."""

import pytest

from app import render
from app.render import render_markdown


@pytest.mark.parametrize("text", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[点我](javascript:alert(1))",
    "[点我](JaVaScRiPt:alert(1))",
    "![图](javascript:alert(1))",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<a href=\"/x\" hx-get=\"/reports/1/sections/1/delete\" hx-trigger=\"load\">x</a>",
    "<div hx-post=\"/logout\" data-hx-trigger=\"load\">x</div>",
    "<svg onload=alert(1)>",
    "<iframe src=\"https://example.com\"></iframe>",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
    "<form action=\"/logout\"><button>x</button></form>",
    "<style>body{display:none}</style>",
])
def test_nothing_executable_survives(text):
    html = render_markdown(text).lower()
    for forbidden in ("<script", "onerror", "onload", "javascript:", "hx-", "<iframe", "<svg",
                      "data:", "<form", "<style"):
        assert forbidden not in html


def test_ordinary_markdown_renders():
    html = render_markdown(
        "**加粗**和*强调*\n\n- 第一项\n- 第二项\n\n1. 甲\n2. 乙\n\n"
        "| 指标 | 完成值 |\n|---|---:|\n| 康复资助审批人数 | 3294 |\n\n"
        "[政策文件](https://www.gov.cn/zhengce/) [内网](/reports/1)"
    )
    assert "<strong>加粗</strong>" in html and "<em>强调</em>" in html
    assert "<ul>" in html and "<ol>" in html
    assert "<table>" in html and "<td>康复资助审批人数</td>" in html
    assert 'href="https://www.gov.cn/zhengce/"' in html
    assert 'href="/reports/1"' in html


def test_deeply_nested_list_neither_crashes_nor_loses_text():
    html = render_markdown("- " * 500 + "x")
    assert html.startswith("<p>") and "x" in html


def test_thousands_of_brackets_never_reach_the_quadratic_parser(monkeypatch):
    # Unguarded, Python-Markdown spends about 15 s on this; the guard must not call it.
    def too_slow(*args, **kwargs):
        raise AssertionError("Python-Markdown was called on a pathological text")

    monkeypatch.setattr(render, "_convert", too_slow)
    html = render_markdown("[" * 10000)
    assert html.count("[") == 10000


def test_plain_fallback_still_escapes_markup():
    html = render_markdown("[" * 5000 + "<script>alert(1)</script>")
    assert "<script" not in html and "&lt;script&gt;" in html


def test_empty_text_renders_nothing():
    assert render_markdown("  \n\n ") == ""
