"""Worker processes that derive, so that a derivation that runs away can be killed.

Each worker is a fresh Python process (``spawn``) that imports matdiff once
and then answers jobs over a pipe, one at a time. A request takes an idle
worker, sends its job and waits at most ``timeout`` seconds; past that the
worker is killed, a new one is started in the background, and the request
is answered with an error while the server goes on serving."""
from __future__ import annotations

import importlib
import multiprocessing as mp
import queue
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

DEFAULT_RUNNER = "matdiff.web.derive:run_job"
MEMORY_LIMIT = 4 << 30  # bytes of address space a worker may use


class PoolError(Exception):
    """No answer from a worker: an HTTP status and one line for the user."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message

    def body(self) -> dict[str, Any]:
        return {"error": {"kind": self.kind, "message": self.message}}


def _resolve(path: str) -> Callable[[Any], Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _limit_memory(limit: int) -> None:
    """Cap this process's address space, so a derivation that grows without bound fails with
    MemoryError instead of taking the machine's memory (where the system allows it)."""
    try:
        import resource

        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if hard == resource.RLIM_INFINITY or hard > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass


def _worker(conn: Connection, runner_path: str) -> None:
    """The loop of one worker process: a job in, (status, body) out, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the server, which stops us
    _limit_memory(MEMORY_LIMIT)
    from .derive import warm_up

    runner = _resolve(runner_path)
    warm_up()
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            conn.send(runner(job))
        except MemoryError:
            conn.send((413, {"error": {"kind": "limit", "message": "the derivation needed more memory than a "
                                                                   "worker may use, and was stopped"}}))
        except Exception as e:  # never leave the server waiting for a reply
            conn.send((500, {"error": {"kind": "internal error", "message": f"{type(e).__name__}: {e}"}}))


class _Worker:
    def __init__(self, ctx: Any, runner: str) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, runner), daemon=True, name="matdiff-worker")
        self.process.start()
        child.close()

    def ready(self, timeout: float) -> bool:
        try:
            return self.conn.poll(timeout) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            return False

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                kill = True
        if kill or (self.process.join(1.0) or self.process.is_alive()):
            self.process.kill()
        self.process.join(5.0)
        self.conn.close()


class WorkerPool:
    """``size`` worker processes; ``run(job)`` answers within ``timeout`` seconds or raises PoolError."""

    def __init__(self, size: int = 2, timeout: float = 10.0, runner: str = DEFAULT_RUNNER,
                 wait: float | None = None, start_timeout: float = 60.0) -> None:
        self.size, self.timeout, self.runner = size, timeout, runner
        self.wait = timeout + 5.0 if wait is None else wait
        self.start_timeout = start_timeout
        self._ctx = mp.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.killed = 0  # workers stopped for taking too long or dying

    def start(self) -> WorkerPool:
        """Start every worker and wait until each has loaded matdiff."""
        workers = [self._spawn() for _ in range(self.size)]
        for w in workers:
            self._admit(w)
        return self

    def _spawn(self) -> _Worker:
        w = _Worker(self._ctx, self.runner)
        with self._lock:
            self._all.add(w)
        return w

    def _admit(self, w: _Worker) -> None:
        if w.ready(self.start_timeout) and not self._closed:
            self._idle.put(w)
        else:
            self._discard(w, kill=True)

    def _discard(self, w: _Worker, kill: bool) -> None:
        with self._lock:
            self._all.discard(w)
        w.stop(kill=kill)

    def _replace(self, w: _Worker) -> None:
        """Kill a worker and start another in its place, without holding up the caller."""
        self.killed += 1
        self._discard(w, kill=True)
        if not self._closed:
            threading.Thread(target=lambda: self._admit(self._spawn()), daemon=True).start()

    def run(self, job: Any) -> tuple[int, dict[str, Any]]:
        """(status, body) of the job, from the first idle worker."""
        if self._closed:
            raise PoolError(503, "unavailable", "the server is shutting down")
        try:
            w = self._idle.get(timeout=self.wait)
        except queue.Empty:
            raise PoolError(503, "busy", f"every worker has been busy for {self.wait:g} s; try again") from None
        t0 = time.monotonic()
        try:
            w.conn.send(job)
            if w.conn.poll(self.timeout):
                answer = w.conn.recv()
                self._idle.put(w)
                return answer
        except (EOFError, OSError):
            self._replace(w)
            raise PoolError(500, "internal error", "the derivation stopped the process running it") from None
        self._replace(w)
        raise PoolError(504, "timeout", f"the derivation took longer than {self.timeout:g} s and was stopped "
                                        f"(after {time.monotonic() - t0:.1f} s)")

    def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        with self._lock:
            workers = list(self._all)
        for w in workers:
            self._discard(w, kill=False)
