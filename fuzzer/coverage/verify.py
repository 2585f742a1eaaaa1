"""Verify sequence templates by exporting them: does the exported model contain the sequence?

A chain's instantiation ``k`` is ``template_graph(chain, seed=k)``; its share for an exporter is
the fraction of instantiations ``0..samples-1`` whose exported model contains the template's
sequence as a path (:func:`fuzzer.coverage.paths.contains_path`). Export failures count as misses
and are reported in the note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import onnx
import torch

from fuzzer.export import ExportOptions, Exporter, export
from fuzzer.generate import GenerationError, make_inputs
from fuzzer.generate.generator import template_graph
from fuzzer.generate.templates import Chain, Template
from fuzzer.materialize import build_module

from .paths import contains_path, onnx_digraph


@dataclass(frozen=True)
class Instance:
    """One exported instantiation: did it contain the sequence, and what did the export emit."""

    hit: bool
    emitted: tuple[str, ...]  # top-level op types (Constants dropped), or () on failure
    error: str | None = None


def export_instance(chain: Chain, sequence: tuple[str, ...], seed: int, exporter: Exporter) -> Instance:
    try:
        g = template_graph(chain, seed)
    except GenerationError as e:
        return Instance(False, (), f"not instantiable: {e}")
    module = build_module(g)
    ins = make_inputs(g, seed)
    out = export(module, [torch.from_numpy(v) for v in ins.values()], [i.name for i in g.inputs], ExportOptions(exporter))
    if out.model is None:
        return Instance(False, (), f"export failed: {out.error_type}")
    model = onnx.load_model_from_string(out.model)
    dg = onnx_digraph(model)
    emitted = tuple(n.op_type for n in model.graph.node if n.op_type != "Constant")
    return Instance(contains_path(dg, sequence), emitted)


def _instance_doc(chain: Chain, sequence: tuple[str, ...], seed: int, exporter: Exporter) -> dict:
    inst = export_instance(chain, sequence, seed, exporter)
    return {"hit": inst.hit, "emitted": list(inst.emitted), "error": inst.error}


#: Runs ``fn(*args)`` in isolation and returns (its JSON-able result, None), or (None, signal name)
#: when the process died by a signal: :func:`fuzzer.workers.helpers.call_forked`.
IsolatedCall = Callable[..., tuple[Any, "str | None"]]


def verify_chain(template: Template, chain: Chain, exporter: Exporter, samples: int, stop_on_hit: bool = False,
                 isolate: IsolatedCall | None = None, first_seed: int = 0) -> tuple[float, list[Instance]]:
    """Share of instantiations ``first_seed..samples-1`` containing the sequence, and the instances.
    ``isolate`` runs each export in a process of its own, so an exporter that kills its process
    (SIGFPE, abort: seen on empty tensors) costs one instance, not the whole verification."""

    def run(chain, sequence, seed, exporter):
        if isolate is None:
            return export_instance(chain, sequence, seed, exporter)
        doc, killed = isolate(_instance_doc, chain, sequence, seed, exporter)
        if killed is not None:
            return Instance(False, (), f"exporter process killed by {killed}")
        return Instance(doc["hit"], tuple(doc["emitted"]), doc["error"])

    insts = []
    for seed in range(first_seed, samples):
        inst = run(chain, template.sequence, seed, exporter)
        insts.append(inst)
        if stop_on_hit and inst.hit:
            break
    return sum(i.hit for i in insts) / len(insts), insts


def describe_miss(insts: list[Instance]) -> str:
    """One line on what the exporter did instead (the first instance)."""
    first = insts[0]
    if first.error:
        return first.error
    return "emits " + " ".join(first.emitted[:14]) + (" ..." if len(first.emitted) > 14 else "")
