"""Equal-time campaigns with and without template bias and corpus feedback, compared in one table.

    python scripts/measure_bias.py --seconds 60 --biases 0,0.3,0.6 --feedback off,on

Each configuration runs its own small TorchScript loop for ``--seconds`` (same first seed, same
input mode): graph i comes from ``generate(seed + i, options)`` or, with feedback on, for a share
``--feedback-share`` of the cases from ``next_graph`` (mutating the corpus: the template seeds of
``corpus/seeds`` plus every graph that brought new coverage). Each case runs in a forked child, so
an exporter that kills its process costs one case (counted as a bucket of its own).

Printed per configuration: cases, failures, unique failure buckets (exporter, verdict, error type,
first error line with numbers and quoted names blanked: a stand-in for the signature module),
coverage of the exported models (op types, typed-op triples, bigrams, trigrams, paper sequences of
the reduced list) and each as a ratio to the first configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from fuzzer.campaign import run_graph  # noqa: E402
from fuzzer.coverage import Coverage  # noqa: E402
from fuzzer.export import ExportOptions, Exporter  # noqa: E402
from fuzzer.generate import GenerationError, GeneratorOptions, generate, make_inputs  # noqa: E402
from fuzzer.generate.corpus import SEED_DIR, Corpus, next_graph  # noqa: E402


def bucket(exporter: str, verdict: str, error_type: str | None, head: str | None) -> tuple:
    norm = re.sub(r"'[^']*'|\"[^\"]*\"|\d+(\.\d+)?", "#", head or "")[:80]
    return (exporter, verdict, error_type, norm)


def run_case_isolated(graph, inputs, seed: int) -> tuple[dict, bytes | None]:
    """run_graph (TorchScript) in a forked child: (result summary, model bytes)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            (res,) = run_graph(graph, inputs, [ExportOptions(Exporter.TORCHSCRIPT)], seed=seed)
            head = json.dumps({"verdict": res.verdict.value, "error_type": res.error_type, "error_head": res.error_head, "failure": res.verdict.is_failure}).encode()
            body = res.model or b""
            os.write(w, struct.pack("<II", len(head), len(body)))
            for chunk in (head, body):
                view = memoryview(chunk)
                while view:
                    n = os.write(w, view)
                    view = view[n:]
        except BaseException:  # noqa: BLE001 - the parent reports it
            code = 1
        finally:
            os.close(w)
            os._exit(code)
    os.close(w)
    data = bytearray()
    while True:
        b = os.read(r, 1 << 20)
        if not b:
            break
        data += b
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        return {"verdict": "process_killed", "error_type": sig, "error_head": f"killed by {sig}", "failure": True}, None
    if os.WEXITSTATUS(status) != 0 or len(data) < 8:
        raise RuntimeError(f"case child failed for seed {seed} (our bug)")
    nh, nb = struct.unpack("<II", bytes(data[:8]))
    head = json.loads(bytes(data[8:8 + nh]))
    body = bytes(data[8 + nh:8 + nh + nb]) or None
    return head, body


class _Result:
    def __init__(self, model: bytes | None):
        self.exporter = "torchscript"
        self.model = model


def campaign(seconds: float | None, bias: float, feedback: bool, share: float, seed0: int, max_nodes: int, mode: str, max_cases: int | None = None) -> dict:
    opt = GeneratorOptions(max_nodes=max_nodes, bias=bias)
    corpus = Corpus.load(SEED_DIR) if feedback else None
    rng = random.Random(f"measure/{seed0}")
    cov = Coverage()
    buckets: set[tuple] = set()
    cases = failures = mutants = 0
    t0 = time.monotonic()
    deadline = t0 + seconds if seconds else None
    i = 0
    while (deadline is None or time.monotonic() < deadline) and (max_cases is None or cases < max_cases):
        seed = seed0 + i
        i += 1
        try:
            if corpus is not None and rng.random() < share:
                g = next_graph(rng, corpus, opt, seed=seed)
                mutants += "mutations" in g.meta
            else:
                g = generate(seed, opt)
        except GenerationError:
            continue
        head, model = run_case_isolated(g, make_inputs(g, seed, mode), seed)
        cases += 1
        new = cov.update(_Result(model))
        if corpus is not None and new > 0:
            corpus.add(g, new)
        if head["failure"]:
            failures += 1
            buckets.add(bucket("torchscript", head["verdict"], head["error_type"], head["error_head"]))
    c = cov.by_exporter.get("torchscript")
    paper = cov.paper_share("torchscript", "reduced")[0]
    return {
        "bias": bias, "feedback": feedback, "cases": cases, "seconds": round(time.monotonic() - t0, 1), "failures": failures, "buckets": len(buckets), "mutants": mutants,
        "corpus": len(corpus) if corpus is not None else 0,
        "ops": len(c.ops) if c else 0, "triples": len(c.triples) if c else 0, "bigrams": len(c.bigrams) if c else 0,
        "trigrams": len(c.trigrams) if c else 0, "paper": paper,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="time per configuration")
    ap.add_argument("--cases", type=int, default=None, help="instead of time: cases per configuration (the machine's load then matters less)")
    ap.add_argument("--biases", default="0,0.3", help="comma-separated bias values (the first is the baseline)")
    ap.add_argument("--feedback", default="off,on", help="off, on or off,on")
    ap.add_argument("--feedback-share", type=float, default=0.5, help="share of cases from the corpus when feedback is on")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-nodes", type=int, default=10)
    ap.add_argument("--input-mode", choices=["normal", "special"], default="normal")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    warm = generate(0, GeneratorOptions(max_nodes=3, bias=0.0))
    run_graph(warm, make_inputs(warm, 0), [ExportOptions(Exporter.TORCHSCRIPT)])  # forked children start warm
    rows = []
    for fb in args.feedback.split(","):
        for b in args.biases.split(","):
            row = campaign(None if args.cases else args.seconds, float(b), fb == "on", args.feedback_share, args.seed, args.max_nodes, args.input_mode, args.cases)
            rows.append(row)
            print(json.dumps(row), flush=True)
    base = rows[0]
    budget = f"{args.cases} cases" if args.cases else f"{args.seconds:.0f}s"
    t = Table(title=f"TorchScript campaigns of equal budget ({budget} each, max {args.max_nodes} nodes, {args.input_mode} inputs); ratio to the first row", title_justify="left")
    for col in ("bias", "feedback", "cases", "seconds", "failures", "buckets", "ops", "triples", "bigrams", "trigrams", "paper (/131)"):
        t.add_column(col, justify="right")
    for r in rows:
        def cell(k: str) -> str:
            return f"{r[k]} ({r[k] / base[k]:.2f}x)" if base[k] else str(r[k])
        t.add_row(str(r["bias"]), "on" if r["feedback"] else "off", str(r["cases"]), str(r["seconds"]), cell("failures"), cell("buckets"), cell("ops"), cell("triples"), cell("bigrams"), cell("trigrams"), cell("paper"))
    Console(width=200).print(t)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
