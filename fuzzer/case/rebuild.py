"""Rebuild a case's graph and inputs after the process running it died.

Generation and mutation are deterministic, so a seed (or a mutation seed with its parent and donor
graphs) gives back the case. Generation probe-runs eager PyTorch, and if that is what killed the
process it must not kill the caller: campaigns ask a worker for it (request
:class:`~fuzzer.workers.protocol.Rebuild`), which calls :func:`rebuild_case`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from fuzzer.generate import GeneratorOptions, generate, make_inputs
from fuzzer.generate.corpus import mutant_case
from fuzzer.ir import graph_from_dict, save_graph

from .files import save_inputs


def rebuild_case(seed: int, generator: GeneratorOptions, input_mode: str, out: Path, mutant: Mapping[str, Any] | None = None,
                 avoid: str | None = None) -> None:
    """Write the case's ``graph.json`` and ``inputs.npz`` into ``out`` (created if missing). With
    ``mutant`` (``{"parent": graph | None, "donor": graph | None}``) ``seed`` is the mutation seed.
    ``avoid``: the known-trigger table file the graph was generated with."""
    if mutant is not None:
        parent, donor = (graph_from_dict(mutant[k]) if mutant.get(k) else None for k in ("parent", "donor"))
        graph = mutant_case(parent, donor, seed, generator)
    else:
        from fuzzer.generate.avoid import load_avoidance

        graph = generate(seed, generator, avoid=load_avoidance(avoid))
    out.mkdir(parents=True, exist_ok=True)
    save_inputs(out / "inputs.npz", make_inputs(graph, seed, input_mode))
    save_graph(graph, out / "graph.json")
