"""``onnxfuzz catalog``: what the generator can produce against what each exporter registers.

Per exporter (the TorchScript symbolic registry, ONNX Script's torchlib table), every registered
ATen op: reached by which catalog entries, or not and why (:mod:`fuzzer.coverage.reach`), with
totals; and the catalog's own size (entries, distinct callables and modules, op_db entries kept,
shadowed by hand-written ones, or skipped with a reason).
"""

from __future__ import annotations

import json

from .common import EXIT_OK

EXPORTERS = ("torchscript", "dynamo")


def add_parsers(sub) -> None:
    c = sub.add_parser("catalog", help="list what the generator can produce against what each exporter registers (reach per ATen op)")
    c.add_argument("--exporter", choices=("both",) + EXPORTERS, default="both", help="which registry (default: both)")
    c.add_argument("--show", choices=("summary", "unreached", "all"), default="summary",
                   help="summary: totals and the unexplained misses; unreached: every op not reached; all: every registered op")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.set_defaults(run=cmd_catalog)


def build_report(exporters: tuple[str, ...]) -> dict:
    from fuzzer.catalog import CATALOG, HAND_WRITTEN, OPS, opdb
    from fuzzer.coverage.reach import distinct_callables, reach_report, reach_table
    from fuzzer.export.registries import REGISTRIES

    reach = reach_report({e: REGISTRIES[e]() for e in exporters})
    table = opdb.load_table()["ops"]
    derived = [o for o in OPS if o.family == "opdb"]
    return {
        "catalog": {
            "entries": len(CATALOG),
            "hand_written": len(HAND_WRITTEN),
            "derived": len(derived),
            "modules": sum(1 for o in OPS if o.module),
            "distinct_callables": len(distinct_callables(OPS)),
            "opdb_infos": len(table),
            "opdb_kept": len(table) - len(opdb.SHADOWED) - len(opdb.skipped()),
            "opdb_shadowed": len(opdb.SHADOWED),
            "opdb_skipped": len(opdb.skipped()),
            "reach_table_entries": len(reach_table()),
        },
        "exporters": {
            e: {
                "registered": r.registered, "reached": r.reached, "not_reached_with_reason": r.excused,
                "unexplained": r.unexplained, "share": round(r.share, 4),
                "ops": [{"aten": o.aten, "reached_by": list(o.reached_by), "reason": o.reason} for o in r.ops],
            }
            for e, r in reach.items()
        },
    }


def cmd_catalog(args) -> int:
    exporters = EXPORTERS if args.exporter == "both" else (args.exporter,)
    rep = build_report(exporters)
    if args.json:
        print(json.dumps(rep, indent=1))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    con = Console(highlight=False)
    c = rep["catalog"]
    con.print(f"catalog: {c['entries']} entries ({c['hand_written']} hand-written, {c['derived']} derived from op_db, "
              f"{c['modules']} torch.nn modules), {c['distinct_callables']} distinct callables and modules", soft_wrap=True)
    con.print(f"op_db: {c['opdb_infos']} OpInfos: {c['opdb_kept']} derived, {c['opdb_shadowed']} left to a hand-written entry, "
              f"{c['opdb_skipped']} skipped with a reason", soft_wrap=True)
    t = Table(title="registered ATen ops reached by the generator")
    # reach = reached / (registered - not reached for a stated reason)
    for col in ("exporter", "registered", "reached", "excused", "unexplained", "reach"):
        t.add_column(col, justify="right" if col != "exporter" else "left")
    for e, r in rep["exporters"].items():
        t.add_row(e, str(r["registered"]), str(r["reached"]), str(r["not_reached_with_reason"]), str(r["unexplained"]), f"{r['share']:.1%}")
    con.print(t)
    con.print("excused: not reached for a stated reason; reach: reached / (registered - excused)", soft_wrap=True)
    for e, r in rep["exporters"].items():
        if args.show == "summary":
            rows = [o for o in r["ops"] if not o["reached_by"] and not o["reason"]]
            title = f"{e}: not reached, no stated reason"
        elif args.show == "unreached":
            rows = [o for o in r["ops"] if not o["reached_by"]]
            title = f"{e}: not reached"
        else:
            rows = r["ops"]
            title = f"{e}: every registered op"
        if not rows:
            continue
        t = Table(title=title)
        t.add_column("aten op")
        t.add_column("reached by / why not")
        for o in rows:
            t.add_row(o["aten"], ", ".join(o["reached_by"]) if o["reached_by"] else (o["reason"] or "-"))
        con.print(t)
    return EXIT_OK
