"""Helper processes other than pool workers (the campaign's minimizer): started in a process group
of their own, so a kill reaches everything they started, ended with :func:`kill_group`, and dying
with the process that started them (:mod:`fuzzer.workers.lifetime`)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from .forkserver import kill_group
from .lifetime import die_with_parent, preexec_die_with_parent


def start_helper(module: str, args: Sequence[str], *, stdin: bool = False, stderr: Path | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m module args...`` with its stdout piped back (and its stdin piped in with
    ``stdin``; its stderr piped back, or appended to the file ``stderr``), in a new session (Ctrl-C
    in the terminal reaches the caller only; :func:`kill_group` ends the helper and its children),
    dying with the calling thread's process."""
    err = open(stderr, "ab") if stderr is not None else subprocess.PIPE
    try:
        return subprocess.Popen([sys.executable, "-m", module, *args], stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err, start_new_session=True, env=env,
                                preexec_fn=preexec_die_with_parent())
    finally:
        if stderr is not None:
            err.close()


class LineHelper:
    """A long-lived helper process spoken to in lines: :meth:`ask` writes one request line to its
    stdin and waits for one reply line on its stdout. Its stderr goes to a log file."""

    def __init__(self, module: str, args: Sequence[str], log: Path, env: dict[str, str] | None = None):
        self.proc = start_helper(module, args, stdin=True, stderr=log, env=env)
        self._buf = b""

    def ask(self, line: str, timeout: float) -> str | None:
        """The reply to ``line``; None if the process ended first (see :attr:`returncode`) or gave
        no reply within ``timeout`` seconds (then it is killed: :attr:`returncode` is None)."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.proc.wait()
            return None
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                self.timed_out = True
                return None
            if not select.select([fd], [], [], min(left, 1.0))[0]:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:  # it ended
                self.proc.wait()
                return None
            self._buf += chunk
        reply, self._buf = self._buf.split(b"\n", 1)
        return reply.decode(errors="replace")

    timed_out = False

    @property
    def returncode(self) -> int | None:
        """How the process ended (negative: the signal), None while it runs or after a timeout."""
        return None if self.timed_out else self.proc.poll()

    def close(self) -> None:
        """Kill it and everything it started; reap it."""
        kill_group(self.proc)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass


def finish_helper(proc: subprocess.Popen, timeout: float) -> tuple[bytes, bytes, int | None]:
    """Wait for a helper's output for up to ``timeout`` seconds; past that kill its group. Returns
    (stdout, stderr, return code or None after a timeout)."""
    try:
        out, err = proc.communicate(timeout=timeout)
        return out, err, proc.returncode
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return out, err, None


def call_forked(fn: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
    """``fn(*args)`` in a forked child: (its JSON-able result, None), or (None, signal name) when a
    signal ended the child. A child whose ``fn`` raised is our bug: RuntimeError.

    Fork safety: call only from a process whose torch never started an OpenMP thread pool
    (``OMP_NUM_THREADS=1`` before importing torch); otherwise the child can hang in its first
    parallel op."""
    r, w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # child
        die_with_parent(parent)
        os.close(r)
        code = 0
        try:
            os.write(w, json.dumps(fn(*args)).encode())
        except BaseException:  # noqa: BLE001 - reported to the parent as a failure
            code = 1
        finally:
            os.close(w)
            os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return None, signal.Signals(os.WTERMSIG(status)).name
    if os.WEXITSTATUS(status) != 0 or not chunks:
        raise RuntimeError(f"{getattr(fn, '__name__', fn)} failed in a forked child (our bug: rerun without isolation)")
    return json.loads(b"".join(chunks)), None


def run_python_source(source: str, timeout: float = 900.0) -> tuple[int | None, str]:
    """Run ``source`` as a script (``python FILE``) in a child process in a scratch directory, as a
    reader of a report would: (its exit code, or None after ``timeout`` seconds, its stdout and
    stderr). The child dies with the caller."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix=f"onnxfuzz-script-{os.getpid()}-") as d:
        script = Path(d) / "repro_inline.py"
        script.write_text(source, encoding="utf-8")
        proc = subprocess.Popen([sys.executable, str(script)], cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=preexec_die_with_parent())
        out, _, code = finish_helper(proc, timeout)
    return code, out.decode("utf-8", "replace")
