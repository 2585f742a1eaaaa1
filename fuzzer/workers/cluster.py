"""The worker pool across the nodes of a Ray cluster (``pip install onnxfuzz[cluster]``).

Two halves, one per side of the wire:

- :class:`NodePool` runs on a node, as a Ray actor: the existing :class:`~.pool.WorkerPool` (fork
  server, isolation, watchdogs, recycling) sized to the node's cores. It takes requests in their
  JSON form (:mod:`.protocol`), runs them, and answers a plain dict: the completion, the reply in
  its JSON form, and the files its workers wrote (failing cases' directories, a rebuilt case) as
  bytes, since the head's disk is not the node's.
- :class:`ClusterPool` runs on the head and has the pool's interface (``idle``, ``submit``,
  ``poll``, ``states``...), so the campaign loop, its scheduler (seed order, fair share between
  exporters), rescue and ledger work unchanged. It starts one :class:`NodePool` per live node (and
  on nodes that join later) and writes the shipped files where the request asked for them.

Invariant (the pool's, kept across node deaths): every submitted task yields exactly one
Completion. A task whose node died (Ray reports the actor dead) is handed to another node, whole:
nothing of it was delivered, so no case is recorded twice and none is lost.

:func:`minimize_on_node` is the minimization job the head sends to the nodes (a Ray task): graph
and inputs in, the minimized case back (:mod:`fuzzer.minimize.wire`).

Only plain dicts, strings, numbers and bytes cross Ray; Ray is imported only here and only when a
cluster is used.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .pool import Completion, InternalError, Task, WorkerPool
from .protocol import Rebuild, RunMutant, RunSeeds, reply_from_wire


class ClusterError(RuntimeError):
    """The cluster cannot run the campaign (unreachable, no node left); one line for the user."""


# ---------------------------------------------------------------------------------------------
# node side
# ---------------------------------------------------------------------------------------------
class NodePool:
    """A :class:`WorkerPool` on one node, driven by Ray calls (a threaded actor: :meth:`run` is
    called concurrently, once per request in flight; one thread owns the pool)."""

    def __init__(self, workers: int, case_timeout: float, memory_limit_mb: int, recycle_after: int | None, env: dict[str, str] | None = None):
        self.workers = workers
        self.scratch = Path(tempfile.mkdtemp(prefix=f"onnxfuzz-node-{os.getpid()}-"))
        (self.scratch / "tmp").mkdir()
        # decode=False: messages are relayed as they are, so this process never imports torch (start-up)
        self.pool = WorkerPool(workers, case_timeout, memory_limit_mb, self.scratch / "logs", {"TMPDIR": str(self.scratch / "tmp"), **(env or {})},
                               recycle_after=recycle_after, decode=False)
        self._inbox: queue.Queue = queue.Queue()
        self._answers: dict[int, tuple[threading.Event, list]] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._ready = threading.Event()
        self._fatal: str | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._serve, name="onnxfuzz-node-pool", daemon=True)
        self._thread.start()

    def info(self) -> dict:
        """Wait until a worker can take a case; then who this node is."""
        while not self._ready.wait(0.5):
            if self._fatal:
                break
        return {"host": socket.gethostname(), "pid": os.getpid(), "workers": self.workers, "fatal": self._fatal}

    def run(self, wire: dict) -> dict:
        """Run one request (its JSON form); the answer: ``kind``, ``detail``, ``seconds``,
        ``worker``, ``reply`` (JSON form, for "ok"), ``files`` ({directory name: {relative path:
        bytes}} written by the workers), the pool's ``restarts`` and ``recycled`` counters; or
        ``internal_error`` (a bug of ours: the head stops loudly)."""
        with self._lock:
            self._next += 1
            n = self._next
            done: tuple[threading.Event, list] = (threading.Event(), [])
            self._answers[n] = done
        local = self.scratch / f"r{n}"
        local.mkdir()
        self._inbox.put((n, _RawRequest(_local_dirs(wire, local))))
        while not done[0].wait(1.0):
            if self._fatal:
                return {"internal_error": self._fatal}
        c: Completion = done[1][0]
        try:
            return self._answer(c, local)
        finally:
            shutil.rmtree(local, ignore_errors=True)

    def close(self) -> None:
        self._closing = True
        self._thread.join(timeout=10)
        self.pool.close()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _answer(self, c: Completion, local: Path) -> dict:
        out: dict[str, Any] = {"kind": c.kind, "detail": c.detail, "seconds": c.seconds, "worker": c.worker,
                               "restarts": self.pool.restarts, "recycled": self.pool.recycled, "files": {}}
        if c.kind != "ok" or c.reply is None:
            return out
        wire = c.reply  # as the worker answered (decode=False)
        dirs = [Path(w["case_dir"]) for w in wire.get("cases", ()) if w.get("case_dir")]
        if wire.get("out"):
            dirs.append(Path(wire["out"]))
        for d in dirs:
            if d.is_dir() and local in d.parents:
                out["files"][d.name] = {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}
        out["reply"] = wire
        return out

    def _serve(self) -> None:
        tasks: dict[int, int] = {}  # pool task id -> request number
        waiting: deque = deque()
        try:
            while not self._closing:
                if not self._ready.is_set() and self.pool.idle() > 0:
                    self._ready.set()
                if self.pool.busy() == 0 and not waiting and self._ready.is_set():
                    try:  # nothing running: sleep on the inbox, so a request starts at once
                        waiting.append(self._inbox.get(timeout=0.05))
                    except queue.Empty:
                        pass
                while True:
                    try:
                        waiting.append(self._inbox.get_nowait())
                    except queue.Empty:
                        break
                while waiting and self.pool.idle() > 0:
                    n, req = waiting.popleft()
                    tasks[self.pool.submit(req).id] = n
                # with an idle worker, look at the inbox often (a request must not wait for a reply
                # of another worker to wake this loop); with none, replies wake it
                if not self._ready.is_set():
                    wait = 0.05  # starting
                elif self.pool.busy() == 0:
                    wait = 0.0  # it waited on the inbox above
                else:
                    wait = 0.002 if self.pool.idle() > 0 else 0.05
                for c in self.pool.poll(wait):
                    n = tasks.pop(c.task.id)
                    with self._lock:
                        ev, box = self._answers.pop(n)
                    box.append(c)
                    ev.set()
        except Exception as e:  # noqa: BLE001 - InternalError and our own bugs: the head stops loudly
            import traceback

            self._fatal = f"{type(e).__name__} on node {socket.gethostname()}: {e}\n{traceback.format_exc()}"


@dataclass(frozen=True)
class _RawRequest:
    """A request relayed in its JSON form (what :class:`WorkerPool` needs of a request)."""

    wire: dict

    @property
    def timeout(self) -> float | None:
        return self.wire.get("timeout")

    def to_wire(self) -> dict:
        return self.wire

    def label(self) -> str:
        seeds = self.wire.get("seeds") or [self.wire.get("seed", self.wire.get("slot", ""))]
        return f"{self.wire.get('kind')} {seeds[0]}" + (f"..{seeds[-1]}" if len(seeds) > 1 else "")


def _local_dirs(wire: dict, local: Path) -> dict:
    """The request with the directories it writes to moved to ``local`` (on this node)."""
    wire = dict(wire)
    if wire.get("cases_dir"):
        wire["cases_dir"] = str(local)
    if wire.get("kind") == Rebuild.kind:
        wire["out"] = str(local / Path(wire["out"]).name)
    return wire


#: The minimizer's one-worker pool, kept by the Ray worker process across minimization jobs (a
#: worker costs seconds to start); it dies with that process.
_RUNNER = None


def release_minimizer() -> None:
    """Stop the kept one-worker pool of :func:`minimize_on_node` in this process, if any."""
    global _RUNNER
    if _RUNNER is not None:
        _RUNNER.close()
        _RUNNER = None


def minimize_on_node(job: dict) -> dict:
    """Minimize one finding: ``job`` has ``graph`` (JSON), ``inputs_npz`` (bytes), ``export``,
    ``input_mode``, ``reference`` (the signature to keep) and ``seconds``. Returns
    ``{"minimization": ..., "interaction": bool | None}`` (:mod:`fuzzer.minimize.wire`) or
    ``{"error": one line}``. Candidates run in an isolated worker, so a case that kills its process
    does not end this one; eager PyTorch (shape re-inference) runs here and may: the head sees the
    task die and keeps the finding raw."""
    global _RUNNER
    from fuzzer.export import ExportOptions
    from fuzzer.ir import graph_from_dict
    from fuzzer.minimize import minimize
    from fuzzer.minimize.interaction import is_interaction
    from fuzzer.minimize.wire import inputs_from_npz_bytes, minimization_to_wire
    from fuzzer.triage.signature import Signature

    from .isolated import IsolatedRunner

    try:
        graph = graph_from_dict(job["graph"])
        inputs = inputs_from_npz_bytes(job["inputs_npz"], graph)
        export = ExportOptions.from_dict(job["export"])
        s = job["reference"]
        reference = Signature(s["verdict"], s["exporter"], s["detail"], tuple(s.get("path_ops", ())))
    except (KeyError, TypeError, ValueError) as e:
        return {"error": f"unreadable job ({type(e).__name__}: {' '.join(str(e).split())[:200]})"}
    if _RUNNER is None:
        _RUNNER = IsolatedRunner()

    def run(g, x):
        return _RUNNER.run(g, x, [export], job["input_mode"])[0]

    m = minimize(graph, inputs, run, seconds=float(job["seconds"]), reference=reference)
    interaction = None
    if m.reproduced and len(m.best.graph.nodes) >= 2:  # a chain: does it need the chain?
        interaction = is_interaction(m.best.graph, m.best.inputs, run)
    return {"minimization": minimization_to_wire(m), "interaction": interaction}


# ---------------------------------------------------------------------------------------------
# head side
# ---------------------------------------------------------------------------------------------
@dataclass
class _Node:
    node_id: str
    address: str
    workers: int
    actor: Any
    ready_ref: Any
    ready: bool = False
    dead: bool = False
    host: str = ""
    inflight: dict = field(default_factory=dict)  # ObjectRef -> Task
    started: float = field(default_factory=time.monotonic)
    cases: int = 0
    recent: deque = field(default_factory=lambda: deque(maxlen=4000))  # (monotonic time, cases) per completion
    restarts: int = 0
    recycled: int = 0
    died: float = 0.0  # monotonic time its pool was found dead

    @property
    def free(self) -> int:
        """Requests it can take now: two per worker, so the next one waits on the node while a
        worker runs the current one (the round trip to the head costs a worker no idle time)."""
        return 2 * self.workers - len(self.inflight) if self.ready and not self.dead else 0

    def rate(self, window: float = 30.0) -> float:
        now = time.monotonic()
        n = sum(k for t, k in self.recent if now - t <= window)
        return n / min(window, max(1e-9, now - self.started))


#: Ray's errors that mean "the actor (or its node) is gone": its tasks go to another node.
def _ray_gone_errors() -> tuple[type, ...]:
    import ray.exceptions as rx

    return tuple(getattr(rx, n) for n in ("RayActorError", "ActorDiedError", "ActorUnavailableError", "NodeDiedError",
                                          "WorkerCrashedError", "OwnerDiedError", "ObjectLostError") if hasattr(rx, n))


class ClusterPool:
    """The worker pool's interface over a Ray cluster (``ray.init`` already called): one
    :class:`NodePool` per live node with CPUs, sized to them (``workers_per_node`` overrides)."""

    #: how often the head looks for nodes that joined (or came back)
    DISCOVER_EVERY = 2.0
    #: how long after its pool died a node still listed alive gets a new pool
    RESTART_AFTER = 30.0
    #: how long a campaign waits for a node when none is left before it gives up
    NO_NODE_GRACE = 60.0

    def __init__(self, case_timeout: float = 60.0, memory_limit_mb: int = 4096, env: dict[str, str] | None = None,
                 recycle_after: int | None = None, workers_per_node: int | None = None):
        import ray

        self._ray = ray
        self._gone = _ray_gone_errors()
        self.case_timeout = case_timeout
        self.memory_limit_mb = memory_limit_mb
        self.recycle_after = recycle_after
        self.env = {k: v for k, v in (env or {}).items() if k != "TMPDIR"}  # the head's paths mean nothing on a node
        self.workers_per_node = workers_per_node
        self.nodes: dict[str, _Node] = {}  # node id -> its pool (dead ones kept for the record)
        self.pending: deque[Task] = deque()  # tasks whose node died, handed out again first
        self.lost_nodes = 0
        self.handed_again = 0  # tasks handed to another node after their node died
        self._next_id = 0
        self._last_discover = 0.0
        self._no_node_since: float | None = None
        self._restarts_dead = 0
        self._recycled_dead = 0
        self._discover(force=True)
        if not self.nodes:
            raise ClusterError("the Ray cluster has no live node with CPUs")

    # -- nodes ------------------------------------------------------------------------------------
    def _discover(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_discover < self.DISCOVER_EVERY:
            return
        self._last_discover = now
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        for n in self._ray.nodes():
            nid, cpus = n["NodeID"], int(n.get("Resources", {}).get("CPU", 0))
            before = self.nodes.get(nid)
            if not n.get("Alive") or cpus < 1 or (before is not None and (not before.dead or now - before.died < self.RESTART_AFTER)):
                continue  # a node whose pool just died is often dying itself: Ray says so within seconds
            workers = self.workers_per_node or cpus
            actor_cls = self._ray.remote(NodePool).options(
                num_cpus=0, max_concurrency=workers * 4 + 8, max_restarts=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(nid, soft=False))
            actor = actor_cls.remote(workers, self.case_timeout, self.memory_limit_mb, self.recycle_after, self.env)
            self.nodes[nid] = _Node(nid, n.get("NodeManagerAddress", "?"), workers, actor, actor.info.remote(),
                                    cases=before.cases if before is not None else 0)  # a new pool on a node that lost one

    def _node_died(self, node: _Node) -> None:
        if node.dead:
            return
        node.dead = True
        node.died = time.monotonic()
        self.lost_nodes += 1
        self._restarts_dead += node.restarts
        self._recycled_dead += node.recycled
        for task in node.inflight.values():
            task.submitted = time.monotonic()
            self.pending.append(task)
            self.handed_again += 1
        node.inflight.clear()
        try:
            self._ray.kill(node.actor)
        except Exception:  # noqa: BLE001 - already gone, whichever way Ray says it
            pass

    def _alive(self) -> list[_Node]:
        return [n for n in self.nodes.values() if not n.dead]

    # -- the pool's interface ---------------------------------------------------------------------
    @property
    def restarts(self) -> int:
        return self._restarts_dead + sum(n.restarts for n in self._alive())

    @property
    def recycled(self) -> int:
        return self._recycled_dead + sum(n.recycled for n in self._alive())

    def idle(self) -> int:
        return max(0, sum(n.free for n in self._alive()) - len(self.pending))

    def busy(self) -> int:
        return sum(len(n.inflight) for n in self._alive()) + len(self.pending)

    def states(self) -> list[tuple[str, Task | None, float]]:
        now = time.monotonic()
        out = []
        for n in self._alive():
            tasks = list(n.inflight.values())
            out += [("busy", t, now - t.submitted) for t in tasks]
            out += [("idle" if n.ready else "starting", None, now - n.started)] * max(0, 2 * n.workers - len(tasks))
        out += [("waiting", t, now - t.submitted) for t in self.pending]
        return out

    def node_stats(self) -> list[dict]:
        """Per node, for the panel and stats.jsonl: address, host, state, workers, busy, cases, rate."""
        return [{"node": n.node_id[:8], "address": n.address, "host": n.host, "state": "dead" if n.dead else ("ready" if n.ready else "starting"),
                 "workers": n.workers, "busy": len(n.inflight), "cases": n.cases, "cases_per_s_now": round(0.0 if n.dead else n.rate(), 3)}
                for n in self.nodes.values()]

    def submit(self, request) -> Task:
        """Send ``request`` to the node with the most idle workers. Call only when :meth:`idle` > 0."""
        self._next_id += 1
        task = Task(self._next_id, request, time.monotonic())
        if not self._send(task):
            raise RuntimeError("no idle worker")
        return task

    def _send(self, task: Task) -> bool:
        node = max(self._alive(), key=lambda n: n.free, default=None)
        if node is None or node.free <= 0:
            return False
        node.inflight[node.actor.run.remote(task.request.to_wire())] = task
        return True

    def poll(self, timeout: float = 0.1) -> list[Completion]:
        """Wait up to ``timeout`` s for answers; tasks of dead nodes go to live ones."""
        self._discover()
        self._check_ready()
        while self.pending and self._send(self.pending[0]):
            self.pending.popleft()
        refs = {ref: node for node in self._alive() for ref in node.inflight}
        if not refs:
            self._check_empty()
            time.sleep(timeout)
            return []
        ready, _ = self._ray.wait(list(refs), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self._ray.wait(list(refs), num_returns=len(refs), timeout=0)
        done = []
        for ref in ready:
            node = refs[ref]
            if node.dead:
                continue
            try:
                answer = self._ray.get(ref)
            except self._gone:
                self._node_died(node)
                continue
            task = node.inflight.pop(ref)
            done.append(self._completion(node, task, answer))
        return done

    def _check_ready(self) -> None:
        for node in self._alive():
            if node.ready:
                continue
            ready, _ = self._ray.wait([node.ready_ref], timeout=0)
            if not ready:
                continue
            try:
                info = self._ray.get(node.ready_ref)
            except self._gone:
                self._node_died(node)
                continue
            if info.get("fatal"):
                raise InternalError(f"the worker pool on node {node.address} failed to start:\n{info['fatal']}")
            node.ready, node.host, node.started = True, info.get("host", ""), time.monotonic()

    def _check_empty(self) -> None:
        if self._alive():
            self._no_node_since = None
            return
        now = time.monotonic()
        self._no_node_since = self._no_node_since or now
        if now - self._no_node_since > self.NO_NODE_GRACE:
            raise ClusterError(f"no node of the Ray cluster is left (waited {self.NO_NODE_GRACE:g}s for one)")

    def _completion(self, node: _Node, task: Task, answer: dict) -> Completion:
        if "internal_error" in answer:
            raise InternalError(f"node {node.address} failed on {task.request.label()}:\n{answer['internal_error']}")
        node.restarts, node.recycled = answer["restarts"], answer["recycled"]
        reply = None
        if answer["kind"] == "ok":
            wire = self._place_files(task.request, answer["reply"], answer["files"])
            reply = reply_from_wire(wire, task.request)
            n = len(getattr(reply, "cases", ())) or 1
        else:
            n = 1
        node.cases += n
        node.recent.append((time.monotonic(), n))
        index = list(self.nodes).index(node.node_id)
        return Completion(task, answer["kind"], reply, answer["detail"], answer["seconds"], worker=index * 10_000 + answer["worker"])

    @staticmethod
    def _place_files(request, wire: dict, files: dict) -> dict:
        """Write the directories a node shipped where ``request`` asked for them (each written
        under a temporary name, then renamed) and point the reply at them."""
        wire = dict(wire)
        if isinstance(request, Rebuild):
            target_root, names = Path(request.out).parent, {"out": Path(request.out).name}
        elif isinstance(request, (RunSeeds, RunMutant)) and request.cases_dir:
            target_root, names = Path(request.cases_dir), {}
        else:
            return wire

        def place(name: str) -> str:
            dest = target_root / name
            tmp = target_root / f".{name}.part"
            shutil.rmtree(tmp, ignore_errors=True)
            for rel, data in files.get(name, {}).items():
                p = tmp / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
            tmp.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(dest, ignore_errors=True)
            os.rename(tmp, dest)
            return str(dest)

        if isinstance(request, Rebuild):
            if wire.get("out"):
                wire["out"] = place(names["out"])
        else:
            cases = []
            for c in wire.get("cases", ()):
                c = dict(c)
                if c.get("case_dir"):
                    c["case_dir"] = place(Path(c["case_dir"]).name)
                cases.append(c)
            wire["cases"] = cases
        return wire

    def close(self) -> None:
        """Stop every node's pool (in-flight tasks are abandoned)."""
        closing = []
        for n in self._alive():
            try:
                closing.append(n.actor.close.remote())
            except Exception:  # noqa: BLE001 - a dead actor: nothing to close
                pass
        if closing:
            try:
                self._ray.wait(closing, num_returns=len(closing), timeout=15)
            except Exception:  # noqa: BLE001
                pass
        for n in self._alive():
            try:
                self._ray.kill(n.actor)
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self) -> "ClusterPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def remote_minimizer(seconds_limit: float) -> Callable[[dict, Callable[[], bool]], dict | None]:
    """A function that runs :func:`minimize_on_node` on some node of the cluster and waits for it:
    ``(job, cancelled) -> answer``, None when the task died for good (its process ended each
    time it ran: eager PyTorch crashed on the case) or ran past ``seconds_limit``, or when
    ``cancelled()`` turned true meanwhile. A node dying mid-task makes Ray run it again elsewhere."""
    import ray

    task = ray.remote(num_cpus=1, max_retries=2)(minimize_on_node)
    gone = _ray_gone_errors() + (ray.exceptions.RayTaskError, ray.exceptions.TaskCancelledError)

    def call(job: dict, cancelled: Callable[[], bool]) -> dict | None:
        ref = task.remote(job)
        deadline = time.monotonic() + seconds_limit
        while True:
            ready, _ = ray.wait([ref], timeout=1.0)
            if ready:
                try:
                    return ray.get(ref)
                except gone as e:
                    return {"died": f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"}
            if cancelled() or time.monotonic() > deadline:
                ray.cancel(ref, force=True)
                return None

    return call
