"""Untrusted work in killable worker processes, with wall-time, CPU and memory limits.

A 36 KB Word file once held a server thread for ten minutes: python-docx expands merged cells one by
one, Python-Markdown is quadratic on many shapes of text, and neither can be interrupted inside a
thread. So such work runs in a separate process (app/worker_main.py) that the server can kill:
- `Pool`: a few long-lived workers for short, frequent jobs (the Markdown of one text);
- `run_once`: a fresh process per job for heavy, rare ones (an uploaded file, a PDF), which gives its
  memory back to the system when it ends.
Past a limit the worker is killed and the caller gets a `Overrun` naming the cause; nothing keeps
running after the answer.
"""

import contextlib
import json
import logging
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

WORKER_PROGRAM = str(Path(__file__).resolve().with_name("worker_main.py"))
STARTUP_SECONDS = 30.0  # a worker's first imports, on a slow server


@dataclass(frozen=True)
class Limits:
    """What one job may take: seconds of wall time, seconds of CPU, bytes of address space."""

    seconds: float
    cpu_seconds: float | None = None
    memory_bytes: int | None = None


class Overrun(Exception):
    """The job was stopped: `cause` is "time", "memory", "depth" or "crash"."""

    def __init__(self, cause: str, detail: str = ""):
        super().__init__(f"{cause}: {detail}" if detail else cause)
        self.cause = cause


class Refused(Exception):
    """The task refused its input with a message meant for the user (Chinese)."""


class Busy(Exception):
    """No turn for this job now; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"busy, retry after {retry_after} s")
        self.retry_after = retry_after


class Gate:
    """At most `workers` jobs of a kind at once; up to `queue` more wait `wait_seconds` for a turn, and the
    rest are refused at once (Busy). A waiting request holds a server thread, and /healthz and every page
    need a free one: eight uploads at once must not take all eight."""

    def __init__(self, workers: int, queue: int, wait_seconds: float, retry_after: int = 5):
        self._turns = threading.BoundedSemaphore(max(1, workers))
        self._admitted = threading.BoundedSemaphore(max(1, workers) + max(0, queue))
        self.wait_seconds, self.retry_after = wait_seconds, retry_after

    @contextlib.contextmanager
    def turn(self):
        """Hold one turn for a block of work; Busy when none comes soon."""
        if not self._admitted.acquire(blocking=False):
            raise Busy(self.retry_after)
        try:
            if not self._turns.acquire(timeout=self.wait_seconds):
                raise Busy(self.retry_after)
            try:
                yield
            finally:
                self._turns.release()
        finally:
            self._admitted.release()


class Worker:
    """One worker process for one kind of task, and a thread that hands its answers over."""

    def __init__(self, task: str, limits: Limits):
        settings = json.dumps({"cpu_seconds": limits.cpu_seconds, "memory_bytes": limits.memory_bytes})
        self.process = subprocess.Popen(  # noqa: S603 (this interpreter, our own program, no shell)
            [sys.executable, WORKER_PROGRAM, settings, task],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, name=f"worker-reader-{task[:20]}", daemon=True).start()
        try:
            ready = self.answers.get(timeout=STARTUP_SECONDS)
        except queue.Empty:
            ready = None
        if ready != "ready":
            self.close()
            raise OSError(f"the {task} worker did not start")

    def _read(self) -> None:
        """Pass each answer on: "ready", (flag, body), or EOFError when the process is gone."""
        out = self.process.stdout
        try:
            if out.read(1) == b"R":
                self.answers.put("ready")
            while head := out.read(5):
                body = out.read(struct.unpack(">I", head[1:])[0])
                self.answers.put((head[:1], body))
        except (OSError, ValueError, struct.error):
            pass
        self.answers.put(EOFError)

    def call(self, payload: bytes, timeout: float) -> bytes:
        """The task's answer to the payload; Overrun or Refused otherwise (the worker is then unusable
        after an Overrun, except for "depth")."""
        if timeout <= 0:
            # No time left (starting the worker used it up): not sent. Sent anyway, its answer could be in before
            # this thread, delayed on a loaded machine, looked for it, and a spent limit would let it through.
            raise Overrun("time")
        try:
            self.process.stdin.write(struct.pack(">I", len(payload)) + payload)
            self.process.stdin.flush()
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise Overrun("time") from None
        except OSError:
            answer = EOFError
        if answer is EOFError:
            raise Overrun(self._death_cause())
        flag, body = answer
        if flag == b"O":
            return body
        if flag == b"E":
            raise Refused(body.decode("utf-8", "replace"))
        if flag == b"N":
            raise Overrun("depth")
        if flag == b"M":
            raise Overrun("memory")
        raise Overrun("crash", body.decode("utf-8", "replace"))

    def _death_cause(self) -> str:
        """Why the process ended by itself: the CPU limit, the memory limit, or something else."""
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "crash"
        if code == -getattr(signal, "SIGXCPU", 24):
            return "time"
        if code == -signal.SIGSEGV or code == -signal.SIGABRT:
            return "memory"  # a C library that could not allocate under the limit
        return "crash"

    def close(self) -> None:
        """Stop the process (it may be stuck in a regular expression) and release its pipes."""
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # unsent bytes to a process that is gone


def run_once(task: str, payload: bytes, limits: Limits) -> bytes:
    """Do one job in a fresh worker that ends with it: its bytes, or Overrun / Refused."""
    started = time.monotonic()
    try:
        worker = Worker(task, limits)
    except OSError as error:  # could not start: no memory for its imports, or no process at all
        raise Overrun("crash", str(error)) from None
    try:
        return worker.call(payload, limits.seconds - (time.monotonic() - started))
    finally:
        worker.close()


class Pool:
    """At most `size` long-lived workers of one task; a worker that overran is replaced."""

    def __init__(self, task: str, limits: Limits, size: int):
        self.task, self.limits = task, limits
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    def call(self, payload: bytes, seconds: float, deadline: float | None = None) -> bytes:
        """The task's answer within `seconds` of the worker's own time, all of it by `deadline` (monotonic; by
        default `seconds` from now); Overrun otherwise. OSError when no worker process can be started at all.

        Waiting for a free worker and starting one count only against the deadline: on a busy machine a
        normal job waits a little longer instead of being cut short like a runaway one."""
        if deadline is None:
            deadline = time.monotonic() + seconds
        if seconds <= 0 or not self._slots.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
            raise Overrun("time")
        try:
            for _attempt in range(2):  # a worker that died under the job itself (not of a limit): one more try
                worker = self._take_idle() or Worker(self.task, self.limits)
                started = time.monotonic()
                try:
                    answer = worker.call(payload, min(seconds, deadline - started))
                except Overrun as overrun:
                    if overrun.cause == "depth":
                        self._keep(worker)
                        raise
                    worker.close()
                    if overrun.cause != "crash" or time.monotonic() >= deadline:
                        raise
                    continue
                except Refused:
                    self._keep(worker)
                    raise
                self._keep(worker)
                return answer
            raise Overrun("crash")
        finally:
            self._slots.release()

    def _take_idle(self) -> Worker | None:
        """An idle worker whose process is still alive, or None; the dead ones are let go."""
        while True:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None or worker.process.poll() is None:
                return worker
            worker.close()

    def _keep(self, worker: Worker) -> None:
        """Put a worker that answered back among the idle ones."""
        with self._lock:
            self._idle.append(worker)

    def stop(self) -> None:
        """End the idle workers (the processes also end by themselves when the server's pipes close)."""
        with self._lock:
            while self._idle:
                self._idle.pop().close()
