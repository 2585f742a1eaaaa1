"""The finding store: one directory per bug (signature bucket), an SQLite index to list them fast.

Layout of a store root::

    ROOT/<id>/            one finding: repro.py, model.onnx (when export succeeded), inputs.npz,
                          graph.json, finding.json, report.md
    ROOT/index.sqlite     the index (a cache: rebuilt from the directories whenever they disagree)
    ROOT/.lock            serializes writers (worker processes may record concurrently)

Invariants:

- The directories are the truth; ``finding.json`` holds the hit count and status. The index mirrors
  them and is re-synchronized on open (new, changed or vanished directories) and at most every
  ``SYNC_INTERVAL`` seconds while one store object keeps writing (a rescan stats every finding);
  each write indexes what it wrote at once. A process killed between a write and the index update
  loses nothing.
- A finding directory appears whole or not at all: it is built under a hidden ``.<id>.*.partial``
  name and published with one rename. A smaller reproduction replaces a bucket's files the same
  way (old directory moved aside, new one renamed in, old removed; an interrupted swap is undone
  on the next open). ``finding.json`` updates are atomic file replacements.
- A directory whose ``finding.json`` or ``graph.json`` does not load is reported in
  :attr:`FindingStore.problems` and skipped; it never stops listing or recording.
- Bucketing: a case is first looked up by its *raw* signature (an alias table maps every raw
  signature already seen to its bucket), so repeated hits cost no minimization. A new raw signature
  is minimized (if a minimizer is given) and filed under the signature of the minimized case.
- Variants: a new minimized one-operator finding of a root-cause group that already has a
  one-operator finding (:func:`~fuzzer.triage.groups.variant_group`: the same exporter rule, the
  same ORT kernel, the same torch op with other attributes) joins that finding as a variant: it is
  listed in its ``variants``, its directory moves whole to ``<id>/variants/<its id>/``, and its
  signatures become aliases of the finding. One cause, one finding; nothing is thrown away.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import json
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import numpy as np

from fuzzer.ir import Graph, GraphFormatError, graph_to_json, load_graph
from fuzzer.atomic import StagedDir, atomic_write_text
from fuzzer.case import InputsFormatError, load_inputs, npz_bytes
from fuzzer.compare.stages import PROJECT, stage_of
from fuzzer.triage.groups import member_of, variant_group
from fuzzer.triage.limitations import limitation_of
from fuzzer.triage.signature import PROCESS_VERDICTS, Signature, legacy_key, matches, signature_of
from fuzzer.versions import stack_versions

from .repro import render_repro
from .curated import CuratedFileError, curation, upstream_issues
from .report import ReportFacts, blame, gather_evidence, render_report, report_title, tracker_for

SYNC_INTERVAL = 5.0  # seconds between two full rescans of the directories by one store object (see _locked)

if TYPE_CHECKING:
    from fuzzer.case import CaseResult
    from fuzzer.minimize import MinimizeResult

FORMAT, VERSION = "onnxfuzz-finding", 1


class Status(str, enum.Enum):
    """Where a finding stands. Stored as its value in ``finding.json``."""

    NEW = "new"  # filed by the fuzzer, not triaged yet
    FLAKY = "flaky"  # did not reproduce while being minimized: filed raw, to look at
    FILED = "filed"  # reported upstream (``filed_url``)
    WONTFIX = "wontfix"  # will not be reported (``wontfix_reason``)
    FIXED = "fixed"  # fixed upstream (``fixed_in``): a replay must pass

    def __str__(self) -> str:
        return self.value


#: What a finding of each status must do when replayed on the installed stack (the regression
#: watch of ``findings replay --check-status``). Total over Status (tested).
EXPECTED_ON_REPLAY: dict[Status, str] = {
    Status.NEW: "still failing", Status.FLAKY: "still failing", Status.FILED: "still failing",
    Status.WONTFIX: "still failing", Status.FIXED: "fixed",
}


def status_of(doc: Mapping[str, Any]) -> Status:
    """A finding's status (``new`` when absent); a value this build does not know is a FindingError."""
    try:
        return Status(doc.get("status", Status.NEW.value))
    except ValueError:
        raise FindingError(f"unknown finding status {_short(doc.get('status'))} (known: {', '.join(x.value for x in Status)})") from None
#: Test hook: seconds to sleep inside the staging step (after some files are written), so a test
#: can kill the process mid-write. Never set outside tests.
SLEEP_ENV = "ONNXFUZZ_TEST_SLEEP_IN_STAGING"

#: finding.json fields that belong to the bucket, not to its current reproduction
_BUCKET_FIELDS = ("first_seen", "last_seen", "hits", "status", "raw_signatures", "history", "filed_url", "wontfix_reason", "fixed_in",
                  "variants")
VARIANTS = "variants"  # the sub-directory of a finding holding its variants' directories

Minimizer = Callable[[Graph, Mapping[str, np.ndarray], "CaseResult"], "MinimizeResult"]


class FindingError(ValueError):
    """A finding or store cannot be used; the message says which and why (CLI: one line, exit 2)."""


@dataclass(frozen=True)
class FindingInfo:
    """One row of the index."""

    id: str
    verdict: str
    exporter: str
    opset: int | None
    n_ops: int
    hits: int
    size: int
    status: str
    title: str
    first_seen: str
    last_seen: str
    signature: str
    path: Path


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load_npz(path: Path, graph: Graph) -> dict[str, np.ndarray]:
    """A finding's inputs, checked against its graph (:func:`fuzzer.case.load_inputs`; headers
    first, :func:`~fuzzer.store.npz.check_npz`); a bad file is a :class:`FindingError`."""
    from .npz import check_npz

    try:
        check_npz(path)
        return load_inputs(path, graph)
    except InputsFormatError as e:
        raise FindingError(str(e)) from None


