"""Exports that scripts and other instances rely on: JSON (DESIGN §8) and Markdown."""

import json

import sqlite_utils

from .form_store import form_json
from .office_text import prepare
from .sections import get_sections

# Markdown heading marks per outline level; the importer reads levels from the numbers,
# so these only make the file readable in any Markdown viewer.
_HASHES = {1: "##", 2: "###", 3: "####", 4: "#####"}


def report_content(db: sqlite_utils.Database, report: dict, sections=None) -> dict:
    """Unit, year, title, preamble, sections, form and score: what an export and an edition hold."""
    if sections is None:
        sections = get_sections(db, report["id"])  # placeholders ({{总分}}) filled with current values
    form, score = form_json(db, report["id"])
    return {
        "unit": report["unit_name"],
        "year": report["year"],
        "title": report["title"],
        "preamble": report["preamble"],
        "sections": [
            {"id": s.id, "level": s.level, "number": s.number, "title": s.title,
             "markdown": s.markdown, "version": s.version}
            for s in sections
        ],
        "form": form,
        "score": score,
    }


def report_to_dict(db: sqlite_utils.Database, report: dict) -> dict:
    """The report in the JSON shape of DESIGN §8."""
    return {"id": report["id"], "status": report["status"], **report_content(db, report)}


def to_json(db: sqlite_utils.Database, report: dict) -> str:
    """The JSON export as text, Chinese kept readable."""
    return json.dumps(report_to_dict(db, report), ensure_ascii=False, indent=2) + "\n"


def to_markdown(db: sqlite_utils.Database, report: dict) -> str:
    """The report as one Markdown file that imports back to the same outline and text.

    The text is written as it is rendered (office_text.prepare: a blank line at each Enter, tables
    completed), so any Markdown reader shows the paragraphs and tables this site shows."""
    parts = [f"# {report['title']}"]
    if report["preamble"].strip():
        parts.append(prepare(report["preamble"].strip()))
    for section in get_sections(db, report["id"]):
        parts.append(f"{_HASHES[section.level]} {section.number}{section.title}")
        if section.markdown.strip():
            parts.append(prepare(section.markdown.strip()))
    return "\n\n".join(parts) + "\n"
