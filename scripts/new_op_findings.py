#!/usr/bin/env python3
"""Findings in operators the old catalog could not express (issue 18).

Usage: python scripts/new_op_findings.py STORE [--json]

The old catalog is the hand-written one of ``fuzzer/catalog/ops.py`` and ``composite.py``; every
other entry of ``fuzzer.catalog.CATALOG`` is new, with a source: ``opdb`` (derived from PyTorch's
op_db), ``pyops`` (Python operators, tensor methods, indexing, in-place forms) or ``modules``
(``torch.nn`` modules). A finding counts when its graph (finding.json ``ops``) uses at least one
new entry; a finding with ``limitation`` set is a documented limitation, any other is a bug.

Printed: such findings by verdict (bugs, limitations), and the distinct new catalog entries and
distinct PyTorch callables/modules (``torch.nn.functional.pad``, ``Tensor.__floordiv__``,
``torch.nn.Linear``, ...) with at least one finding, per source, for bugs alone and for bugs and
limitations together; "callables no old entry calls" leaves out callables an old entry also calls
(with other arguments). Exit code 0, or 2 (one line on stderr) when STORE is not a findings store.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SOURCES = ("opdb", "pyops", "modules")

_BINARY = {">>": "rshift", "<<": "lshift", "//": "floordiv", "%": "mod", "@": "matmul", "/": "truediv", "**": "pow",
           "&": "and", "|": "or", "^": "xor", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne",
           "+": "add", "-": "sub", "*": "mul"}
_UNARY = {"~": "__invert__", "-": "__neg__", "abs": "__abs__"}


def callable_of(template: str, module: str = "") -> str:
    """The PyTorch callable an entry's template calls: ``torch.x.y``, ``Tensor.meth`` or a module
    class (``torch.nn.Linear``); Python operators as the Tensor dunder they call."""
    if module:
        m = re.match(r"\s*([\w.]+)\s*\(", module)
        return m.group(1) if m else module
    t = template.strip()
    if m := re.match(r"(torch(?:\.\w+)+)\s*\(", t):
        return m.group(1)
    if re.match(r"\{out\} = \{0\}\.clone\(\); \{out\}\[", t):
        return "Tensor.__setitem__"
    if m := re.match(r"\{out\} = \{0\}\.clone\(\); \{out\} (\S+)= ", t):
        return f"Tensor.__i{_BINARY.get(m.group(1), m.group(1))}__"
    if t.startswith("{0}["):
        return "Tensor.__getitem__"
    if m := re.match(r"\{0\}(?:\.clone\(\))?\.(\w+)", t):
        return f"Tensor.{m.group(1)}"
    if m := re.fullmatch(r"\((\{\w+\}) (\S+) (\{\w+\})\)", t):
        name = _BINARY.get(m.group(2), m.group(2))
        return f"Tensor.__r{name}__" if m.group(1) != "{0}" else f"Tensor.__{name}__"
    if m := re.fullmatch(r"\(?(~|-|abs\()\{0\}\)?\)?", t):
        return "Tensor." + _UNARY[m.group(1).rstrip("(")]
    return t.split("(")[0] or t


def catalog_sources() -> tuple[set[str], dict[str, str], dict[str, str]]:
    """(old entry names, new entry name -> source, entry name -> callable) for every catalog entry."""
    from fuzzer.catalog import CATALOG, composite, modules, ops, pyops

    old = {o.name for o in ops.OPS + composite.OPS}
    py = {o.name for o in pyops.OPS}
    mod = {o.name for o in modules.OPS}
    source = {}
    for name, spec in CATALOG.items():
        if name in old:
            continue
        source[name] = ("pyops" if name in py else "modules" if name in mod or spec.family == "module"
                        else "opdb" if spec.family == "opdb" else "pyops")
    calls = {name: callable_of(spec.template, spec.module) for name, spec in CATALOG.items()}
    return old, source, calls


def read_store(store: Path) -> list[dict]:
    """Every finding.json under ``store`` (one directory per finding). Raises ValueError for a path
    that is not a findings store or a finding.json that is not a finding."""
    if not store.is_dir():
        raise ValueError(f"{store}: not a directory")
    docs = []
    for f in sorted(store.glob("*/finding.json")):
        try:
            doc = json.loads(f.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{f}: unreadable ({type(e).__name__})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("ops"), list) or not isinstance(doc.get("verdict"), str):
            raise ValueError(f"{f}: not a finding (no ops or verdict)")
        docs.append(doc)
    if not docs:
        raise ValueError(f"{store}: no finding.json in its subdirectories (not a findings store)")
    return docs


def count(docs: list[dict]) -> dict:
    """The counts the script prints, as plain JSON-able data."""
    old, source, calls = catalog_sources()
    old_calls = {calls[n] for n in old if n in calls}
    out: dict = {"findings": len(docs), "bugs": 0, "limitations": 0, "new": {}}
    per = {kind: {"findings": 0, "single_op": 0, "only_new": 0, "flaky": 0, "verdicts": Counter(),
                  "entries": {s: set() for s in SOURCES}, "callables": {s: set() for s in SOURCES}, "by_verdict": {}, "single": set()}
           for kind in ("bugs", "limitations")}
    unknown: set[str] = set()
    for doc in docs:
        kind = "limitations" if doc.get("limitation") else "bugs"
        out[kind] += 1
        names = [n for n in doc["ops"] if isinstance(n, str)]
        unknown |= {n for n in names if n not in old and n not in source}
        new = [n for n in names if n in source]
        if not new:
            continue
        p = per[kind]
        p["findings"] += 1
        p["single_op"] += len(set(names)) == 1
        if len(set(names)) == 1:
            p["single"].update(new)
        p["only_new"] += all(n in source for n in names)
        p["flaky"] += doc.get("status") == "flaky"
        p["verdicts"][doc["verdict"]] += 1
        p["by_verdict"].setdefault(doc["verdict"], set()).update(new)
        for n in new:
            p["entries"][source[n]].add(n)
            p["callables"][source[n]].add(calls[n])
    for kind, p in per.items():
        out["new"][kind] = {
            "findings": p["findings"], "single_op": p["single_op"], "only_new": p["only_new"], "flaky": p["flaky"],
            "verdicts": dict(sorted(p["verdicts"].items())),
            "entries": {s: sorted(v) for s, v in p["entries"].items()},
            "callables": {s: sorted(v) for s, v in p["callables"].items()},
            "entries_single_op": sorted(p["single"]),
            "entries_by_verdict": {v: sorted(e) for v, e in sorted(p["by_verdict"].items())},
        }
    both = {"entries": {}, "callables": {}}
    for what in ("entries", "callables"):
        for s in SOURCES:
            both[what][s] = sorted(set(out["new"]["bugs"][what][s]) | set(out["new"]["limitations"][what][s]))
    out["new"]["bugs+limitations"] = both
    for kind in ("bugs", "bugs+limitations"):
        allc = set().union(*out["new"][kind]["callables"].values())
        out["new"][kind]["callables_not_old"] = sorted(allc - old_calls)
    out["unknown_ops"] = sorted(unknown)
    return out


def show(c: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    b, lim, both = c["new"]["bugs"], c["new"]["limitations"], c["new"]["bugs+limitations"]
    con.print(f"{c['findings']} findings: {c['bugs']} bugs, {c['limitations']} documented limitations")
    t = Table(title="findings whose graph uses at least one new catalog entry")
    for col in ("", "bugs", "limitations"):
        t.add_column(col, justify="right" if col else "left")
    t.add_row("findings", str(b["findings"]), str(lim["findings"]))
    t.add_row("  one-operator", str(b["single_op"]), str(lim["single_op"]))
    t.add_row("  only new entries", str(b["only_new"]), str(lim["only_new"]))
    t.add_row("  status flaky", str(b["flaky"]), str(lim["flaky"]))
    for v in sorted(set(b["verdicts"]) | set(lim["verdicts"])):
        t.add_row(f"  {v}", str(b["verdicts"].get(v, 0)), str(lim["verdicts"].get(v, 0)))
    t.add_row("distinct new entries, by verdict", "", "")
    for v in sorted(set(b["entries_by_verdict"]) | set(lim["entries_by_verdict"])):
        t.add_row(f"  {v}", str(len(b["entries_by_verdict"].get(v, ()))), str(len(lim["entries_by_verdict"].get(v, ()))))
    con.print(t)
    t = Table(title="distinct new operators with at least one finding")
    for col in ("source", "entries (bugs)", "entries (bugs+lim.)", "callables (bugs)", "callables (bugs+lim.)"):
        t.add_column(col, justify="left" if col == "source" else "right")
    for s in SOURCES:
        t.add_row(s, str(len(b["entries"][s])), str(len(both["entries"][s])), str(len(b["callables"][s])), str(len(both["callables"][s])))
    n = lambda d: str(len(set().union(*map(set, d.values()))))  # noqa: E731
    t.add_row("all", n(b["entries"]), n(both["entries"]), n(b["callables"]), n(both["callables"]))
    con.print(t)
    single = len(b["entries_single_op"]), len(set(b["entries_single_op"]) | set(lim["entries_single_op"]))
    con.print(f"new entries with a one-operator finding: {single[0]} (bugs), {single[1]} (bugs+limitations)")
    con.print(f"callables no old entry calls: {len(b['callables_not_old'])} (bugs), {len(both['callables_not_old'])} (bugs+limitations)")
    if c["unknown_ops"]:
        con.print(f"[yellow]ops not in this catalog (not counted): {', '.join(c['unknown_ops'])}[/yellow]")


def main() -> int:
    p = argparse.ArgumentParser(description="Count findings in catalog entries the old hand-written catalog lacks (opdb, pyops, modules).")
    p.add_argument("store", type=Path, help="a findings store: one directory per finding, each with finding.json")
    p.add_argument("--json", action="store_true", help="print the counts and the names as JSON instead of tables")
    args = p.parse_args()
    try:
        docs = read_store(args.store)
    except ValueError as e:
        print(f"new_op_findings: {e}", file=sys.stderr)
        return 2
    c = count(docs)
    if args.json:
        print(json.dumps(c, indent=1))
    else:
        show(c)
    return 0


if __name__ == "__main__":
    sys.exit(main())
