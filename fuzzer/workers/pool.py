"""A pool of long-lived worker processes with watchdogs.

Each worker (:mod:`fuzzer.workers.worker`) runs one case at a time. The pool turns every way a
case can take a worker down into a :class:`Completion`, restarts the worker, and goes on:

- the worker dies (segfault, abort, SIGFPE...): ``kind="crash"`` with the signal name;
- it runs past ``case_timeout`` seconds: killed, ``kind="hang"``;
- its resident memory passes ``memory_limit_mb`` (or Python raised MemoryError): killed,
  ``kind="oom"``.

A worker is also *recycled* (replaced between two tasks, no task lost, not counted as a restart)
when, after a task, its resident memory is above ``recycle_fraction`` of ``memory_limit_mb``, or
when it has run ``recycle_after`` tasks: memory that torch or ONNX Runtime keep across cases can
then never reach the hard limit in the middle of an innocent case and be recorded as its
``out_of_memory`` (the fuzzer counterpart of libFuzzer's ``-rss_limit_mb`` / ``-runs``).

Starting a worker costs about two seconds of CPU (importing torch, onnx, onnxscript,
onnxruntime), and fuzz cases kill workers often. So the pool starts a fork server
(:mod:`fuzzer.workers.forkserver`) that sets up once and forks every worker, first ones included, in
about 10 ms. If the fork server cannot start or dies, workers are started as processes of their
own (``python -m fuzzer.workers.worker``), as they are with ``fork_server=False`` or
``ONNXFUZZ_NO_FORK_SERVER=1``.

Invariant: every submitted task yields exactly one Completion (unless the pool is closed first).
Requests and replies are the typed messages of :mod:`.protocol`, JSON lines over pipes; nothing is
pickled.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .forkserver import ForkedProcess, ForkServer, ForkServerError, kill_group
from .lifetime import preexec_die_with_parent
from .protocol import ProtocolError, Reply, Request, reply_from_wire

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


# Set in every worker unless the caller's environment sets them. LRU_CACHE_CAPACITY bounds
# oneDNN's (ideep) cache of compiled convolution primitives, one per new shape: 1024 by default,
# which fuzz shapes fill and keep (3,000 conv shapes: +112 MiB resident, +82 MiB with 64).
# Shapes seldom repeat in a campaign, so the smaller cache costs nothing; results are the same.
WORKER_ENV_DEFAULTS = {"LRU_CACHE_CAPACITY": "64"}


#: Replace each worker after this many tasks by default. A worker forked from the fork server costs
#: ~10 ms plus a slower first case (TorchScript +60 ms, a dynamo batch +1 s), so a worker's life is
#: bounded cheaply: torch's caches and allocator keep growing a long-lived worker's private memory
#: by ~0.3-0.8 MiB per 1,000 cases (scripts/memory_soak.py).
RECYCLE_AFTER = 2000


class InternalError(RuntimeError):
    """A bug of onnxfuzz itself, raised inside a worker: the campaign stops loudly."""


@dataclass
class Task:
    id: int
    request: Request
    submitted: float = 0.0


@dataclass(frozen=True)
class Completion:
    task: Task
    kind: str  # "ok" | "crash" | "hang" | "oom" (see fuzzer.case.result.DEATH_VERDICTS)
    reply: Reply | None = None  # for "ok": the decoded reply to task.request
    detail: str = ""  # for the failures: signal name, limit...
    seconds: float = 0.0
    worker: int = -1


@dataclass
class _Worker:
    index: int
    proc: "subprocess.Popen | ForkedProcess"  # forked by the fork server, or started from scratch
    buf: bytes = b""
    ready: bool = False
    task: Task | None = None
    restarts: int = 0
    started: float = field(default_factory=time.monotonic)
    tasks: int = 0  # tasks answered by this process
    log: Path | None = None  # where the process writes its output

    @property
    def state(self) -> str:
        if not self.ready:
            return "starting"
        return "busy" if self.task is not None else "idle"


def signal_name(returncode: int) -> str:
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


class WorkerPool:
    def __init__(
        self,
        workers: int,
        case_timeout: float = 60.0,
        memory_limit_mb: int = 4096,
        log_dir: Path | None = None,
        env: dict[str, str] | None = None,
        recycle_fraction: float = 0.9,
        recycle_after: int | None = None,
        fork_server: bool = True,
        decode: bool = True,
    ):
        """``decode=False``: requests are sent as they are (anything with ``to_wire``, ``label``
        and ``timeout``) and a Completion's ``reply`` is the worker's answer as it came (a dict):
        for a process that relays messages (a cluster node's pool)."""
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.case_timeout = case_timeout
        self.memory_limit = memory_limit_mb * 1024 * 1024
        self.recycle_rss = int(self.memory_limit * recycle_fraction)
        self.recycle_after = recycle_after
        self.decode = decode
        self.recycled = 0  # workers replaced between tasks (memory or task count), not after a failure
        self.log_dir = log_dir
        self.env = {**WORKER_ENV_DEFAULTS, **os.environ, **(env or {})}
        self.sel = selectors.DefaultSelector()
        self.workers: list[_Worker] = []
        self._next_id = 0
        self.restarts = 0
        self.fork_server: ForkServer | None = None
        self.forked = 0  # workers started by the fork server
        if fork_server and os.environ.get("ONNXFUZZ_NO_FORK_SERVER") != "1":
            try:
                self.fork_server = ForkServer(self.env, None if log_dir is None else self._log_path("fork-server.log"))
            except ForkServerError:
                self.fork_server = None  # workers start as processes of their own
        for k in range(workers):
            self.workers.append(self._spawn(k))

    # -- lifecycle ------------------------------------------------------------------------------
    def _log_path(self, name: str) -> Path:
        assert self.log_dir is not None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self.log_dir / name

    def _spawn(self, index: int, restarts: int = 0) -> _Worker:
        log = None if self.log_dir is None else self._log_path(f"worker-{index}.log")
        if self.fork_server is not None and self.fork_server.alive:
            try:
                proc = self.fork_server.spawn(log)
            except ForkServerError:
                pass  # gone: start this worker and the next ones from scratch
            else:
                self.forked += 1
                return self._watch(_Worker(index, proc, restarts=restarts, log=log))
        env = dict(self.env)
        stderr: int | object = subprocess.DEVNULL
        if log is not None:
            env["ONNXFUZZ_WORKER_LOG"] = str(log)
            # until the worker redirects its own fds, what it prints (an import error) goes to the log too
            stderr = open(log, "ab")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "fuzzer.workers.worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
                start_new_session=True,  # Ctrl-C in the terminal reaches the campaign only
                preexec_fn=preexec_die_with_parent(),  # and it dies with the campaign, even mid-case
            )
        finally:
            if stderr is not subprocess.DEVNULL:
                stderr.close()
        return self._watch(_Worker(index, proc, restarts=restarts, log=log))

    def _watch(self, w: _Worker) -> _Worker:
        assert w.proc.stdout is not None
        os.set_blocking(w.proc.stdout.fileno(), False)
        self.sel.register(w.proc.stdout, selectors.EVENT_READ, w)
        return w

    def _replace(self, w: _Worker) -> None:
        self._kill(w)
        self.restarts += 1
        self.workers[w.index] = self._spawn(w.index, w.restarts + 1)

    def _maybe_recycle(self, w: _Worker) -> None:
        """Replace an idle worker that ran its share of tasks or holds too much memory."""
        w.tasks += 1
        if (self.recycle_after is not None and w.tasks >= self.recycle_after) or self._rss(w) > self.recycle_rss:
            self._kill(w)
            self.recycled += 1
            self.workers[w.index] = self._spawn(w.index, w.restarts)

    def _kill(self, w: _Worker) -> None:
        try:
            self.sel.unregister(w.proc.stdout)
        except (KeyError, ValueError):
            pass
        kill_group(w.proc)
        for f in (w.proc.stdin, w.proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def close(self) -> None:
        """Stop every worker and the fork server (in-flight tasks are abandoned)."""
        for w in self.workers:
            self._kill(w)
        if self.fork_server is not None:
            self.fork_server.close()
        self.sel.close()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- work -----------------------------------------------------------------------------------
    def idle(self) -> int:
        return sum(1 for w in self.workers if w.ready and w.task is None)

    def busy(self) -> int:
        return sum(1 for w in self.workers if w.task is not None)

    def states(self) -> list[tuple[str, Task | None, float]]:
        """(state, task, seconds in state) per worker, for the live status."""
        now = time.monotonic()
        return [(w.state if w.restarts == 0 or w.ready else "restarting", w.task, now - (w.task.submitted if w.task else w.started)) for w in self.workers]

    def submit(self, request: Request) -> Task:
        """Send ``request`` to an idle worker. Call only when :meth:`idle` > 0."""
        w = next((w for w in self.workers if w.ready and w.task is None), None)
        if w is None:
            raise RuntimeError("no idle worker")
        self._next_id += 1
        task = Task(self._next_id, request, time.monotonic())
        w.task = task
        assert w.proc.stdin is not None
        try:
            w.proc.stdin.write((json.dumps({"id": task.id, **request.to_wire()}, allow_nan=False) + "\n").encode())
            w.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the worker died; poll() reports it
        return task

    def call(self, request: Request) -> Completion:
        """Run one request and wait for its completion (the pool must have nothing else in flight)."""
        while self.idle() == 0:
            if self.poll(0.05):
                raise RuntimeError("call() on a pool with tasks in flight")
        task = self.submit(request)
        while True:
            for c in self.poll(0.05):
                if c.task is task:
                    return c
                raise RuntimeError("call() on a pool with tasks in flight")

    def poll(self, timeout: float = 0.1) -> list[Completion]:
        """Wait up to ``timeout`` seconds for replies; enforce the watchdogs; restart dead workers."""
        done: list[Completion] = []
        for key, _ in self.sel.select(timeout):
            w: _Worker = key.data
            try:
                chunk = os.read(key.fd, 1 << 20)
            except BlockingIOError:
                continue
            if chunk:
                w.buf += chunk
                while b"\n" in w.buf:
                    line, w.buf = w.buf.split(b"\n", 1)
                    c = self._on_message(w, json.loads(line))
                    if c is not None:
                        done.append(c)
            else:  # EOF: the worker is gone
                c = self._on_death(w)
                if c is not None:
                    done.append(c)
        now = time.monotonic()
        for w in list(self.workers):
            if w.task is not None:
                elapsed = now - w.task.submitted
                limit = w.task.request.timeout or self.case_timeout  # a batch request carries its own
                if elapsed > limit:
                    done.append(Completion(w.task, "hang", detail=f"no answer after {limit:g}s", seconds=elapsed, worker=w.index))
                    w.task = None
                    self._replace(w)
                elif self._rss(w) > self.memory_limit:
                    done.append(Completion(w.task, "oom", detail=f"resident memory above {self.memory_limit // (1024 * 1024)} MiB", seconds=elapsed, worker=w.index))
                    w.task = None
                    self._replace(w)
            elif not w.ready and now - w.started > 120:
                raise InternalError(f"worker {w.index} did not start within 120s{self._log_tail(w)}")
        return done

    def _on_message(self, w: _Worker, msg: dict) -> Completion | None:
        if msg.get("ready"):
            w.ready = True
            return None
        task = w.task
        if task is None or msg.get("id") != task.id:
            raise InternalError(f"worker {w.index} answered a task it was not given: {msg}")
        w.task = None
        seconds = time.monotonic() - task.submitted
        if "internal_error" in msg:
            raise InternalError(f"worker {w.index} failed on {task.request.label()}:\n{msg['internal_error']}")
        if msg.get("memory_error"):
            self._replace(w)
            return Completion(task, "oom", detail="MemoryError raised in the worker", seconds=seconds, worker=w.index)
        try:
            reply = reply_from_wire(msg, task.request) if self.decode else {k: v for k, v in msg.items() if k != "id"}
        except ProtocolError as e:
            raise InternalError(f"worker {w.index}: {e}") from None
        self._maybe_recycle(w)
        return Completion(task, "ok", reply=reply, seconds=seconds, worker=w.index)

    def _on_death(self, w: _Worker) -> Completion | None:
        rc = w.proc.wait()
        task = w.task
        w.task = None
        if task is None and not w.ready:  # read the log before a replacement writes to it
            raise InternalError(f"worker {w.index} died while starting ({signal_name(rc)}){self._log_tail(w)}")
        self._replace(w)
        if task is None:
            return None
        return Completion(task, "crash", detail=signal_name(rc), seconds=time.monotonic() - task.submitted, worker=w.index)

    def _log_tail(self, w: _Worker, lines: int = 8) -> str:
        """The end of a worker's log, for errors that end the pool (its directory may be temporary)."""
        if w.log is None:
            return ""
        path = w.log
        try:
            tail = path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return f"; no log at {path}"
        return f"; the end of {path}:\n" + "\n".join("  " + x for x in tail) if tail else f"; {path} is empty"

    @staticmethod
    def _rss(w: _Worker) -> int:
        try:
            with open(f"/proc/{w.proc.pid}/statm", "rb") as f:
                return int(f.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            return 0