class FindingStore:
    """Findings under ``root`` (created on first write). See the module docstring."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.problems: list[str] = []  # corrupt or unreadable finding directories, one line each
        self._db: sqlite3.Connection | None = None
        self._synced_at = float("-inf")  # time.monotonic() of the last full rescan

    # -- index ------------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.root.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.root / "index.sqlite", timeout=30)
            db.execute(
                "CREATE TABLE IF NOT EXISTS findings (id TEXT PRIMARY KEY, signature TEXT, verdict TEXT, exporter TEXT,"
                " opset INTEGER, n_ops INTEGER, hits INTEGER, size INTEGER, status TEXT, title TEXT, first_seen TEXT,"
                " last_seen TEXT, mtime REAL)"
            )
            db.execute("CREATE TABLE IF NOT EXISTS aliases (raw TEXT PRIMARY KEY, id TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS cases (key TEXT PRIMARY KEY, id TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS groups (id TEXT PRIMARY KEY, key TEXT)")  # variant_group of each finding
            db.commit()
            self._db = db
            self.sync()
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def sync(self) -> None:
        """Bring the index in line with the directories; collect corrupt ones in ``problems``."""
        db = self._db if self._db is not None else self._conn()
        self._synced_at = time.monotonic()
        self.problems = []
        self._recover_swaps()
        on_disk = {p.name: p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")} if self.root.exists() else {}
        rows = {r[0]: r[1] for r in db.execute("SELECT id, mtime FROM findings")}
        for fid in set(rows) - set(on_disk):
            db.execute("DELETE FROM findings WHERE id = ?", (fid,))
            db.execute("DELETE FROM groups WHERE id = ?", (fid,))
        for fid, path in sorted(on_disk.items()):
            fj = path / "finding.json"
            try:
                mtime = fj.stat().st_mtime
            except OSError:
                self.problems.append(f"{path}: no finding.json (not a finding directory, or a corrupt one); skipped")
                db.execute("DELETE FROM findings WHERE id = ?", (fid,))
                continue
            if rows.get(fid) == mtime:
                continue
            try:
                doc = read_finding(path)
            except FindingError as e:
                self.problems.append(f"{e}; skipped")
                db.execute("DELETE FROM findings WHERE id = ?", (fid,))
                continue
            if doc.get("absorbed_into") and self._absorbed(path, doc["absorbed_into"]):
                self._drop_absorbed(db, path, doc["absorbed_into"])  # step (3) of an interrupted _absorb
                continue
            if doc.get("variant_of") and self._is_variant_of(path.name, doc["variant_of"]):
                self._move_variant(db, path, doc["variant_of"])  # steps (3)-(4) of an interrupted _join_group
                continue
            self._upsert(db, path, doc, mtime)
            for raw in doc.get("raw_signatures", []):
                db.execute("INSERT OR REPLACE INTO aliases (raw, id) VALUES (?, ?)", (raw, fid))
        db.commit()

    def _upsert(self, db: sqlite3.Connection, path: Path, doc: dict, mtime: float) -> None:
        size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        db.execute(
            "INSERT OR REPLACE INTO findings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (path.name, doc["signature"]["key"], doc["verdict"], doc["exporter"], doc.get("opset"), doc["n_ops"], doc["hits"],
             size, doc["status"], doc["title"], doc["first_seen"], doc["last_seen"], mtime),
        )
        key = variant_group(doc)
        if key is None:
            db.execute("DELETE FROM groups WHERE id = ?", (path.name,))
        else:
            db.execute("INSERT OR REPLACE INTO groups VALUES (?, ?)", (path.name, key))

    def list(self, order: str = "last_seen DESC") -> list[FindingInfo]:
        db = self._conn()
        assert order in ("last_seen DESC", "hits DESC", "id")
        rows = db.execute(
            "SELECT id, verdict, exporter, opset, n_ops, hits, size, status, title, first_seen, last_seen, signature FROM findings ORDER BY " + order
        ).fetchall()
        return [FindingInfo(*r[:11], signature=r[11], path=self.root / r[0]) for r in rows]

    def resolve(self, ref: str) -> Path:
        """A finding directory from an id, a unique id prefix, or a path to a finding directory."""
        p = Path(ref)
        if (p / "finding.json").exists() or (p.is_dir() and ("/" in ref or ref in (".", ".."))):
            return p
        if ref and not ref.startswith(".") and (self.root / ref).is_dir():
            return self.root / ref  # also a corrupt one: loading it says what is wrong
        ids = [r[0] for r in self._conn().execute("SELECT id FROM findings WHERE id LIKE ?", (ref.replace("%", "") + "%",))]
        if len(ids) == 1:
            return self.root / ids[0]
        if not ids and ref and "/" not in ref and not ref.startswith("."):  # a variant, in its finding
            ids = [f"{p.parent.parent.name}/{VARIANTS}/{p.name}" for p in self.root.glob(f"*/{VARIANTS}/{ref}*") if p.is_dir()]
            if len(ids) == 1:
                return self.root / ids[0]
        if not ids:
            raise FindingError(f"no finding {_short(ref)} in {self.root} (see 'onnxfuzz findings list {self.root}')")
        raise FindingError(f"{_short(ref)} is ambiguous in {self.root}: {', '.join(sorted(ids)[:5])}")

    # -- writing ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a") as lf:
            fcntl.flock(lf, fcntl.LOCK_EX)
            try:
                db = self._conn()
                # a full rescan costs a stat per finding: in a campaign that is per failing case,
                # so at most every SYNC_INTERVAL s; what this process writes it indexes at once
                # (_reindex), other processes write through this class too, and a removed finding
                # is checked on disk where it matters (knows, _record, _file)
                if time.monotonic() - self._synced_at >= SYNC_INTERVAL:
                    self.sync()
                yield db
                db.commit()
            finally:
                fcntl.flock(lf, fcntl.LOCK_UN)

    def knows(self, result: "CaseResult") -> bool:
        """Whether the raw signature of ``result`` is already filed (a new case would only be a hit)."""
        raw = signature_of(result)
        with self._locked() as db:
            row = self._alias(db, raw, result.exporter)
            return bool(row) and (self.root / row[0] / "finding.json").exists()

    @staticmethod
    def _alias(db: sqlite3.Connection, raw: Signature, exporter: str):
        """The alias row of a raw signature, in its current form or its older per-exporter one
        (:func:`~fuzzer.triage.signature.legacy_key`: findings filed before keep their ids)."""
        row = db.execute("SELECT id FROM aliases WHERE raw = ?", (raw.key,)).fetchone()
        old = legacy_key(raw, exporter)
        if row is None and old is not None:
            row = db.execute("SELECT id FROM aliases WHERE raw = ?", (old,)).fetchone()
        return row

    def recorded(self, case_key: str) -> str | None:
        """The finding a case (by its key, e.g. "torchscript/123") was filed under, if any."""
        with self._locked() as db:
            row = db.execute("SELECT id FROM cases WHERE key = ?", (case_key,)).fetchone()
            return row[0] if row else None

    def case_index(self) -> dict[str, str]:
        """Every recorded case key (e.g. "torchscript/123") -> the finding it was filed under."""
        if not self.root.exists():
            return {}
        with self._locked() as db:
            return dict(db.execute("SELECT key, id FROM cases").fetchall())

    def record(
        self, graph: Graph, inputs: Mapping[str, np.ndarray], result: "CaseResult", minimize: Minimizer | None = None, case_key: str | None = None,
        *, pending: bool = False,
    ) -> tuple[str, bool]:
        """File a failing case; returns (finding id, whether it opened a new bucket).

        A raw signature seen before only counts a hit. Otherwise the case is minimized (when
        ``minimize`` is given; minimization runs outside the store lock) and filed under the
        signature of the minimized case: a new bucket, or a hit on an existing one whose
        reproduction is replaced if the new one is simpler. With ``pending`` a new bucket is filed
        at once, raw, *awaiting minimization* (:meth:`awaiting_minimization`; no evidence is
        gathered: nothing runs in the caller) and finished later by :meth:`finish_minimization`.
        With ``case_key`` the call is idempotent: a case already recorded under that key changes
        nothing (campaign resume)."""
        if case_key is not None:
            done = self.recorded(case_key)
            if done is not None:
                return done, False
        return self._record(graph, inputs, result, minimize, case_key, pending)

    def _record(self, graph: Graph, inputs: Mapping[str, np.ndarray], result: "CaseResult", minimize: Minimizer | None,
                case_key: str | None = None, pending: bool = False) -> tuple[str, bool]:
        raw = signature_of(result)
        with self._locked() as db:
            row = self._alias(db, raw, result.exporter)
            if row and (self.root / row[0] / "finding.json").exists():
                self._hit(self.root / row[0], raw.key, None)
                self._case_filed(db, case_key, row[0])
                return row[0], False
        case = _Case(graph, dict(inputs), result, raw, None, Status.NEW.value, pending=pending and minimize is None)
        if minimize is not None:
            m = minimize(graph, inputs, result)
            if m.reproduced:
                case = _Case(m.best.graph, dict(m.best.inputs), m.result, m.signature, m.stats(), Status.NEW.value)
            else:
                case = _Case(graph, dict(inputs), result, raw, m.stats(), Status.FLAKY.value)
        case = case.with_original(graph, result)
        return self._file(case, raw.key, case_key)

    @staticmethod
    def _case_filed(db: sqlite3.Connection, case_key: str | None, fid: str) -> None:
        if case_key is not None:  # in the same transaction as the write it records
            db.execute("INSERT OR REPLACE INTO cases (key, id) VALUES (?, ?)", (case_key, fid))

    def _file(self, case: "_Case", raw_key: str, case_key: str | None = None) -> tuple[str, bool]:
        fid = case.signature.id
        with self._locked() as db:
            old = legacy_key(case.signature, case.result.exporter)
            if not (self.root / fid / "finding.json").exists() and old is not None:
                old_id = Signature(case.signature.verdict, case.result.exporter, case.signature.detail).id
                if (self.root / old_id / "finding.json").exists():  # filed before under its per-exporter key
                    fid = old_id
            path = self._bucket_dir(db, case.signature) if fid == case.signature.id else self.root / fid
            if (path / "finding.json").exists():  # a hit (on a variant: its finding's reproduction stays)
                self._hit(path, raw_key, case if path.name == fid else None)
                db.execute("INSERT OR REPLACE INTO aliases (raw, id) VALUES (?, ?)", (raw_key, path.name))
                self._case_filed(db, case_key, path.name)
                return path.name, False
            doc = self._write_new(path, case, raw_key)
            self._upsert(db, path, doc, (path / "finding.json").stat().st_mtime)
            db.execute("INSERT OR REPLACE INTO aliases (raw, id) VALUES (?, ?)", (raw_key, fid))
            self._case_filed(db, case_key, fid)
            joined = fid if case.pending else self._join_group(db, path)
        if joined != fid:  # a variant of a cause filed before
            self._list_variants(self.root / joined)
            return joined, False
        return fid, True

    # -- minimization after filing ----------------------------------------------------------------
    def awaiting_minimization(self) -> list[tuple[Path, dict]]:
        """(path, finding.json) of every finding filed raw and not minimized yet, oldest first."""
        out = []
        for info in self.list("id"):
            try:
                doc = read_finding(info.path)
            except FindingError:
                continue
            if doc.get("awaiting_minimization"):
                out.append((info.path, doc))
        out.sort(key=lambda x: (x[1]["first_seen"], x[0].name))
        return out

    def finish_minimization(self, path: Path, m: "MinimizeResult") -> str:
        """Publish the minimization of ``path``, a finding awaiting it; returns the finding the bug
        now lives in. Not reproduced: the raw case stays, ``flaky``. Reproduced with the raw
        signature's bucket: the reproduction is replaced in place. Under another signature (the
        usual case for mismatches and process deaths, whose signature names the ops of the
        minimized model): the bug moves into that bucket (a new finding keeping this one's first
        seen, hits, status and aliases; or a hit on the existing one, whose reproduction is
        replaced if this one is simpler), and this directory goes (see :meth:`_absorb`)."""
        with self._locked() as db:
            doc = read_finding(path)
            if not doc.get("awaiting_minimization"):
                return path.name  # finished by another process meanwhile
            if not m.reproduced:  # the raw case stays, to look at
                doc.pop("awaiting_minimization")
                doc["minimization"] = m.stats()
                if doc["status"] == Status.NEW.value:
                    doc["status"] = Status.FLAKY.value
                atomic_write_text(path / "finding.json", json.dumps(doc, indent=1, allow_nan=False) + "\n")
                self._reindex(path, doc)
                return path.name
            carry = {k: doc[k] for k in _BUCKET_FIELDS if k in doc}
            case = _Case(m.best.graph, dict(m.best.inputs), m.result, m.signature, m.stats(), doc["status"], doc.get("original"))
            if matches(m.signature, doc["signature"]["key"], doc["exporter"]):  # its own bucket (an older
                if m.signature.key != doc["signature"]["key"]:  # finding's per-exporter key included: it keeps its id)
                    case = _Case(case.graph, case.inputs, case.result, Signature(m.signature.verdict, doc["exporter"], m.signature.detail,
                                                                                  m.signature.path_ops), case.minimization, case.status, case.original)
                self._stage(path, case, carry, replace=True)
                self._reindex(path)
                into = path.name
            else:
                target = self._bucket_dir(db, m.signature)
                existed = (target / "finding.json").exists()
                self._absorb(db, path, doc, target, case, replace=target.name == m.signature.id)
                if existed:
                    return target.name  # a hit on a bug filed before
                into = target.name
            joined = self._join_group(db, self.root / into)
        if joined != into:
            self._list_variants(self.root / joined)
        return joined

    def _list_variants(self, path: Path) -> None:
        """Re-render the report of ``path`` after a variant joined it, so it lists the variant. The
        variant is filed whatever happens here: a report that cannot be re-rendered stays as it was."""
        try:
            self.rewrite_report(path)
        except Exception:  # noqa: BLE001 - the finding.json already lists the variant
            pass

    def _bucket_dir(self, db: sqlite3.Connection, sig: Signature) -> Path:
        """The finding directory of signature ``sig``: its own, or the finding it joined as a variant."""
        own = self.root / sig.id
        if not (own / "finding.json").exists():
            row = db.execute("SELECT id FROM aliases WHERE raw = ?", (sig.key,)).fetchone()
            if row and (self.root / row[0] / "finding.json").exists():
                return self.root / row[0]
        return own

    def _join_group(self, db: sqlite3.Connection, path: Path) -> str:
        """File the finding at ``path`` as a variant of the oldest finding of its root-cause group
        (:func:`~fuzzer.triage.groups.variant_group`) if there is one; returns where it lives now.
        Caller holds the lock.

        Crash-safe in four steps: (1) ``path``'s finding.json names ``variant_of``; (2) the group's
        finding lists the variant, with its hits and signatures merged in; (3) index rows follow;
        (4) ``path`` moves to ``<finding>/variants/<id>``. :meth:`sync` redoes (3)-(4) after (2)."""
        doc = read_finding(path)
        key = variant_group(doc)
        if key is None:
            return path.name
        rows = db.execute("SELECT g.id FROM groups g JOIN findings f ON f.id = g.id WHERE g.key = ? AND g.id != ?"
                          " ORDER BY f.first_seen, g.id", (key, path.name)).fetchall()
        into = next((r[0] for r in rows if (self.root / r[0] / "finding.json").exists()), None)
        if into is None:
            return path.name
        doc["variant_of"] = into
        atomic_write_text(path / "finding.json", json.dumps(doc, indent=1, allow_nan=False) + "\n")
        try:
            graph_doc = json.loads((path / "graph.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            graph_doc = None
        member = member_of(doc, graph_doc if isinstance(graph_doc, dict) else None)
        target = self.root / into
        tdoc = read_finding(target)
        entry = {"id": path.name, "title": doc["title"], "signature": doc["signature"]["key"], "exporter": doc["exporter"],
                 "ops": list(doc.get("ops") or ()), "onnx_op": member.onnx_op, "dtypes": list(member.dtypes), "hits": doc["hits"],
                 "first_seen": doc["first_seen"]}
        tdoc["variants"] = [v for v in tdoc.get("variants", []) if v.get("id") != path.name] + [entry]
        tdoc["hits"] += doc["hits"]
        tdoc["last_seen"] = max(tdoc["last_seen"], doc["last_seen"])
        raws = tdoc.setdefault("raw_signatures", [])
        raws.extend(r for r in dict.fromkeys([*doc.get("raw_signatures", []), doc["signature"]["key"]]) if r not in raws)
        tdoc["history"] = tdoc.get("history", []) + [{"variant": path.name, "at": now(), "hits": doc["hits"]}]
        atomic_write_text(target / "finding.json", json.dumps(tdoc, indent=1, allow_nan=False) + "\n")
        self._reindex(target, tdoc)
        self._move_variant(db, path, into)
        return into

    def _is_variant_of(self, fid: str, into: str) -> bool:
        """Whether step (2) of :meth:`_join_group` of ``fid`` into ``into`` is done."""
        try:
            tdoc = read_finding(self.root / into)
        except FindingError:
            return False
        return any(isinstance(v, dict) and v.get("id") == fid for v in tdoc.get("variants", []))

    def _move_variant(self, db: sqlite3.Connection, path: Path, into: str) -> None:
        """Steps (3)-(4) of :meth:`_join_group`: aliases and recorded cases follow; the directory moves."""
        db.execute("UPDATE aliases SET id = ? WHERE id = ?", (into, path.name))
        db.execute("UPDATE cases SET id = ? WHERE id = ?", (into, path.name))
        db.execute("DELETE FROM findings WHERE id = ?", (path.name,))
        db.execute("DELETE FROM groups WHERE id = ?", (path.name,))
        dest = self.root / into / VARIANTS / path.name
        dest.parent.mkdir(exist_ok=True)
        if dest.exists():
            shutil.rmtree(dest)
        try:
            os.rename(path, dest)
        except FileNotFoundError:
            pass  # moved by another process's sync meanwhile

    def mark_interaction(self, ref: str, interaction: bool | None) -> None:
        """Record whether a finding is an interaction (:mod:`fuzzer.minimize.interaction`: two or
        more operators, each passing alone on the values it receives); None: undecided."""
        path = self.resolve(ref)
        with self._locked():
            doc = read_finding(path)
            doc["interaction"] = interaction
            atomic_write_text(path / "finding.json", json.dumps(doc, indent=1, allow_nan=False) + "\n")

    def record_scope(self, path: Path, entries: list[dict]) -> None:
        """Record where the finding reproduces (:mod:`.scope`) in finding.json ``"scope"``,
        replacing an earlier scope (an atomic replacement of finding.json, under the lock)."""
        from .scope import check_scope

        if not check_scope(entries):
            raise ValueError("not a scope list (see fuzzer.store.scope.probe)")
        with self._locked():
            doc = read_finding(path)
            doc["scope"] = entries
            atomic_write_text(path / "finding.json", json.dumps(doc, indent=1, allow_nan=False) + "\n")
            self._reindex(path, doc)

    def give_up_minimization(self, path: Path, reason: str) -> None:
        """Keep ``path`` raw for good (its minimization cannot finish, e.g. it kills the minimizing
        process): it leaves the queue, and ``reason`` is recorded."""
        with self._locked():
            doc = read_finding(path)
            if not doc.pop("awaiting_minimization", False):
                return
            doc["minimization"] = {"stop_reason": reason}
            atomic_write_text(path / "finding.json", json.dumps(doc, indent=1, allow_nan=False) + "\n")
            self._reindex(path, doc)

    def _absorb(self, db: sqlite3.Connection, path: Path, doc: dict, target: Path, case: "_Case", replace: bool = True) -> None:
        """Move the bug of raw finding ``path`` into bucket ``target`` (caller holds the lock).

        Crash-safe in three steps: (1) ``path``'s finding.json names ``absorbed_into``; (2)
        ``target`` is written with this bucket's hits, aliases and dates merged in, and a history
        entry ``{"absorbed": <id>}``; (3) ``path`` is removed. A kill after (1) leaves a finding that
        :meth:`sync` ignores the mark of until (2) is there, and after (2) removes (3). Without
        ``replace`` (``target`` holds this bug as a variant) its reproduction is kept as it is."""
        doc["absorbed_into"] = target.name
        atomic_write_text(path / "finding.json", json.dumps(doc, indent=1, allow_nan=False) + "\n")
        entry = {"absorbed": path.name, "at": now(), "hits": doc["hits"]}
        if (target / "finding.json").exists():
            tdoc = read_finding(target)
            tdoc["hits"] += doc["hits"]
            tdoc["first_seen"] = min(tdoc["first_seen"], doc["first_seen"])
            tdoc["last_seen"] = max(tdoc["last_seen"], doc["last_seen"])
            tdoc["raw_signatures"] = tdoc.get("raw_signatures", []) + [r for r in doc.get("raw_signatures", []) if r not in tdoc.get("raw_signatures", [])]
            tdoc["history"] = tdoc.get("history", []) + [entry]
            for v in tdoc.get("variants", []):
                if isinstance(v, dict) and v.get("signature") == case.signature.key:
                    v["hits"] = int(v.get("hits", 0)) + doc["hits"]
            from fuzzer.minimize import is_simpler, simplicity_key

            old_graph = load_graph(target / "graph.json")
            if replace and tdoc["status"] in (Status.NEW.value, Status.FLAKY.value) and is_simpler(
                    simplicity_key(case.graph, case.inputs), simplicity_key(old_graph, load_npz(target / "inputs.npz", old_graph))):
                self._replace(target, case, tdoc)
            else:
                atomic_write_text(target / "finding.json", json.dumps(tdoc, indent=1, allow_nan=False) + "\n")
                self._reindex(target, tdoc)
        else:
            carry = {k: doc[k] for k in _BUCKET_FIELDS if k in doc}
            carry["history"] = carry.get("history", []) + [entry]
            new = self._stage(target, case, carry, replace=False)
            self._upsert(db, target, new, (target / "finding.json").stat().st_mtime)
        self._drop_absorbed(db, path, target.name)

    def _absorbed(self, path: Path, into: str) -> bool:
        """Whether step (2) of :meth:`_absorb` of ``path`` into ``into`` is done."""
        try:
            tdoc = read_finding(self.root / into)
        except FindingError:
            return False
        return any(isinstance(h, dict) and h.get("absorbed") == path.name for h in tdoc.get("history", []))

    def _drop_absorbed(self, db: sqlite3.Connection, path: Path, into: str) -> None:
        """Step (3) of :meth:`_absorb`: aliases and recorded cases follow the bug; the directory goes."""
        db.execute("UPDATE aliases SET id = ? WHERE id = ?", (into, path.name))
        db.execute("UPDATE cases SET id = ? WHERE id = ?", (into, path.name))
        db.execute("DELETE FROM findings WHERE id = ?", (path.name,))
        db.execute("DELETE FROM groups WHERE id = ?", (path.name,))
        aside = path.parent / f".{path.name}.absorbed"
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return  # removed by another process's sync meanwhile
        shutil.rmtree(aside, ignore_errors=True)

    def _hit(self, path: Path, raw_key: str, case: "_Case | None") -> None:
        doc = read_finding(path)
        doc["hits"] += 1
        doc["last_seen"] = now()
        if raw_key not in doc.setdefault("raw_signatures", []):
            doc["raw_signatures"].append(raw_key)
        if case is not None and doc["status"] in (Status.NEW.value, Status.FLAKY.value):
            from fuzzer.minimize import is_simpler, simplicity_key

            old_graph = load_graph(path / "graph.json")
            old_inputs = load_npz(path / "inputs.npz", old_graph)
            if is_simpler(simplicity_key(case.graph, case.inputs), simplicity_key(old_graph, old_inputs)):
                self._replace(path, case, doc)
                return
        atomic_write_text(path / "finding.json", json.dumps(doc, indent=1, allow_nan=False) + "\n")
        self._reindex(path, doc)

    def _reindex(self, path: Path, doc: dict | None = None) -> None:
        """Bring one finding's index row and aliases in line with what was just written to ``path``."""
        doc = read_finding(path) if doc is None else doc
        db = self._conn()
        self._upsert(db, path, doc, (path / "finding.json").stat().st_mtime)
        for raw in doc.get("raw_signatures", []):
            db.execute("INSERT OR REPLACE INTO aliases (raw, id) VALUES (?, ?)", (raw, path.name))

    def _write_new(self, path: Path, case: "_Case", raw_key: str) -> dict:
        t = now()
        doc = {"first_seen": t, "last_seen": t, "hits": 1, "status": case.status, "raw_signatures": [raw_key], "history": []}
        if case.pending:
            doc["awaiting_minimization"] = True
        return self._stage(path, case, doc, replace=False)

    def _replace(self, path: Path, case: "_Case", doc: dict) -> None:
        """Publish ``case`` as the bucket's reproduction, keeping what belongs to the bucket
        (first seen, hits, status, aliases) and logging the replacement."""
        carry = {k: doc[k] for k in _BUCKET_FIELDS if k in doc}
        if carry.get("status") == Status.FLAKY.value:
            carry["status"] = case.status
        carry["history"] = doc.get("history", []) + [{"replaced": now(), "n_ops_before": doc.get("n_ops")}]
        self._stage(path, case, carry, replace=True)
        self._reindex(path)

    def _stage(self, path: Path, case: "_Case", carry: dict, replace: bool) -> dict:
        """Write all files of ``case`` into a staging directory, then publish it at ``path``."""
        fid = path.name
        result = case.result
        # a case that killed its process would kill this one too: no re-run for evidence
        evidence = None if result.verdict in PROCESS_VERDICTS or case.pending else gather_evidence(case.graph, case.inputs, result.model)
        culprit = result.blame.culprit.value if getattr(result, "blame", None) is not None else None
        if (result.options or {}).get("declared_dtypes"):  # ORT fails on a model declaring other types than eager's
            culprit = "exporter"
        component = blame(result.verdict.value, result.exporter, result.error_message, evidence, culprit)
        stage = stage_of(result)  # which step of export and run broke, and whose tracker it is for
        versions = dict(result.versions) or stack_versions()
        ex = export_of(result)
        facts = self._facts(fid, case.graph, case.inputs, result.model, verdict=result.verdict.value, exporter=result.exporter,
                            opset=ex["opset"], optimize=ex["optimize"], error_type=result.error_type,
                            error_message=result.error_message or result.error_head, evidence=evidence, versions=versions,
                            component=component, signature=case.signature.to_dict(), stage=stage.value,
                            worst_index=result.worst.index if result.worst else None, variants=tuple(carry.get("variants") or ()))
        t = report_title(facts)
        doc = {
            "format": FORMAT, "version": VERSION, "id": fid, "title": t, "signature": case.signature.to_dict(),
            "verdict": result.verdict.value, "exporter": result.exporter, "opset": result.opset,
            "opset_requested": result.opset_requested, "component": component, "stage": stage.value, "project": PROJECT[stage],
            "tracker": facts.project,
            "versions": versions,
            "n_ops": len(case.graph), "ops": case.graph.ops(), "error_type": result.error_type, "error_head": result.error_head,
            "error_message": result.error_message, "worst": result.worst.to_dict() if result.worst else None,
            "minimization": case.minimization, "original": case.original, "input_mode": result.input_mode,
            "limitation": limitation_of(result.verdict.value, result.exporter, result.error_type, result.error_message or result.error_head,
                                        blamed_on_ort=False if (result.options or {}).get("declared_dtypes") else None),
            "export": export_of(result),
            "rewrites": list(getattr(result, "rewrites", ()) or ()),  # graph rewrites observed on the case's model
            **carry,
        }
        summary = result.error_head or result.verdict.value
        files = {
            "graph.json": graph_to_json(case.graph) + "\n",
            "repro.py": render_repro(case.graph, finding_id=fid, title=t, exporter=result.exporter, opset=result.opset_requested, verdict=result.verdict.value, summary=summary,
                                     dynamic=_repro_dynamic(case.graph, result)),
            "report.md": render_report(facts),
        }
        target = path if not replace else path.parent / f".{fid}.new"
        if replace and target.exists():
            shutil.rmtree(target)
        with StagedDir(target) as tmp:
            (tmp / "inputs.npz").write_bytes(npz_bytes(case.inputs))
            if result.model is not None:
                (tmp / "model.onnx").write_bytes(result.model)
            for name, text in files.items():
                (tmp / name).write_text(text, encoding="utf-8")
            _test_sleep()
            (tmp / "finding.json").write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        if replace:
            aside = path.parent / f".{fid}.old"
            if aside.exists():
                shutil.rmtree(aside)
            os.rename(path, aside)
            os.rename(target, path)
            if (aside / VARIANTS).is_dir():  # the variants stay with the finding (see _recover_swaps)
                os.rename(aside / VARIANTS, path / VARIANTS)
            shutil.rmtree(aside, ignore_errors=True)
        return doc

    def _facts(self, fid: str, graph: Graph, inputs: Mapping[str, np.ndarray], model: bytes | None, *, verdict: str, exporter: str,
               opset: int | None, optimize: bool, error_type: str | None, error_message: str | None, evidence, versions: Mapping[str, str],
               component: str, signature: Mapping[str, Any], stage: str | None, worst_index: int | None, **extra: Any) -> ReportFacts:
        """What the report of finding ``fid`` says; the curated files of this store add a title,
        a tracker override, notes and upstream issues (a curated file that does not parse is
        ignored here, so filing never stops on it; ``findings report`` names the error)."""
        try:
            cur, upstream = curation(self.root, fid), upstream_issues(self.root, fid)
        except CuratedFileError:
            cur, upstream = {}, []
        from fuzzer.compare.stages import Stage

        project = cur.get("project") or tracker_for(PROJECT.get(Stage(stage)) if stage in Stage._value2member_map_ else None)
        return ReportFacts(
            finding_id=fid, verdict=verdict, exporter=exporter, opset=opset, optimize=optimize, graph=graph, inputs=inputs, model=model,
            error_type=error_type, error_message=error_message, evidence=evidence, versions=versions, component=component,
            signature_key=signature["key"], stage=stage, project=project, path_ops=tuple(signature.get("path_ops") or ()),
            worst_index=worst_index, title=cur.get("title"), upstream=tuple(upstream), notes=cur.get("notes"), **extra)

    def rewrite_report(self, ref: str | Path, run_script: Callable[[str], tuple[int | None, str]] | None = None,
                       collect_env: str | None = None) -> Path:
        """Re-render ``report.md`` (and the title in ``finding.json``) of a finding from its files.
        ``run_script(source) -> (exit code, output)`` runs the report's inline script in a child
        process; its output goes into the report (for a process crash: the child's stack)."""
        import dataclasses

        path = self.resolve(str(ref)) if not isinstance(ref, Path) else ref
        doc, graph, inputs = load_case(path)
        model = (path / "model.onnx").read_bytes() if (path / "model.onnx").exists() else None
        verdict = doc["verdict"]
        evidence = None if verdict in {v.value for v in PROCESS_VERDICTS} else gather_evidence(graph, inputs, model)
        exporter, opset, optimize = export_options(doc)
        stage = doc.get("stage") or _stage_from_component(doc.get("component", ""), verdict)
        worst = doc.get("worst") or {}
        facts = self._facts(path.name, graph, inputs, model, verdict=verdict, exporter=exporter, opset=opset, optimize=optimize,
                            error_type=doc.get("error_type"), error_message=doc.get("error_message") or doc.get("error_head"),
                            evidence=evidence, versions=doc.get("versions") or stack_versions(), component=doc.get("component", ""),
                            signature=doc["signature"], stage=stage, worst_index=worst.get("index"), collect_env=collect_env,
                            scope=tuple(doc.get("scope") or ()), variants=tuple(doc.get("variants") or ()))
        text = render_report(facts)
        if run_script is not None:
            script = inline_scripts(text)[0]
            code, out = run_script(script)
            text = render_report(dataclasses.replace(facts, script_output=out, script_exit=code))
        with self._locked():
            doc = read_finding(path)
            doc.update(title=report_title(facts), tracker=facts.project, stage=stage)
            atomic_write_text(path / "report.md", text)
            atomic_write_text(path / "finding.json", json.dumps(doc, indent=1, allow_nan=False) + "\n")
            self._reindex(path, doc)
        return path

    def _recover_swaps(self) -> None:
        """Undo a replacement interrupted between its two renames; drop stale staging dirs."""
        if not self.root.exists():
            return
        for p in self.root.iterdir():
            if not p.name.startswith("."):
                continue
            if p.name.endswith(".old") and p.is_dir():
                final = self.root / p.name[1:-4]
                if not final.exists():
                    os.rename(p, final)
                else:
                    if (p / VARIANTS).is_dir() and not (final / VARIANTS).exists():
                        os.rename(p / VARIANTS, final / VARIANTS)
                    shutil.rmtree(p, ignore_errors=True)
            elif p.name.endswith(".partial") and p.is_dir() and time.time() - p.stat().st_mtime > 3600:
                shutil.rmtree(p, ignore_errors=True)  # a writer killed over an hour ago

    # -- status -----------------------------------------------------------------------------------
    def mark(self, ref: str, *, filed: str | None = None, wontfix: str | None = None, fixed: str | None = None) -> Path:
        path = self.resolve(ref)
        with self._locked():
            doc = read_finding(path)
            if filed is not None:
                doc.update(status=Status.FILED.value, filed_url=filed)
            elif wontfix is not None:
                doc.update(status=Status.WONTFIX.value, wontfix_reason=wontfix)
            elif fixed is not None:
                doc.update(status=Status.FIXED.value, fixed_in=fixed)
            atomic_write_text(path / "finding.json", json.dumps(doc, indent=1, allow_nan=False) + "\n")
        return path

    def refresh(self, path: Path, result: "CaseResult") -> bool:
        """Re-render ``path`` (title, report, repro, model, versions) from ``result``, a fresh run of
        the finding's own graph and inputs; False, and nothing written, unless that run still fails
        with the finding's signature."""
        from fuzzer.triage.signature import NotAFailure

        doc, graph, inputs = load_case(path)
        try:
            sig = signature_of(result)
        except NotAFailure:
            return False
        if not matches(sig, doc["signature"]["key"], doc["exporter"]):
            return False
        if sig.key != doc["signature"]["key"]:  # an older finding's per-exporter key: it keeps it (and its id)
            sig = Signature(sig.verdict, doc["exporter"], sig.detail, sig.path_ops)
        case = _Case(graph, inputs, result, sig, doc.get("minimization"), doc.get("status", Status.NEW.value), doc.get("original"))
        with self._locked():
            self._replace(path, case, doc)
        return True

    def store_minimized(self, path: Path, m: "MinimizeResult") -> bool:
        """Replace the reproduction in ``path`` by ``m.best`` if simpler and the same bucket."""
        doc = read_finding(path)
        if not m.reproduced or not matches(m.signature, doc["signature"]["key"], doc["exporter"]):
            return False
        sig = m.signature if m.signature.key == doc["signature"]["key"] else Signature(m.signature.verdict, doc["exporter"], m.signature.detail, m.signature.path_ops)
        case = _Case(m.best.graph, dict(m.best.inputs), m.result, sig, m.stats(), doc["status"])
        case = _Case(case.graph, case.inputs, case.result, case.signature, case.minimization, case.status, doc.get("original"))
        with self._locked():
            self._replace(path, case, doc)
        return True


