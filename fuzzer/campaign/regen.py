"""Rebuild a seed's graph and inputs in a process of its own.

``python -m fuzzer.campaign.regen SEED GENERATOR_JSON INPUT_MODE OUT_DIR`` writes
``OUT_DIR/graph.json`` and ``OUT_DIR/inputs.npz``. Used when a worker died on a case: generation
probe-runs eager PyTorch, and if that is what killed the worker it must not kill the campaign.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    seed, gen_json, mode, out = int(argv[0]), argv[1], argv[2], Path(argv[3])
    from fuzzer.campaign.artifacts import save_inputs
    from fuzzer.generate import GeneratorOptions, generate, make_inputs
    from fuzzer.ir import save_graph

    opts = GeneratorOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(gen_json).items()})
    graph = generate(seed, opts)
    out.mkdir(parents=True, exist_ok=True)
    save_inputs(out / "inputs.npz", make_inputs(graph, seed, mode))
    save_graph(graph, out / "graph.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
