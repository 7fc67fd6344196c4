"""The final page: what a printout, PDF or share page shows, for a live report or a frozen edition."""

import contextlib
import functools
import json
import re
import shutil
import struct
import subprocess
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

import sqlite_utils

from . import sandbox
from .editions import get_edition, list_editions, snapshot_html, verify
from .form_render import form_html, form_tables
from .form_store import form_json
from .placeholders import fill, values_from_json
from .render import render_markdown
from .sections import get_sections

# Marks printed across every page of a report that is not final yet.
STATUS_MARKS = {"draft": "草稿", "submitted": "送审稿", "reviewed": "送审稿"}


class NoCJKFont(RuntimeError):
    """No Chinese font is installed: a PDF would show boxes instead of characters."""


class PdfUnavailable(RuntimeError):
    """No PDF now: the press is busy (`retry_after` seconds) or the document could not be typeset."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class PrintSection:
    """A section as printed and as written to Word."""

    level: int
    number: str
    title: str
    markdown: str = ""
    rendered: str | None = None  # a live section's cached HTML; an edition's is rendered when first asked for
    values: dict | None = None  # an edition's frozen placeholder values ({{总分}} …)
    office: bool = True  # False: an edition approved before Enter meant a new paragraph (#16)

    @property
    def html(self) -> str:
        """The section's HTML. Only Word export asks: the share and print pages show the edition's
        frozen HTML, so a share view no longer renders every section's Markdown again."""
        if self.rendered is None:
            self.rendered = fill(render_markdown(self.markdown, office=self.office), self.values or {})
        return self.rendered


@dataclass
class Printable:
    """Everything the print page, the PDF and the DOCX need, from one source."""

    report_id: int
    unit: str
    year: int
    title: str
    preamble_html: str
    body_html: str
    sections: list[PrintSection]
    mark: str | None  # 草稿 / 送审稿, or None for a final edition
    edition: dict | None = None  # number, content_hash, approved_at, approved_by_name, intact
    form: dict | None = None
    score: dict | None = None

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        """The 自评表 as (title, header, rows) tables, for Word."""
        return [(t.title, t.header, t.rows) for t in form_tables(self.form, self.score, self.unit, self.year)]


def from_report(db: sqlite_utils.Database, report: dict) -> Printable:
    """The live report as it stands now (marked 草稿 or 送审稿 unless approved)."""
    if report["status"] == "approved":
        latest = list_editions(db, report["id"])
        if latest:
            return from_edition(db, report, latest[0]["number"])
    sections = get_sections(db, report["id"])  # placeholders already filled with live values
    form, score = form_json(db, report["id"])
    return Printable(
        report_id=report["id"], unit=report["unit_name"], year=report["year"], title=report["title"],
        preamble_html=report["preamble_html"],
        # The 自评表 follows the narrative, as in an edition's frozen HTML.
        body_html=snapshot_html(report["title"], report["preamble_html"], sections) + "\n"
        + form_html(form, score, report["unit_name"], report["year"]),
        sections=[PrintSection(s.level, s.number, s.title, rendered=s.html) for s in sections],
        mark=STATUS_MARKS.get(report["status"]),
        form=form, score=score,
    )


class _EditionFacts(dict):
    """Number, hash, approval of an edition; "intact" (hashing the whole content again) only when read.

    The share page does not show it; the print page does. Hashing was a fifth of a share view's time.
    """

    def __init__(self, edition: dict):
        super().__init__(id=edition["id"], number=edition["number"], content_hash=edition["content_hash"],
                         approved_at=edition["approved_at"], approved_by_name=edition["approved_by_name"])
        self._edition = edition

    def __missing__(self, key: str):
        if key != "intact":
            raise KeyError(key)
        self["intact"] = intact = verify(self._edition)
        return intact


