"""The program of a sandbox worker process (see sandbox.py): it runs one kind of task, job after job.

Run as a script (`python app/worker_main.py LIMITS TASK`), not as part of the package, so a Markdown
worker loads Python-Markdown and nothing else; heavier tasks import the package's module they need,
and what it imports, but not the application (app/__init__.py).
It speaks length-prefixed frames over stdin and stdout: the same on Linux and Windows, no fork.
A request is the payload; an answer is one status byte and a body:
  O  done: the task's bytes
  E  refused: the task raised an error meant for the user (a class with `user_message = True`)
  N  too deep: Python's recursion limit (deeply nested input)
  M  out of memory: the memory limit was reached
  X  failed otherwise (the body names the error, for the server's log)
"""

import importlib
import json
import os
import struct
import sys
import types

try:
    import resource
except ImportError:  # Windows: only the wall-time limit (the parent kills the process) applies
    resource = None


def markdown_html(extensions: str):
    """The Markdown task: a UTF-8 text → Python-Markdown's HTML (sanitising is the server's job), one converter.

    Made before the worker says it is ready: the import takes 60-100 ms on an idle machine and far more on a
    loaded one, which would count against the first text's time and store it as plain text."""
    import markdown

    def new_converter():
        return markdown.Markdown(extensions=extensions.split(","), output_format="html")

    converter = new_converter()

    def convert(payload: bytes) -> bytes:
        nonlocal converter
        converter.reset()  # Python-Markdown's way to reuse a converter: no references from the last text
        try:
            return converter.convert(payload.decode("utf-8")).encode("utf-8")
        except BaseException:
            # A text cut off midway (too deep) leaves the block parser inside a list, where paragraphs
            # lose their <p>; reset() does not clear that, so the next text gets a new converter.
            converter = new_converter()
            raise

    return convert


def _task(name: str):
    """The function a task name stands for: only these, never a name from the payload."""
    if name.startswith("markdown:"):
        return markdown_html(name.split(":", 1)[1])
    module, function = {
        "upload": ("app.importer", "parse_file_task"),
        "pdf": ("app.pdf_task", "typeset_task"),
        "xlsx": ("app.xlsx_import", "parse_form_task"),
    }[name]
    # The package as a bare namespace over this folder: its modules import as `app.…` without app/__init__.py,
    # whose application factory loads Flask and every view (half a second before the job's time even starts).
    package = types.ModuleType("app")
    package.__path__ = [os.path.dirname(os.path.abspath(__file__))]
    sys.modules["app"] = package
    return getattr(importlib.import_module(module), function)


def _limit(kind: str, value: int) -> None:
    """Lower one soft limit of this process (never above its hard limit)."""
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, hard))


def _cpu_used() -> float:
    """CPU seconds this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Load the task, say ready, then answer each request until stdin closes."""
    limits = json.loads(sys.argv[1])
    if resource is not None and limits.get("memory_bytes"):
        _limit(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    run = _task(sys.argv[2])
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sink.write(b"R")
    sink.flush()
    while True:
        head = source.read(4)
        if len(head) < 4:
            break
        payload = source.read(struct.unpack(">I", head)[0])
        if resource is not None and limits.get("cpu_seconds"):
            # Each job gets its own CPU budget; past it the kernel ends the process (SIGXCPU).
            _limit(resource.RLIMIT_CPU, int(_cpu_used() + float(limits["cpu_seconds"])) + 1)
        try:
            flag, body = b"O", run(payload)
        except RecursionError:
            flag, body = b"N", b""
        except MemoryError:
            flag, body = b"M", b""
        except Exception as error:  # noqa: BLE001 (every failure becomes an answer, never a hang)
            if getattr(error, "user_message", False):
                flag, body = b"E", str(error).encode("utf-8", "replace")
            else:
                flag, body = b"X", f"{type(error).__name__}: {error}"[:2000].encode("utf-8", "replace")
        sink.write(flag + struct.pack(">I", len(body)) + body)
        sink.flush()


if __name__ == "__main__":
    main()
