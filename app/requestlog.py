"""Request ids and one structured log line per request: method, path, status, time, user, id."""

import atexit
import itertools
import logging
import logging.handlers
import queue
import re
import secrets
import sys
import time
from collections.abc import Callable

from flask import Flask, current_app, g, has_request_context, render_template, request

log = logging.getLogger("app.requests")

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# An id from a trusted reverse proxy is kept only if it looks like one (it is written to the logs).
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Share tokens are bearer secrets kept only as hashes in the database: never in a log either.
_SHARE_TOKEN = re.compile(r"^/s/[^/]+")
_NEEDS_QUOTES = re.compile(r'[\s"=\\]')


class RequestIdFilter(logging.Filter):
    """Give every record a request_id: the current request's, or "-" outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


_ID_PREFIX = secrets.token_hex(3)  # this process's; the counter below numbers its requests
_ID_COUNTER = itertools.count()


def _next_id() -> str:
    """A 12-hex-digit request id, unique within the process for 16 million requests (a counter costs no syscall)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER) % 0x1000000:06x}"


def name_request(incoming: str, proxied: bool) -> str:
    """The id of a request: the trusted proxy's X-Request-ID (`proxied`: PROXY_FIX is set) if well formed, else ours."""
    # Only a proxy we were told to trust may name the request; anyone else could forge log lines.
    return incoming if incoming and proxied and _INCOMING_ID.match(incoming) else _next_id()


def _start() -> None:
    """Name the request and start its clock (runs before every other hook)."""
    g.request_started = time.perf_counter()
    g.request_id = name_request(request.headers.get("X-Request-ID", ""), bool(current_app.config.get("PROXY_FIX")))


def _value(value) -> str:
    """A logfmt value: quoted when it holds spaces, quotes or equals signs."""
    text = str(value)
    if not text or _NEEDS_QUOTES.search(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def logged_path(path: str) -> str:
    """The path as it may appear in a log: share tokens masked."""
    return _SHARE_TOKEN.sub("/s/***", path)


def _refuse_unsendable_headers(response) -> None:
    """Turn a response whose headers HTTP cannot carry into the 500 it would become, before it is logged.

    Header values travel as ISO-8859-1: waitress cannot send one with Chinese in it and answers a bare
    500 of its own, without our security headers, while this log would say 200. Say so here instead.
    """
    unsendable = []
    for name, value in response.headers.items():
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            unsendable.append(name)
    if not unsendable:
        return
    log.error("response header(s) %s cannot be sent (not ISO-8859-1): answered 500", ", ".join(unsendable))
    for name in unsendable:
        del response.headers[name]
    response.headers.pop("Content-Disposition", None)
    response.headers.pop("ETag", None)
    response.status_code = 500
    response.mimetype = "text/html"
    response.set_data(render_template(
        "error.html", status=500, message="服务器未能发出该文件（内部错误），请联系管理员并告知请求编号。"))


def _finish(response):
    """Log the request in one line and tell the client its id."""
    started = g.get("request_started")
    elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
    # flask-login keeps the loaded user on g; reading current_user here would load it for static files.
    user = g.get("_login_user")
    user_id = user.id if user is not None and getattr(user, "is_authenticated", False) else "-"
    request_id = g.get("request_id", "-")
    _refuse_unsendable_headers(response)
    response.headers.add("X-Request-ID", request_id)  # no view sets it
    log_request(request_id, request.method, request.path, response.status_code, elapsed, user_id,
                request.remote_addr, response.headers.get("Content-Length"))
    return response


def log_request(request_id: str, method: str, path: str, status: int, ms: float, user, ip: str | None,
                size: str | None) -> None:
    """The one log line of a request, in logfmt (share tokens masked)."""
    fields = {"method": method, "path": logged_path(path), "status": status, "ms": f"{ms:.1f}", "user": user,
              "ip": ip or "-", "bytes": size or "-"}
    log.log(logging.ERROR if status >= 500 else logging.INFO,
            " ".join(f"{key}={_value(value)}" for key, value in fields.items()), extra={"request_id": request_id})


def install(app: Flask) -> None:
    """Register the hooks; call before the other blueprints' hooks so the clock starts first."""
    app.before_request(_start)
    app.after_request(_finish)
    # Flask logs unhandled exceptions on app.logger: give those records the request id too.
    if not any(isinstance(f, RequestIdFilter) for f in app.logger.filters):
        app.logger.addFilter(RequestIdFilter())


class OncePerMinute(logging.Filter):
    """Let a chatty logger speak at most once a minute, saying how many lines it held back.

    Under load waitress warns "Task queue depth is N" for every request that waits for a thread.
    """

    def __init__(self, seconds: float = 60.0):
        super().__init__()
        self.seconds, self.last, self.held = seconds, float("-inf"), 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self.last < self.seconds:
            self.held += 1
            return False
        if self.held:
            record.msg, record.args = f"{record.getMessage()}（此前一分钟内另有 {self.held} 条同类警告未记录）", ()
        self.last, self.held = now, 0
        return True


class _Handoff(logging.handlers.QueueHandler):
    """Put a record on the writer's queue as it is; the writer thread formats it."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The standard prepare() formats and copies every record in the logging thread, so that it can cross to
        # another process; a thread of this one needs only the arguments merged, before the objects they name
        # change.
        if record.args:
            record.msg, record.args = record.getMessage(), None
        return record


def configure(level: int = logging.INFO, stream=None) -> Callable[[], None]:
    """Send every log record to stderr (or `stream`), one line each, with the request id (the `serve` set-up);
    returns the function that writes what is still queued, which also runs at exit."""
    from flask.logging import default_handler

    root = logging.getLogger()
    if any(getattr(h, "_jixiao", False) for h in root.handlers):
        return lambda: None
    writer = logging.StreamHandler(stream or sys.stderr)
    writer.setFormatter(logging.Formatter(FORMAT))
    writer.addFilter(RequestIdFilter())  # for records written directly, once the queue has stopped
    # Request threads only put their records on a queue; one thread of its own writes them. Writing under the
    # handler's lock from eight threads made each request wait for the others' writes to stderr, and each write
    # gave up the GIL: share pages had a p99 of 125 ms instead of 21 (docs/benchmarks.md, fifth round).
    records = queue.SimpleQueue()
    handler = _Handoff(records)
    handler.addFilter(RequestIdFilter())  # in the request's own thread: the id lives in its context
    handler._jixiao = True  # configured once per process
    listener = logging.handlers.QueueListener(records, writer)
    listener.start()

    def stop() -> None:
        """Write the queued lines, then write any later ones directly (exit, Ctrl+C, SIGTERM)."""
        if handler in root.handlers:
            root.removeHandler(handler)
            writer._jixiao = True
            root.addHandler(writer)
            listener.stop()

    atexit.register(stop)
    root.addHandler(handler)
    root.setLevel(level)
    # FORMAT names no source line, thread or process: do not collect them for every record (the logging
    # documentation's "Optimization" section). Finding the caller walks the stack on each request's line.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # Flask's own handler on the "app" logger would print each error a second time.
    logging.getLogger("app").removeHandler(default_handler)
    logging.getLogger("waitress.queue").addFilter(OncePerMinute())
    return stop
