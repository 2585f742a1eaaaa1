"""Torture a campaign: SIGKILL its supervisor at random moments, resume it each time, and check
after every round that nothing was lost, repeated, left running or left behind (issue 21).

Usage: python scripts/torture.py [--rounds 200] [--cases 200] [--exporter both] [--workers 2]
                                 [--max-nodes 6] [--minimize-seconds 5] [--seed 0] [--dir DIR]
                                 [--max-wait 12]

One campaign (``--cases`` graphs per exporter, special inputs, minimization on) is started, killed
with SIGKILL at a moment of the round's kind, and resumed (``onnxfuzz fuzz --resume DIR``), round
after round; when the budget is spent before the rounds are, a new campaign starts (with the next
seed range). Kinds of kill point, drawn in turn: a random moment (start-up and export included),
during minimization (once the minimizer process runs), during a store write (a test hook slows
finding writes down: ONNXFUZZ_TEST_SLEEP_IN_STAGING), right after a worker death (a process_crash,
hang or out_of_memory line appears), and during resume itself (within its first two seconds).

Invariants, checked after every round (the campaign's processes run with TMPDIR set to a
directory of their own):

- results.jsonl records no case twice (per exporter, each seed of the budget at most once; after
  the final, unkilled run of each campaign, exactly once);
- every failing case is filed in the findings store under its case key, or counted with a reason
  (a mismatch not confirmed, a dead case whose graph could not be rebuilt);
- every finding directory loads (finding.json, graph, inputs), and the store reports no problem;
- no process of the campaign is alive 2 s after the supervisor is gone (its descendants, and any
  process carrying the round's TMPDIR);
- no directory left in that TMPDIR.

Prints one line per round (kill point, seconds, cases so far, violations) and the totals; exit code
1 if any invariant was violated. The short version runs in the test suite
(tests/e2e/test_torture.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("random", "minimizing", "store write", "worker death", "resume start-up")
DEATHS = ("process_crash", "hang", "out_of_memory")


def campaign_args(out: Path, args, first: bool, seed: int) -> list[str]:
    if not first:
        return ["fuzz", "--resume", str(out)]
    return ["fuzz", "--out", str(out), "--exporter", args.exporter, "--cases", str(args.cases), "--workers", str(args.workers),
            "--max-nodes", str(args.max_nodes), "--input-mode", "special", "--minimize-seconds", str(args.minimize_seconds),
            "--seed", str(seed)]


def run_round(out: Path, argv: list[str], kind: str, rng: random.Random, systmp: Path, max_wait: float) -> tuple[dict, list[str]]:
    """Start the campaign, kill it at a moment of ``kind`` (unless it ends first), check the
    process invariants. Returns (facts about the round, violations)."""
    from fuzzer.workers.lifetime import alive, descendants

    env = {**os.environ, "TMPDIR": str(systmp), "PYTHONPATH": str(ROOT)}
    if kind == "store write":
        env["ONNXFUZZ_TEST_SLEEP_IN_STAGING"] = "0.3"
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-m", "fuzzer", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    seen: set[int] = set()
    # the other kinds wait for their moment, 25 s at most (then it is a random moment after all)
    limit = t0 + {"resume start-up": rng.uniform(0.05, 2.0), "random": rng.uniform(0.3, max_wait), "none": float("inf")}.get(kind, 25.0)
    lines_before = _count_lines(out / "results.jsonl")
    partial_before = {q.name for q in _listdir(out / "findings") if q.name.endswith(".partial")}  # a killed run's leftovers
    killed = False
    while p.poll() is None:
        seen |= descendants(p.pid)
        now = time.monotonic()
        hit = now >= limit
        if kind == "minimizing" and not hit:
            hit = any("minimize_one" in _cmdline(x) for x in seen if alive(x)) and rng.random() < 0.15
        elif kind == "store write" and not hit:
            hit = any(q.name.endswith(".partial") and q.name not in partial_before for q in _listdir(out / "findings"))
        elif kind == "worker death" and not hit:
            hit = any(json.loads(x).get("verdict") in DEATHS for x in _new_lines(out / "results.jsonl", lines_before))
        if hit:
            seen |= descendants(p.pid)
            os.kill(p.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    _, err = p.communicate()
    ended = time.monotonic()
    violations = []
    if not killed and p.returncode != 0:
        violations.append(f"the campaign ended with exit code {p.returncode}: {err.decode(errors='replace')[-500:]}")
    if killed and b"Traceback" in err:
        violations.append(f"a traceback before the kill: {err.decode(errors='replace')[-500:]}")
    time.sleep(2.0)
    left = sorted({x for x in seen if alive(x)} | set(_with_env("TMPDIR", str(systmp))) | set(_with_env("TMPDIR", str(out / ".tmp"), prefix=True)))
    left = [x for x in left if x != os.getpid()]
    if left:
        violations.append("alive 2 s after the supervisor: " + "; ".join(f"{x} {_cmdline(x)[:100]}" for x in left))
        for x in left:  # ours: do not let them disturb the next rounds
            try:
                os.kill(x, signal.SIGKILL)
            except ProcessLookupError:
                pass
    dirs = [q.name for q in _listdir(systmp) if q.is_dir() or q.name.startswith("onnxfuzz")]
    if dirs:
        violations.append(f"left in TMPDIR: {dirs[:5]}")
    return {"killed": killed, "seconds": round(ended - t0, 2), "processes": len(seen)}, violations


def check_campaign(out: Path, cases: int | None, seed: int, final: bool) -> list[str]:
    """The store and record invariants of a campaign directory (see the module docstring)."""
    from fuzzer.campaign import read_results
    from fuzzer.campaign.recorder import line_case_key
    from fuzzer.compare import Verdict
    from fuzzer.store import FindingError, FindingStore, load_case

    violations = []
    if not (out / "campaign.json").exists():
        return []  # killed before the campaign began: nothing recorded (and nothing to create here)
    try:
        lines = read_results(out / "results.jsonl")
    except Exception as e:  # noqa: BLE001 - a violation, reported
        return [f"results.jsonl unreadable: {e}"]
    seen: dict[str, set] = {}
    for x in lines:
        key = line_case_key(x)
        if key in seen.setdefault(x["exporter"], set()):
            violations.append(f"recorded twice: {key}")
        seen[x["exporter"]].add(key)
    if final and cases is not None:
        for exporter, keys in seen.items():
            want = {f"{exporter}/{s}" for s in range(seed, seed + cases)}
            if keys != want:
                violations.append(f"{exporter}: {len(want - keys)} seeds of the budget missing, {len(keys - want)} extra")
    store = FindingStore(out / "findings")
    try:
        filed = store.case_index()
        for x in lines:
            if not Verdict(x["verdict"]).is_failure:
                continue
            unconfirmed = (x.get("confirmation") or {}).get("status", "confirmed") != "confirmed"
            if line_case_key(x) not in filed and not unconfirmed and x.get("n_nodes"):
                violations.append(f"failing case neither filed nor counted with a reason: {line_case_key(x)} {x['verdict']}")
        store.list()
        violations += [f"store problem: {p}" for p in store.problems]
        for d in _listdir(out / "findings"):
            if d.is_dir() and not d.name.startswith("."):
                try:
                    load_case(d)
                except FindingError as e:
                    violations.append(f"finding does not load: {e}")
    finally:
        store.close()
    return violations


def torture(args, log=print) -> tuple[int, int, list[str]]:
    """Run the rounds; returns (rounds, kill points, violations)."""
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="onnxfuzz-torture-"))
    rng = random.Random(args.seed)
    systmp = base / "systmp"
    systmp.mkdir(parents=True, exist_ok=True)
    violations: list[str] = []
    kills = 0
    campaign = 0
    out, first, seed = base / "c0", True, 0
    for k in range(args.rounds):
        kind = KINDS[k % len(KINDS)] if not first else "random"
        facts, v = run_round(out, campaign_args(out, args, first, seed), kind, rng, systmp, args.max_wait)
        # killed before it wrote campaign.json (its first start-up): nothing to resume, start it again
        first = not (out / "campaign.json").exists()
        kills += facts["killed"]
        done = not facts["killed"]
        v += check_campaign(out, args.cases, seed, final=done)
        violations += [f"round {k}: {x}" for x in v]
        n = _count_lines(out / "results.jsonl")
        log(f"round {k:4d}  {kind:<16} {'killed' if facts['killed'] else 'ended '} after {facts['seconds']:6.2f}s  "
            f"{facts['processes']:2d} processes  {n:5d} cases  violations {len(v)}" + (f": {v[0][:200]}" if v else ""))
        if done:  # the budget is spent: the next rounds torture a new campaign
            campaign += 1
            out, first, seed = base / f"c{campaign}", True, seed + args.cases
    if not first:  # finish the last campaign without a kill: the whole budget, exactly once
        facts, v = run_round(out, campaign_args(out, args, False, seed), "none", rng, systmp, args.max_wait)
        v += check_campaign(out, args.cases, seed, final=True)
        violations += [f"final run: {x}" for x in v]
        log(f"final run: {'ended' if not facts['killed'] else 'killed?'} after {facts['seconds']:.2f}s, {_count_lines(out / 'results.jsonl')} cases, "
            f"violations {len(v)}" + (f": {v[0][:200]}" if v else ""))
    return args.rounds, kills, violations


def _count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def _new_lines(path: Path, skip: int) -> list[bytes]:
    try:
        return [x for x in path.read_bytes().split(b"\n")[skip:-1] if x.strip()]
    except OSError:
        return []


def _listdir(d: Path) -> list[Path]:
    try:
        return list(d.iterdir())
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _with_env(key: str, value: str, prefix: bool = False) -> list[int]:
    """Processes whose environment sets ``key`` to ``value`` (or a path under it, with ``prefix``)."""
    want = f"{key}={value}".encode()
    out = []
    for e in _listdir(Path("/proc")):
        if not e.name.isdigit():
            continue
        try:
            env = (e / "environ").read_bytes().split(b"\0")
            stat = (e / "stat").read_bytes()
        except OSError:
            continue
        if stat.rsplit(b")", 1)[-1].split()[:1] == [b"Z"]:
            continue
        if any(x == want or (prefix and x.startswith(want)) for x in env):
            out.append(int(e.name))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--cases", type=int, default=200, help="graphs per exporter of each campaign")
    ap.add_argument("--exporter", choices=["torchscript", "dynamo", "both"], default="both")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-nodes", type=int, default=6)
    ap.add_argument("--minimize-seconds", type=float, default=5.0)
    ap.add_argument("--max-wait", type=float, default=12.0, help="latest random kill point, seconds after a start")
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill points")
    ap.add_argument("--dir", help="where the campaigns go (default: a new temporary directory)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    t0 = time.monotonic()
    rounds, kills, violations = torture(args)
    print(f"{rounds} rounds, {kills} kill points, {len(violations)} invariant violations in {time.monotonic() - t0:.0f}s")
    for v in violations:
        print("  " + v)
    return 1 if violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