def from_edition(db: sqlite_utils.Database, report: dict, number: int) -> Printable:
    """A frozen edition, exactly as approved."""
    edition = get_edition(db, report["id"], number)
    content = edition["content"]
    values = values_from_json(content.get("form"), content.get("score"))
    office = bool(edition["line_breaks"])  # as its frozen HTML was rendered
    return Printable(
        report_id=report["id"], unit=edition["unit_name"], year=edition["year"], title=edition["title"],
        preamble_html=render_markdown(content.get("preamble", ""), office=office),
        body_html=edition["html"],
        sections=[PrintSection(s["level"], s["number"], s["title"], markdown=s["markdown"], values=values,
                                 office=office)
                  for s in content["sections"]],
        mark=None,
        edition=_EditionFacts(edition),
        form=content.get("form"), score=content.get("score"),
    )


@functools.lru_cache(maxsize=1)
def cjk_font_installed() -> bool:
    """Whether fontconfig knows a font that covers Chinese (asked once per process)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    try:
        out = subprocess.run([fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True,  # noqa: S603 (fc-list, fixed arguments, no shell)
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(out.strip())


# One PDF: the sample report takes about two seconds; the limits leave room for a 200-section report.
PDF_LIMITS = sandbox.Limits(seconds=90.0, cpu_seconds=90, memory_bytes=3 * 1024 * 1024 * 1024)


class PdfPress:
    """Typesets PDFs in sandboxed workers, taking turns at a sandbox.Gate (PDF_WORKERS at a time)."""

    def __init__(self, workers: int = 1, queue: int = 2, wait_seconds: float = 20.0):
        self.gate = sandbox.Gate(workers, queue, wait_seconds)

    @contextlib.contextmanager
    def turn(self):
        """Hold one of the press's turns for a block of work; PdfUnavailable when none comes soon."""
        try:
            with self.gate.turn():
                yield
        except sandbox.Busy as busy:
            raise PdfUnavailable("服务器正在生成其他 PDF 文件，请稍等几秒后再下载。",
                                 retry_after=busy.retry_after) from None

    def typeset(self, html: str, stylesheet: str, limits: sandbox.Limits = PDF_LIMITS) -> bytes:
        """The PDF of a print page, made in a worker (call within turn())."""
        if not cjk_font_installed():
            raise NoCJKFont(
                "服务器没有安装中文字体，生成的 PDF 会把汉字显示成方框，因此未生成。"
                "请管理员安装中文字体（Debian/Ubuntu：apt-get install fonts-noto-cjk）后重试；"
                "也可以先用浏览器的“打印”另存为 PDF。"
            )
        meta = json.dumps({"stylesheet": stylesheet}).encode("utf-8")
        try:
            return sandbox.run_once("pdf", struct.pack(">I", len(meta)) + meta + html.encode("utf-8"), limits)
        except (sandbox.Overrun, sandbox.Refused) as error:
            raise PdfUnavailable("该报告的 PDF 未能在限定的时间和内存内生成。请用“打印预览”中浏览器的“打印”"
                                 f"另存为 PDF，或联系管理员（{error}）。") from None


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def download_name(printable_or_report, fmt: str, edition: int | None = None) -> str:
    """A file name like 2024年度-某单位-自评表说明-第1版.pdf, safe for any file system."""
    if isinstance(printable_or_report, Printable):
        year, unit = printable_or_report.year, printable_or_report.unit
    else:
        year, unit = printable_or_report["year"], printable_or_report["unit_name"]
    suffix = f"-第{edition}版" if edition else ""
    name = f"{year}年度-{unit}-自评表说明{suffix}.{fmt}"
    return _UNSAFE_NAME.sub("_", name).strip(" .") or f"report.{fmt}"


def content_disposition(filename: str, fallback: str) -> str:
    """An attachment header per RFC 6266/8187: an ASCII fallback and the UTF-8 name."""
    filename = _UNSAFE_NAME.sub("_", filename)
    ascii_name = unicodedata.normalize("NFKD", fallback).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("._") or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
