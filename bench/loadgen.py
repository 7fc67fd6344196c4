"""A closed-loop HTTP load generator: processes × threads, keep-alive connections, bounded in time.

Each worker sends its next request as soon as the previous answer is read (like wrk), so at
C connections the latency is C / throughput. Latencies are counted only inside the measuring
window, after a warm-up; the whole run stops by itself after warmup + duration seconds.
"""

import http.client
import multiprocessing
import random
import re
import threading
import time
from dataclasses import dataclass, field
from queue import Empty
from urllib.parse import urlencode

_VERSION = re.compile(rb'data-version="(\d+)"')
_EDIT_VERSION = re.compile(rb'name="version" value="(\d+)"')


@dataclass
class Spec:
    """What to send. kind "get" repeats one request; kind "save" has each worker save its own section."""

    name: str
    path: str
    method: str = "GET"
    headers: dict = field(default_factory=dict)
    body: bytes | None = None
    kind: str = "get"
    expect: tuple[int, ...] = (200,)
    # kind "save": the sections the workers edit (worker i takes sections[i % len]) and the CSRF token
    report_id: int = 0
    sections: tuple[int, ...] = ()
    token: str = ""
    # Seconds a worker waits between requests (uniform in this range): people who think between saves.
    think: tuple[float, float] = (0.0, 0.0)


@dataclass
class Result:
    """Latencies (seconds) of the requests answered inside the window, and what went wrong."""

    name: str
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict = field(default_factory=dict)
    first_error: str = ""

    @property
    def rps(self) -> float:
        """Answered requests per second inside the window."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] * 1000


class _Worker(threading.Thread):
    """One connection, one request at a time."""

    def __init__(self, port: int, spec: Spec, index: int, start: float, window: tuple[float, float]):
        super().__init__(daemon=True)
        self.port, self.spec, self.index, self.start_at, self.window = port, spec, index, start, window
        self.latencies: list[float] = []
        self.errors, self.statuses, self.first_error = 0, {}, ""
        self.conn: http.client.HTTPConnection | None = None
        self.version: int | None = None
        self.counter = 0
        self.rng = random.Random(index)

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, bytes]:
        """One request on the kept-alive connection (reopened when the server closed it)."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _request(self) -> tuple[str, str, bytes | None, dict]:
        """The next request to send."""
        spec = self.spec
        if spec.kind != "save":
            return spec.method, spec.path, spec.body, spec.headers
        section = spec.sections[self.index % len(spec.sections)]
        if self.version is None:
            status, data = self._send("GET", f"/reports/{spec.report_id}/sections/{section}/edit",
                                      None, {**spec.headers, "HX-Request": "true"})
            self.version = int(_EDIT_VERSION.search(data).group(1))
        self.counter += 1
        text = (f"第{self.counter}次保存（工作者{self.index}）。本单位全年为1,234名残疾人提供基本康复服务，"
                "康复服务覆盖率达到98%，预算执行率为96.5%。\n\n下一步将加强预算编制的科学性。")
        body = urlencode({"markdown": text, "version": self.version}).encode()
        headers = {**spec.headers, "HX-Request": "true", "X-CSRFToken": spec.token,
                   "Content-Type": "application/x-www-form-urlencoded"}
        return "POST", f"/reports/{spec.report_id}/sections/{section}", body, headers

    def run(self) -> None:
        while time.monotonic() < self.start_at:
            time.sleep(0.001)
        begin, end = self.window
        while True:
            sent = time.monotonic()
            if sent >= end:
                break
            try:
                method, path, body, headers = self._request()
                sent = time.monotonic()
                status, data = self._send(method, path, body, headers)
            except Exception as error:  # noqa: BLE001 (counted, the run goes on)
                self.errors += 1
                self.first_error = self.first_error or repr(error)
                self.version = None
                time.sleep(0.01)
                continue
            done = time.monotonic()
            if self.spec.think[1]:
                time.sleep(self.rng.uniform(*self.spec.think))
            if self.spec.kind == "save":
                match = _VERSION.search(data) if status == 200 else None
                self.version = int(match.group(1)) if match else None
            if begin <= sent and done <= end:
                self.latencies.append(done - sent)
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status not in self.spec.expect:
                    self.errors += 1
                    self.first_error = self.first_error or f"HTTP {status}: {data[:200]!r}"
        if self.conn is not None:
            self.conn.close()


def _process(port: int, spec: Spec, indexes: list[int], start: float, window: tuple[float, float], queue) -> None:
    """One client process: a thread per connection; sends its tallies back."""
    workers = [_Worker(port, spec, i, start, window) for i in indexes]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    statuses: dict = {}
    for worker in workers:
        for status, n in worker.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    queue.put(([lat for w in workers for lat in w.latencies], sum(w.errors for w in workers), statuses,
               next((w.first_error for w in workers if w.first_error), "")))


def run(port: int, spec: Spec, concurrency: int, duration: float, warmup: float = 2.0, processes: int = 2) -> Result:
    """Load the server at 127.0.0.1:port with `concurrency` connections for warmup + duration seconds."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    start = time.monotonic() + 1.0  # spawned processes first start their threads, then all begin together
    window = (start + warmup, start + warmup + duration)
    groups = [list(range(concurrency))[p::processes] for p in range(min(processes, concurrency))]
    procs = [context.Process(target=_process, args=(port, spec, group, start, window, queue), daemon=True)
             for group in groups]
    for proc in procs:
        proc.start()
    result = Result(spec.name, concurrency, duration)
    deadline = window[1] + 120
    for _ in procs:
        while True:
            try:
                latencies, errors, statuses, first_error = queue.get(timeout=1)
                break
            except Empty:
                if time.monotonic() > deadline or not any(proc.is_alive() for proc in procs):
                    raise RuntimeError("a load generator process died or hung; see its output above") from None
        result.latencies += latencies
        result.errors += errors
        result.first_error = result.first_error or first_error
        for status, n in statuses.items():
            result.statuses[status] = result.statuses.get(status, 0) + n
    for proc in procs:
        proc.join(timeout=30)
    return result
