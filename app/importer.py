"""Turning an uploaded or pasted file into a parsed report: Markdown, plain text or our JSON.

Files come from anyone, so the server never parses one itself: `parse_bounded` hands the bytes to a
sandboxed worker process (sandbox.py) that runs `parse_file_task` within time, CPU and memory limits.
"""

import json
import struct
from dataclasses import dataclass

from . import sandbox
from .cleantext import clean, clean_tree
from .errors import InvalidInput
from .form_model import FormInputError, form_from_json, form_to_json
from .outline import NO_SECTIONS, ParsedReport, ParsedSection, parse

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


# Our export nests five levels deep (report → form → indicators → indicator → override).
MAX_JSON_DEPTH = 20
TOO_DEEP = f"JSON 文件嵌套层数过多（超过 {MAX_JSON_DEPTH} 层），不是本系统导出的文件，未导入。"


def _depth(value, limit: int = MAX_JSON_DEPTH + 1) -> int:
    """How deeply lists and objects nest in a JSON value (counting stops past the limit)."""
    if limit <= 0 or not isinstance(value, dict | list):
        return 0
    items = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(item, limit - 1) for item in items), default=0)


def parse_upload(text: str, filename: str = "", fmt: str = "auto") -> ParsedReport:
    """Parse text as our JSON export, Markdown or plain text (fmt: auto, markdown, plain)."""
    if len(text.encode("utf-8")) > MAX_IMPORT_BYTES:
        raise InvalidInput("文件过大：导入的文本不超过 2 MB。")
    text = clean(text)
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        raise InvalidInput("内容为空，请选择文件或粘贴报告全文。")
    if filename.lower().endswith(".json") or (fmt == "auto" and stripped.startswith("{")):
        try:
            data = clean_tree(json.loads(stripped))
        except RecursionError:
            raise InvalidInput(TOO_DEEP) from None
        except ValueError:  # JSONDecodeError, or a number of thousands of digits
            raise InvalidInput("JSON 文件无法解析，请确认是本系统导出的 JSON 文件。") from None
        if _depth(data) > MAX_JSON_DEPTH:
            raise InvalidInput(TOO_DEEP)
        if not isinstance(data, dict) or "sections" not in data:
            raise InvalidInput("JSON 文件中没有 sections（章节）内容。")
        return _bounded(_from_json(data))
    plain = {"markdown": False, "plain": True}.get(fmt)
    if plain is None and filename.lower().endswith(".txt"):
        plain = True
    parsed = parse(text, plain=plain)
    if not parsed.sections:
        raise InvalidInput(NO_SECTIONS)
    return _bounded(parsed)


# A report has a few dozen sections; a few hundred is a very long one.
MAX_IMPORT_SECTIONS = 1_000


def _bounded(parsed: ParsedReport) -> ParsedReport:
    """The parsed report, unless it has more sections than any real report (InvalidInput)."""
    if len(parsed.sections) > MAX_IMPORT_SECTIONS:
        raise InvalidInput(f"文件中识别出 {len(parsed.sections)} 个章节，超过 {MAX_IMPORT_SECTIONS} 个，未导入。"
                           "请检查正文中是否有许多以编号开头的行被当作了标题，或拆分文件后再导入。")
    return parsed


# One upload: a long report's Word file takes about a second; the limits leave ten times that.
UPLOAD_LIMITS = sandbox.Limits(seconds=10.0, cpu_seconds=10, memory_bytes=1024 * 1024 * 1024)
_OVERRUN = {
    "time": "文件中的表格或段落过于复杂，{seconds:.0f} 秒内未能读完，已停止读取，未导入任何内容。"
            "请简化其中的表格（减少合并单元格）或拆分文件后再导入。",
    "memory": "读取该文件所需的内存超过限制，已停止读取，未导入任何内容。请删去其中的图片或拆分文件后再导入。",
    "depth": "文件内容嵌套层数过多（如层层嵌套的表格或列表），无法读取，未导入任何内容。",
    "crash": "无法读取该文件，未导入任何内容。请确认文件完好（可用 Word 或 WPS 打开后另存一份）后再导入。",
}


@dataclass
class Upload:
    """What an upload or a pasted text was read as: its text (Word converted), and the parsed report."""

    text: str
    filename: str
    fmt: str
    parsed: ParsedReport


def parse_file_task(payload: bytes) -> bytes:
    """Worker side of parse_bounded: read and parse one file; the result as JSON."""
    size = struct.unpack(">I", payload[:4])[0]
    meta = json.loads(payload[4:4 + size])
    data = payload[4 + size:]
    filename, fmt = meta["filename"], meta["fmt"]
    if meta["file"]:
        text, filename = read_upload(filename, data)
        if filename != meta["filename"] or (fmt == "auto" and filename.lower().endswith(".md")):
            fmt = "markdown"  # a converted Word file, or a file that says it is Markdown
    else:
        text = data.decode("utf-8")
    parsed = parse_upload(text, filename, fmt)
    return json.dumps({
        "text": clean(text), "filename": filename, "fmt": fmt, "title": parsed.title, "preamble": parsed.preamble,
        "sections": [[s.level, s.title, s.body_lines] for s in parsed.sections],
        "form": None if parsed.form is None else form_to_json(parsed.form),
    }, ensure_ascii=False).encode("utf-8")


def parse_bounded(filename: str, data: bytes | str, fmt: str = "auto", limits: sandbox.Limits = UPLOAD_LIMITS
                  ) -> Upload:
    """Read an uploaded file (bytes) or a pasted text (str) in a sandboxed worker; InvalidInput when it
    cannot be read, is refused, or overruns a limit (the worker is then killed; nothing was written)."""
    is_file = isinstance(data, bytes)
    raw = data if is_file else clean(data).encode("utf-8")
    if len(raw) > MAX_IMPORT_BYTES * 5:
        raise InvalidInput("文件过大：导入的文件不超过 10 MB。")
    meta = json.dumps({"filename": filename, "fmt": fmt, "file": is_file}).encode("utf-8")
    try:
        answer = sandbox.run_once("upload", struct.pack(">I", len(meta)) + meta + raw, limits)
    except sandbox.Refused as refusal:
        raise InvalidInput(str(refusal)) from None
    except sandbox.Overrun as overrun:
        raise InvalidInput(_OVERRUN[overrun.cause].format(seconds=limits.seconds)) from None
    result = json.loads(answer)
    form = None
    if result["form"] is not None:
        try:
            form = form_from_json(result["form"])  # checked in the worker already; this only rebuilds it
        except FormInputError as error:
            raise InvalidInput(f"JSON 文件中的自评表有误：{error}") from None
    parsed = ParsedReport(title=result["title"], preamble=result["preamble"], form=form,
                          sections=[ParsedSection(level, title, lines) for level, title, lines in result["sections"]])
    return Upload(result["text"], result["filename"], result["fmt"], parsed)
