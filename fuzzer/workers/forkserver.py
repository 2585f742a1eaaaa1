"""A fork server for workers: import and set up once, then fork ready workers on request.

Starting a worker from scratch costs about two seconds of CPU (torch, onnx, onnxscript and
onnxruntime imports, the dynamo export caches), and fuzz cases kill workers often: in a TorchScript
campaign with special inputs, a worker dies every few seconds. The pool
(:mod:`fuzzer.workers.pool`) therefore starts this process once (``python -m
fuzzer.workers.forkserver``); it runs :func:`fuzzer.workers.worker.prepare` (imports, set-up, the
torchlib registry built into the export cache) and then forks a worker per request, in about 10 ms.
The same idea as AFL's fork server and Android's zygote.

Protocol (a ``SOCK_SEQPACKET`` Unix socket pair, one JSON message per packet):

- fork server -> pool: ``{"ready": true}`` once set up;
- pool -> fork server: ``{"log": path | null}`` with two file descriptors attached: the read end
  of the new worker's stdin pipe and the write end of its stdout pipe;
- fork server -> pool: ``{"pid": n}`` for each request, in order, and ``{"exit": pid,
  "returncode": rc}`` whenever a worker ends (``rc`` as :attr:`subprocess.Popen.returncode`:
  negative for a signal). Only the fork server, their parent, can read a worker's exit status.

A forked worker starts a session of its own (the pool kills it with its process group) and serves
requests exactly as a spawned one (:func:`fuzzer.workers.worker.serve`). The fork server exits
when the pool's end of the socket closes; workers end when their stdin closes. Both also die with
their parent (:mod:`fuzzer.workers.lifetime`): the fork server with the pool's process, a worker
with the fork server, so nothing is left when the campaign is killed.
Fork safety: at fork time the server has run no torch operator and holds no lock in another
thread (numpy's and onnxruntime's idle helper threads are not carried into the child);
``tests/e2e/test_pool_fork.py`` runs both exporters, ORT and the oracles in forked workers and
checks that their verdicts equal a spawned worker's.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .lifetime import die_with_parent, preexec_die_with_parent

FD_ENV = "ONNXFUZZ_FORK_SERVER_FD"


class ForkServerError(RuntimeError):
    """The fork server could not start, or is gone."""


class ForkedProcess:
    """The subset of :class:`subprocess.Popen` the pool uses, for a worker the fork server forked."""

    def __init__(self, server: "ForkServer", pid: int, stdin, stdout):
        self.server, self.pid, self.stdin, self.stdout = server, pid, stdin, stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.exit_status(self.pid, timeout=0.0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.server.exit_status(self.pid, timeout=1e9 if timeout is None else timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired("forked worker", timeout)
        return self.returncode


class ForkServer:
    """The pool's handle on the fork server process."""

    def __init__(self, env: dict[str, str], log: Path | None, start_timeout: float = 120.0):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        stderr = open(log, "ab") if log is not None else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fuzzer.workers.forkserver"], stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
                env={**env, FD_ENV: str(theirs.fileno())}, pass_fds=[theirs.fileno()], start_new_session=True,
                preexec_fn=preexec_die_with_parent(),  # ends with the pool's process, however that ends
            )
        finally:
            theirs.close()
            if stderr is not subprocess.DEVNULL:
                stderr.close()
        self.sock = ours
        self._exits: dict[int, int] = {}
        self._pids: list[int] = []
        self.alive = True
        deadline = time.monotonic() + start_timeout
        while True:
            msgs = self._pump(max(0.0, deadline - time.monotonic()))
            if any(m.get("ready") for m in msgs):
                return
            if not self.alive or time.monotonic() >= deadline:
                self.close()
                raise ForkServerError("the fork server did not start" + (f" (see {log})" if log else ""))

    def spawn(self, log: Path | None) -> ForkedProcess:
        """Fork a worker whose stdin/stdout are new pipes; raises ForkServerError if the server is gone."""
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            socket.send_fds(self.sock, [json.dumps({"log": None if log is None else str(log)}).encode()], [in_r, out_w])
        except OSError as e:
            for fd in (in_r, in_w, out_r, out_w):
                os.close(fd)
            self.alive = False
            raise ForkServerError(f"the fork server is gone ({e})") from None
        os.close(in_r)
        os.close(out_w)
        while not self._pids:
            self._pump(5.0)
            if not self.alive and not self._pids:
                os.close(in_w)
                os.close(out_r)
                raise ForkServerError("the fork server is gone")
        return ForkedProcess(self, self._pids.pop(0), os.fdopen(in_w, "wb"), os.fdopen(out_r, "rb"))

    def exit_status(self, pid: int, timeout: float) -> int | None:
        """A forked worker's return code once it has ended (None: not within ``timeout``)."""
        deadline = time.monotonic() + timeout
        while pid not in self._exits:
            if not self.alive:
                return 1  # its parent is gone: the status is lost; it has ended or will (its stdin is closed)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._pump(min(left, 1.0))
        return self._exits.pop(pid)

    def _pump(self, timeout: float) -> list[dict]:
        """Read what the server has sent (waiting up to ``timeout`` for the first message)."""
        msgs: list[dict] = []
        wait = timeout
        while self.alive and select.select([self.sock], [], [], wait)[0]:
            data = self.sock.recv(65536)
            if not data:
                self.alive = False
                break
            m = json.loads(data)
            if "exit" in m:
                self._exits[m["exit"]] = m["returncode"]
            elif "pid" in m:
                self._pids.append(m["pid"])
            msgs.append(m)
            wait = 0.0
        return msgs

    def close(self) -> None:
        self.alive = False
        try:
            self.sock.close()
        except OSError:
            pass
        kill_group(self.proc)


def kill_group(proc) -> None:
    """SIGKILL the process group ``proc`` leads (a Popen or ForkedProcess started in a session of
    its own) and reap it, waiting up to 10 s."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=int(os.environ.pop(FD_ENV)))
    from fuzzer.workers import worker

    worker.prepare(warm=True)
    try:
        return _serve(sock, worker)
    except OSError:  # the pool's end of the socket is gone (the campaign was killed): just end
        return 0


def _serve(sock: socket.socket, worker) -> int:
    sock.send(json.dumps({"ready": True}).encode())
    while True:
        readable = select.select([sock], [], [], 0.05)[0]
        _reap(sock)
        if not readable:
            continue
        data, fds, _flags, _addr = socket.recv_fds(sock, 65536, 2)
        if not data:  # the pool is gone
            return 0
        req = json.loads(data)
        server = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            rc = 70
            try:
                die_with_parent(server)  # and so, with the pool's process (the server dies with it)
                sock.close()
                os.setsid()
                os.dup2(fds[0], 0)
                os.dup2(fds[1], 1)
                for fd in fds:
                    os.close(fd)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                rc = worker.run_forked(req.get("log"))
            finally:
                os._exit(rc)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"pid": pid}).encode())


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        sock.send(json.dumps({"exit": pid, "returncode": rc}).encode())


if __name__ == "__main__":
    raise SystemExit(main())
