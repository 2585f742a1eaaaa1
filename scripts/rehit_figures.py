"""Issue 17's campaign figures from a campaign directory's ``results.jsonl``.

    python scripts/rehit_figures.py runs/mine --after 300

Counting cases that finished after ``--after`` seconds of campaign time, per exporter, per
exporter and arm (generated graphs, mutants, one-operator jobs) and in all: the share of cases
whose coarse bucket was already seen earlier in the campaign (a re-hit), split into re-hits of
documented limitations and of bugs, and the mean operator count of generated graphs that reached
ONNX Runtime (passed or failed after a session was created). Then the distinct coarse buckets per
exporter by 5/10/20 minutes, also with dynamo crash heads mapped back to the first line they had
before they named their cause (the key issue 16's figures were counted with).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

REACHED_ORT = {"pass", "numeric_mismatch", "shape_or_dtype_mismatch", "ort_run_crash", "ambiguous", "numeric_noise"}


def figures(campaign: Path, after: float) -> dict[str, dict]:
    from fuzzer.triage.limitations import limitation_of_key

    seen: set[str] = set()
    per: dict[str, Counter] = defaultdict(Counter)
    for line in (campaign / "results.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        b = r.get("bucket")
        arm = "ops" if r.get("op_job") is not None else ("mutants" if r.get("mutant") else "graphs")
        if float(r.get("t") or 0) >= after:
            for key in (r["exporter"], f"{r['exporter']}/{arm}", "all"):
                c = per[key]
                c["cases"] += 1
                if b and b in seen:
                    c["rehit"] += 1
                    c["rehit_limitations"] += bool(limitation_of_key(b))
                if r["verdict"] in REACHED_ORT and arm != "ops":
                    c["at_ort"] += 1
                    c["ops_at_ort"] += int(r.get("n_nodes") or 0)
        if b:
            seen.add(b)
    out = {}
    for key, c in sorted(per.items()):
        n = max(1, c["cases"])
        out[key] = {"cases": c["cases"], "rehit": round(c["rehit"] / n, 3), "rehit_limitations": round(c["rehit_limitations"] / n, 3),
                    "rehit_bugs": round((c["rehit"] - c["rehit_limitations"]) / n, 3),
                    "mean_ops_at_ort": round(c["ops_at_ort"] / c["at_ort"], 2) if c["at_ort"] else None}
    return out


#: The first line every dynamo exporter error had, per step, before heads read the error's cause
#: (fuzzer/export/errors.py): the issue's figures were counted with it.
_OLD_DYNAMO_HEADS = {"1/3": "Failed to export the model with torch.export. This is step #/# of",
                     "2/3": "Failed to decompose the FX graph for ONNX compatibility. This is step #/# of",
                     "3/3": "Failed to convert the exported program to an ONNX model. This is step #/# of"}


#: The coarse key's head normalization as it was when issue 16 counted its figures: node names such
#: as ``n0_3`` or ``node_floor`` were kept, so one error at differently named nodes made several
#: buckets (fuzzer/triage/buckets.py blanks them since). Applied to every tree's lines alike.
_OLD_NOISE = re.compile(r"'[^']*'|\"[^\"]*\"|\b(node|n)_\w*\d+\b|(?<!\w)/[A-Za-z_.][\w/.:-]*|(?<![A-Za-z_0-9.])\d+(\.\d+)?(e[-+]?\d+)?")
_SUFFIXES = ("dynamic@", "declared", "blamed: ", "opset drift ")


def _with_head(r: dict, b: str, head: str) -> str:
    """Bucket key ``b`` of line ``r`` with its head (the normalized first line of the error) replaced;
    mismatches are keyed by their worst difference, not a head, and stay as they are."""
    from fuzzer.triage.buckets import _MISMATCHES

    if r.get("verdict") in _MISMATCHES or not r.get("error_head"):
        return b
    parts = b.split("|")
    tail = next((i for i in range(4, len(parts)) if parts[i].startswith(_SUFFIXES)), len(parts))
    return "|".join(parts[:3] + [head] + parts[tail:])


def _old_head(error_head: str) -> str:
    from fuzzer.triage.buckets import ANSI_ESCAPE

    text = ANSI_ESCAPE.sub("", error_head or "").strip()
    return _OLD_NOISE.sub("#", text.splitlines()[0] if text else "")[:120]


def old_bucket(r: dict) -> str | None:
    """The coarse bucket a result had when issue 16 counted its figures: node names kept in the
    head, and dynamo crash heads as they were before they named their cause."""
    b = r.get("bucket")
    if not b:
        return b
    m = re.match(r"step (\d+/\d+)", r.get("error_head") or "")
    if r.get("exporter") == "dynamo" and m is not None and m.group(1) in _OLD_DYNAMO_HEADS:
        return _with_head(r, b, _OLD_DYNAMO_HEADS[m.group(1)])
    return _with_head(r, b, _old_head(r.get("error_head")))


def node_blind_bucket(r: dict) -> str | None:
    """The coarse bucket with this tree's head normalization (node names blanked), whatever tree
    recorded the line: two trees' campaigns counted alike."""
    from fuzzer.triage.buckets import normalize_head

    b = r.get("bucket")
    return _with_head(r, b, normalize_head(r.get("error_head"))) if b else b


def distinct_buckets(campaign: Path, marks: tuple[float, ...] = (300.0, 600.0, 1200.0)) -> dict[str, dict[str, list[int]]]:
    """Per exporter, the distinct coarse buckets seen by each mark (seconds), with the bucket key
    as recorded ("key"), as issue 16 counted it ("old key": :func:`old_bucket`) and with node
    names blanked ("node-blind key": :func:`node_blind_bucket`)."""
    first: dict = defaultdict(dict)
    for line in (campaign / "results.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        for name, b in (("key", r.get("bucket")), ("old key", old_bucket(r)), ("node-blind key", node_blind_bucket(r))):
            if b:
                first[(r["exporter"], name)].setdefault(b, float(r.get("t") or 0))
    out: dict = defaultdict(dict)
    for (exporter, name), seen in sorted(first.items()):
        out[exporter][name] = [sum(1 for t in seen.values() if t <= m) for m in marks]
    return dict(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("campaign", type=Path, help="a campaign directory (holds results.jsonl)")
    ap.add_argument("--after", type=float, default=300.0, help="count cases finished after this many seconds (default: %(default)s)")
    args = ap.parse_args(argv)
    if not (args.campaign / "results.jsonl").is_file():
        print(f"{args.campaign}: no results.jsonl here; give a campaign directory", file=sys.stderr)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    for key, f in figures(args.campaign, args.after).items():
        print(f"{key:22s} cases {f['cases']:7d}  re-hit {f['rehit']:.3f} (limitations {f['rehit_limitations']:.3f}, bugs {f['rehit_bugs']:.3f})"
              + (f"  mean ops at ORT {f['mean_ops_at_ort']}" if f["mean_ops_at_ort"] is not None else ""))
    for exporter, d in distinct_buckets(args.campaign).items():
        print(f"{exporter:22s} distinct buckets by 5/10/20 min: {'/'.join(map(str, d['key']))} "
              f"(old key, dynamo crash heads as before: {'/'.join(map(str, d['old key']))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
