"""Rebuild a case's graph and inputs after the worker running it died.

Generation and mutation are deterministic, so a seed (or a mutation seed with its parent and donor
graphs) gives back the case. Generation probe-runs eager PyTorch, and if that is what killed the
worker it must not kill the campaign, so rebuilding happens in another process: a pool worker
(request kind ``"regen"``, :mod:`fuzzer.campaign.worker`), or, when the campaign is ending,

``python -m fuzzer.campaign.regen SEED GENERATOR_JSON INPUT_MODE OUT_DIR [MUTANT_JSON]``

Both write ``OUT_DIR/graph.json`` and ``OUT_DIR/inputs.npz`` through :func:`rebuild_case`. With a
mutant (``{"parent": graph | null, "donor": graph | null}``) the case is rebuilt by the same
:func:`~fuzzer.generate.corpus.mutant_case` call as in the worker, SEED being the mutation seed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Mapping


def rebuild_case(seed: int, generator: Mapping[str, Any], input_mode: str, out: Path, mutant: Mapping[str, Any] | None = None) -> None:
    """Write the case's ``graph.json`` and ``inputs.npz`` into ``out`` (created if missing)."""
    from fuzzer.campaign.artifacts import save_inputs
    from fuzzer.generate import GeneratorOptions, generate, make_inputs
    from fuzzer.generate.corpus import mutant_case
    from fuzzer.ir import graph_from_dict, save_graph

    opts = GeneratorOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in generator.items()})
    if mutant is not None:
        parent, donor = (graph_from_dict(mutant[k]) if mutant.get(k) else None for k in ("parent", "donor"))
        graph = mutant_case(parent, donor, seed, opts)
    else:
        graph = generate(seed, opts)
    out.mkdir(parents=True, exist_ok=True)
    save_inputs(out / "inputs.npz", make_inputs(graph, seed, input_mode))
    save_graph(graph, out / "graph.json")


def main(argv: list[str]) -> int:
    mutant = json.loads(Path(argv[4]).read_text(encoding="utf-8")) if len(argv) > 4 else None
    rebuild_case(int(argv[0]), json.loads(argv[1]), argv[2], Path(argv[3]), mutant)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