@dataclass(frozen=True)
class _Case:
    graph: Graph
    inputs: dict
    result: "CaseResult"
    signature: Signature
    minimization: dict | None
    status: str
    original: dict | None = None
    pending: bool = False  # filed raw, awaiting minimization: no evidence gathered (see FindingStore.record)

    def with_original(self, graph: Graph, result: "CaseResult") -> "_Case":
        orig = {"seed": result.seed, "n_ops": len(graph), "ops": graph.ops(), "input_mode": result.input_mode, "meta": dict(graph.meta)}
        return _Case(self.graph, self.inputs, self.result, self.signature, self.minimization, self.status, orig, self.pending)


MAX_FINDING_BYTES = 16 * 1024 * 1024  # a finding.json is a few KiB


def _stage_from_component(component: str, verdict: str) -> str:
    """The stage of a finding written before ``finding.json`` recorded one, from its component line."""
    if "graph optimizations" in component:
        return "ort_optimizer"
    if component.startswith("onnxruntime"):
        return "ort_kernel"
    if verdict in {v.value for v in PROCESS_VERDICTS}:
        return "process"
    return "torchscript_symbolic" if "TorchScript" in component else "translation"


def inline_scripts(report: str) -> list[str]:
    """The inline scripts of a report, in order (each fenced block after the script mark)."""
    from .report import SCRIPT_MARK

    out = []
    for part in report.split(SCRIPT_MARK)[1:]:
        body = part.lstrip("\n")
        if body.startswith("```python\n"):
            out.append(body[len("```python\n"):].split("\n```", 1)[0] + "\n")
    return out

