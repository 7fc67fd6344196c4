"""Turning an uploaded or pasted file into a parsed report: Markdown, plain text or our JSON."""

import json

from .form_model import FormInputError, form_from_json
from .outline import ParsedReport, ParsedSection, parse
from .reports import NO_SECTIONS, InvalidInput

MAX_IMPORT_BYTES = 2 * 1024 * 1024


def decode(data: bytes) -> str:
    """Text of an uploaded file: UTF-8 (with or without BOM) or, from older Windows, GB18030."""
    if b"\x00" in data:
        raise InvalidInput("文件不是文本文件（含有二进制内容）。请上传 .md 或 .txt 文件。")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("无法识别文件编码，请另存为 UTF-8 编码的文本文件后再上传。")


def read_upload(filename: str, data: bytes) -> tuple[str, str]:
    """(text, name to parse it by) of an uploaded file; a Word file becomes Markdown (name .md)."""
    if len(data) > MAX_IMPORT_BYTES * 5:
        raise InvalidInput("文件过大：导入的文件不超过 10 MB。")
    if filename.lower().endswith(".docx"):
        from .docx_import import docx_to_markdown

        return docx_to_markdown(data), filename.rsplit(".", 1)[0] + ".md"
    if filename.lower().endswith(".doc"):
        raise InvalidInput("不支持旧版 .doc 文件，请在 Word 中“另存为” .docx 后再导入。")
    return decode(data), filename


def _from_json(data: dict) -> ParsedReport:
    """A report exported as JSON by this application."""
    try:
        sections = [
            ParsedSection(int(s["level"]), str(s["title"]), str(s.get("markdown", "")).split("\n"))
            for s in data["sections"]
        ]
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("JSON 文件格式不正确：每个章节须有 level、title 和 markdown。") from None
    if any(not 1 <= s.level <= 4 for s in sections):
        raise InvalidInput("JSON 文件格式不正确：章节级别须为 1 到 4。")
    form = None
    if data.get("form") is not None:
        # Scores in the file are ignored: the form is checked like typed input and scored afresh.
        try:
            form = form_from_json(data["form"])
        except FormInputError as error:
            raise InvalidInput(f"JSON 文件中的自评表有误：{error}") from None
    return ParsedReport(
        title=str(data.get("title", "")), preamble=str(data.get("preamble", "")), sections=sections, form=form
    )


def parse_upload(text: str, filename: str = "", fmt: str = "auto") -> ParsedReport:
    """Parse text as our JSON export, Markdown or plain text (fmt: auto, markdown, plain)."""
    if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
        raise InvalidInput("文件过大：导入的文本不超过 2 MB。")
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        raise InvalidInput("内容为空，请选择文件或粘贴报告全文。")
    if filename.lower().endswith(".json") or (fmt == "auto" and stripped.startswith("{")):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            raise InvalidInput("JSON 文件无法解析，请确认是本系统导出的 JSON 文件。") from None
        if not isinstance(data, dict) or "sections" not in data:
            raise InvalidInput("JSON 文件中没有 sections（章节）内容。")
        return _from_json(data)
    plain = {"markdown": False, "plain": True}.get(fmt)
    if plain is None and filename.lower().endswith(".txt"):
        plain = True
    parsed = parse(text, plain=plain)
    if not parsed.sections:
        raise InvalidInput(NO_SECTIONS)
    return parsed
