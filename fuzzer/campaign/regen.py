"""Rebuild a case's graph and inputs in a process of its own.

``python -m fuzzer.campaign.regen SEED GENERATOR_JSON INPUT_MODE OUT_DIR [MUTANT_JSON]`` writes
``OUT_DIR/graph.json`` and ``OUT_DIR/inputs.npz``. Used when a worker died on a case: generation
probe-runs eager PyTorch, and if that is what killed the worker it must not kill the campaign.
With ``MUTANT_JSON`` (a file ``{"parent": graph | null, "donor": graph | null}``) the case is a
mutant with mutation seed SEED, rebuilt by the same :func:`~fuzzer.generate.corpus.mutant_case`
call as in the worker.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    seed, gen_json, mode, out = int(argv[0]), argv[1], argv[2], Path(argv[3])
    from fuzzer.campaign.artifacts import save_inputs
    from fuzzer.generate import GeneratorOptions, generate, make_inputs
    from fuzzer.generate.corpus import mutant_case
    from fuzzer.ir import graph_from_dict, save_graph

    opts = GeneratorOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(gen_json).items()})
    if len(argv) > 4:
        doc = json.loads(Path(argv[4]).read_text(encoding="utf-8"))
        parent, donor = (graph_from_dict(doc[k]) if doc.get(k) else None for k in ("parent", "donor"))
        graph = mutant_case(parent, donor, seed, opts)
    else:
        graph = generate(seed, opts)
    out.mkdir(parents=True, exist_ok=True)
    save_inputs(out / "inputs.npz", make_inputs(graph, seed, mode))
    save_graph(graph, out / "graph.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