def _repro_dynamic(graph: Graph, result: "CaseResult") -> dict | None:
    """repro.py's DYNAMIC for a dynamic-shape finding (see fuzzer.store.repro), else None."""
    if not export_of(result).get("dynamic"):
        return None
    import base64

    from fuzzer.case.dynamic import failing_size_case
    from fuzzer.export.dynamic import dynamic_dims

    other = failing_size_case(graph, result)
    return {"dims": dynamic_dims({i.name: i.spec.shape for i in graph.inputs}),
            "other": base64.b64encode(npz_bytes(other[1])).decode("ascii") if other is not None else None}


def export_of(result: "CaseResult") -> dict:
    """The export options a case ran with (a variant's own, else the exporter's defaults at the
    requested opset): what a replay or a minimization must export with."""
    ex = (result.options or {}).get("export")
    if isinstance(ex, dict) and ex.get("exporter") == result.exporter:
        out = {"exporter": result.exporter, "opset": ex.get("opset"), "optimize": bool(ex.get("optimize", True))}
        if ex.get("dynamic") is True:
            out["dynamic"] = True
        return out
    return {"exporter": result.exporter, "opset": result.opset_requested, "optimize": True}


def export_options(doc: Mapping[str, Any]) -> tuple[str, int | None, bool]:
    """(exporter, requested opset, optimize) of a finding (older findings: the defaults)."""
    ex = doc.get("export") if isinstance(doc.get("export"), dict) else {}
    opset = ex.get("opset", doc.get("opset_requested"))
    return doc["exporter"], opset, bool(ex.get("optimize", True))


