"""``onnxfuzz gen`` (one graph as JSON or PyTorch source) and ``onnxfuzz check`` (run one graph, print the verdict)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .common import EXIT_FAILURE_FOUND, EXIT_INVALID_GRAPH, EXIT_OK, UsageError, bias, exporters, generator_options, nonneg_int, opset, positive_int


def add_parsers(sub) -> None:
    g = sub.add_parser("gen", help="generate one graph and write it as JSON")
    g.add_argument("--seed", type=nonneg_int, default=0)
    g.add_argument("--max-nodes", type=positive_int, default=10)
    g.add_argument("--bias", type=bias, default=None, help="chance per growth step of planting a paper-sequence template (0: uniform; default: the generator's)")
    g.add_argument("--rewrite-share", type=bias, default=None, help="chance per growth step of planting a rewrite template (0: none; default: the generator's)")
    g.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    g.add_argument("--source", action="store_true", help="print the PyTorch source of the graph instead of JSON")

    g.set_defaults(run=cmd_gen)

    from fuzzer.campaign import CampaignConfig

    mode = CampaignConfig().input_mode  # the library's default, as for fuzz
    c = sub.add_parser("check", help="run one graph through the exporter(s) and report the verdict")
    c.add_argument("graph", type=Path, help="graph.json (from 'gen' or a campaign's case directory)")
    c.add_argument("--exporter", choices=["torchscript", "dynamo", "both"], default="both")
    c.add_argument("--opset", type=opset, default=None, help="opset to request (default: the exporter's own)")
    c.add_argument("--dynamic", action="store_true", help="export with dynamic input sizes and also run the model at other sizes (README, \"Dynamic shapes\")")
    c.add_argument("--inputs", type=Path, help="inputs .npz (default: inputs.npz beside the graph, else generated from the seed)")
    c.add_argument("--seed", type=nonneg_int, help="seed for generated inputs (default: the graph's own seed)")
    c.add_argument("--input-mode", choices=["normal", "special"], default=mode,
                   help=f"how generated inputs are drawn (see 'fuzz --help'; default: {mode}); a stored inputs.npz is used as it is")
    c.add_argument("--json", action="store_true", help="print the case records as JSON")
    c.add_argument("--in-process", action="store_true", help="run in this process instead of an isolated worker (a crashing case then ends onnxfuzz itself)")
    c.add_argument("--store", type=Path, default=None, metavar="DIR",
                   help="file each failing case into this findings store, as it is (shrink it with 'findings minimize')")

    c.set_defaults(run=cmd_check)


def cmd_gen(args) -> int:
    from fuzzer.generate import generate
    from fuzzer.ir import graph_to_json, save_graph
    from fuzzer.materialize import graph_to_source

    graph = generate(args.seed, generator_options(args))
    text = graph_to_source(graph) if args.source else graph_to_json(graph) + "\n"
    if args.output:
        try:
            if args.source:
                args.output.write_text(text)
            else:
                save_graph(graph, args.output)
        except OSError as e:
            raise UsageError(f"cannot write {args.output}: {e.strerror or e}") from None
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_check(args) -> int:
    from rich.console import Console

    from fuzzer.case import load_inputs, run_graph
    from fuzzer.workers import run_isolated
    from fuzzer.compare import Verdict
    from fuzzer.export import ExportOptions
    from fuzzer.generate import make_inputs
    from fuzzer.ir import load_graph

    from fuzzer.materialize import materialize_problem
    from fuzzer.store.npz import check_npz

    graph = load_graph(args.graph)  # checked: well-formed, bounded sizes
    problem = materialize_problem(graph)
    if problem is not None:
        raise UsageError(f"{args.graph}: {problem}")
    sibling = args.graph.parent / "inputs.npz"
    if args.inputs is not None:
        check_npz(args.inputs)
        inputs, source = load_inputs(args.inputs, graph), str(args.inputs)
    elif sibling.exists() and args.seed is None:
        check_npz(sibling)
        inputs, source = load_inputs(sibling, graph), str(sibling)
    else:
        seed = args.seed if args.seed is not None else graph.meta.get("seed") or 0  # an int (checked on load) or absent
        inputs, source = make_inputs(graph, seed, args.input_mode), f"generated (seed {seed}, mode {args.input_mode})"
    exports = [ExportOptions(e, args.opset, dynamic=args.dynamic) for e in exporters(args.exporter)]
    if args.in_process:
        results = run_graph(graph, inputs, exports, seed=graph.meta.get("seed"), input_mode=args.input_mode)
    else:
        results = run_isolated(graph, inputs, exports, args.input_mode)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=1, default=str))
    else:
        con = Console()
        con.print(f"graph {args.graph}: {len(graph)} ops ({', '.join(graph.ops())}); inputs: {source}", highlight=False)
        from fuzzer.cli.ui import VERDICT_STYLE

        for r in results:
            con.print(f"  {r.exporter:<11} opset {r.opset!s:<4} [{VERDICT_STYLE[r.verdict]}]{r.verdict.value}[/]", highlight=False)
            if r.verdict is not Verdict.PASS:
                con.print(f"    {r.error_type or ''} {(r.error_head or '')}".rstrip(), highlight=False, markup=False)
    if args.store is not None:
        from fuzzer.store import FindingStore

        store = FindingStore(args.store)
        for r in results:
            if r.verdict.is_failure:
                fid, new = store.record(graph, inputs, r)
                print(f"  {r.exporter}: filed as {fid} in {args.store} ({'new' if new else 'known'} bug)")
    if any(r.verdict is Verdict.EAGER_ERROR for r in results):
        return EXIT_INVALID_GRAPH
    return EXIT_FAILURE_FOUND if any(r.verdict.is_failure for r in results) else EXIT_OK