def is_dynamic(doc: Mapping[str, Any]) -> bool:
    """Was the finding exported with dynamic shapes (a replay or minimization must be too)?"""
    ex = doc.get("export") if isinstance(doc.get("export"), dict) else {}
    return ex.get("dynamic") is True


def dynamic_kw(doc: Mapping[str, Any]) -> dict:
    """Keyword arguments for a runner factory: ``{"dynamic": True}`` for a dynamic finding, else none
    (factories that know nothing of dynamic shapes keep working for every other finding)."""
    return {"dynamic": True} if is_dynamic(doc) else {}


def read_finding(path: Path) -> dict[str, Any]:
    """``finding.json`` of ``path``, checked (every field this build reads has its type and a
    known value); :class:`FindingError` names what is wrong, in one line."""
    from fuzzer.ir.serialize import parse_json

    fj = path / "finding.json"
    try:
        if fj.stat().st_size > MAX_FINDING_BYTES:
            raise FindingError(f"{path}: finding.json is larger than {MAX_FINDING_BYTES} bytes")
        doc = parse_json(fj.read_bytes(), f"{path}: corrupt finding.json", FindingError)
    except FileNotFoundError:
        raise FindingError(f"{path}: no finding.json (not a finding directory)") from None
    except IsADirectoryError:
        raise FindingError(f"{path}: finding.json is a directory") from None
    except OSError as e:
        raise FindingError(f"{path}: cannot read finding.json ({e.strerror or e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise FindingError(f"{path}: finding.json is not an onnxfuzz finding")
    if doc.get("version") != VERSION:
        raise FindingError(f"{path}: finding format version {_short(doc.get('version'))} is not supported (this build reads {VERSION})")
    for key in ("signature", "verdict", "exporter", "n_ops", "hits", "status", "title", "first_seen", "last_seen"):
        if key not in doc:
            raise FindingError(f"{path}: finding.json lacks {key!r}")
    _check_fields(path, doc)
    if not (path / "graph.json").exists() or not (path / "inputs.npz").exists():
        raise FindingError(f"{path}: graph.json or inputs.npz is missing")
    return doc


def _short(v: Any, limit: int = 60) -> str:
    r = repr(v)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _check_fields(path: Path, doc: dict) -> None:
    """Types and values of the fields this build reads from a finding.json (see :func:`read_finding`)."""
    from fuzzer.compare import Verdict
    from fuzzer.export import Exporter
    from fuzzer.generate import MODES

    def bad(key: str, want: str) -> FindingError:
        return FindingError(f"{path}: finding.json field {key!r} is {_short(doc.get(key))}, expected {want}")

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63

    sig = doc["signature"]
    if not isinstance(sig, dict) or not isinstance(sig.get("key"), str) or not isinstance(sig.get("id"), str):
        raise bad("signature", "an object with a string key and id")
    if not isinstance(doc["exporter"], str) or doc["exporter"] not in {e.value for e in Exporter}:
        raise bad("exporter", "one of " + ", ".join(e.value for e in Exporter))
    try:
        if not Verdict(doc["verdict"]).is_failure:
            raise bad("verdict", "a failing verdict")
    except (ValueError, TypeError):
        raise bad("verdict", "a verdict name") from None
    status_of(doc)
    for key in ("n_ops", "hits"):
        if not is_int(doc[key]) or doc[key] < 0:
            raise bad(key, "a non-negative integer")
    for key in ("title", "first_seen", "last_seen"):
        if not isinstance(doc[key], str):
            raise bad(key, "a string")
    for key in ("opset", "opset_requested"):
        if doc.get(key) is not None and not (is_int(doc[key]) and 1 <= doc[key] <= 100):
            raise bad(key, "an opset number or null")
    if doc.get("input_mode") is not None and doc["input_mode"] not in MODES:
        raise bad("input_mode", "one of " + ", ".join(MODES))
    raws = doc.get("raw_signatures", [])
    if not isinstance(raws, list) or not all(isinstance(x, str) for x in raws):
        raise bad("raw_signatures", "a list of strings")
    for key in ("minimization", "original"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise bad(key, "an object or null")
    if not isinstance(doc.get("history", []), list):
        raise bad("history", "a list")
    ex = doc.get("export")
    if ex is not None and not (isinstance(ex, dict) and ex.get("exporter") == doc["exporter"] and isinstance(ex.get("optimize", True), bool)
                               and isinstance(ex.get("dynamic", False), bool)
                               and (ex.get("opset") is None or (is_int(ex["opset"]) and 1 <= ex["opset"] <= 100))):
        raise bad("export", "the export options of its exporter")
    if not isinstance(doc.get("awaiting_minimization", False), bool):
        raise bad("awaiting_minimization", "true or false")
    if doc.get("scope") is not None:
        from .scope import check_scope

        if not check_scope(doc["scope"]):
            raise bad("scope", "a list of {axis, variant, state[, verdict, note]} objects")
    if doc.get("absorbed_into") is not None and not (isinstance(doc["absorbed_into"], str) and re.fullmatch(r"[0-9A-Za-z_-]{1,64}", doc["absorbed_into"])):
        raise bad("absorbed_into", "a finding id")


def load_case(path: Path) -> tuple[dict, Graph, dict[str, np.ndarray]]:
    """finding.json, graph and inputs of a finding directory (each checked)."""
    doc = read_finding(path)
    try:
        graph = load_graph(path / "graph.json")
    except GraphFormatError as e:
        raise FindingError(str(e)) from None
    from fuzzer.materialize import materialize_problem

    problem = materialize_problem(graph)
    if problem is not None:  # a newer (or edited) build's finding: say so instead of failing to run it
        raise FindingError(f"{path}: {problem}")
    return doc, graph, load_npz(path / "inputs.npz", graph)


def _test_sleep() -> None:
    s = os.environ.get(SLEEP_ENV)
    if s:
        time.sleep(float(s))
