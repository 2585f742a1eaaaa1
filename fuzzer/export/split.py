"""Cut one graph's part out of an ONNX model that holds several independent graphs.

A batched export (:mod:`fuzzer.export.batch`) yields one ModelProto whose graph is a disjoint union
of the members' graphs. :func:`extract_part` returns the ModelProto of one member: its inputs (renamed
back to the member's own input names; an input the exporter dropped stays dropped), its outputs, the nodes its outputs depend on, in the batched
model's order, and the initializers and ``value_info`` those nodes use. Nodes, attributes and
initializer contents are copied unchanged; only the model-level fields (IR version, opsets,
producer, functions) are shared with the batched model.

Invariant: the part reads nothing outside itself. :class:`SplitError` when the batched model
breaks that (e.g. an optimizer merged values across members): the caller then falls back to
exporting the members one by one.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import onnx


class SplitError(ValueError):
    """The batched model cannot be cut into independent parts."""


def extract_part(
    model: onnx.ModelProto, inputs: Sequence[str], outputs: Sequence[str], rename: Mapping[str, str] | None = None
) -> onnx.ModelProto:
    """The part of ``model`` computing ``outputs`` from ``inputs``; ``rename`` maps value names
    (the batch's prefixed input names) back to the member's own."""
    rename = dict(rename or {})
    g = model.graph
    producer: dict[str, int] = {}
    for k, node in enumerate(g.node):
        for o in node.output:
            if o:
                producer[o] = k
    inits = {t.name: t for t in g.initializer}
    graph_inputs = {vi.name: vi for vi in g.input}
    graph_outputs = {vi.name: vi for vi in g.output}
    wanted_inputs = set(inputs)

    keep: set[int] = set()
    used_inits: set[str] = set()
    stack = list(outputs)
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if not name or name in seen:
            continue
        seen.add(name)
        if name in producer:
            k = producer[name]
            if k not in keep:
                keep.add(k)
                stack.extend(g.node[k].input)
                for attr in g.node[k].attribute:  # subgraphs read outer values by name
                    for sub in _subgraphs(attr):
                        stack.extend(_outer_names(sub))
        elif name in inits:
            used_inits.add(name)
        elif name in graph_inputs:
            if name not in wanted_inputs:
                raise SplitError(f"value {name!r} of this part is an input of another part")
        else:
            raise SplitError(f"value {name!r} has no producer, initializer or input")
    missing = [o for o in outputs if o not in graph_outputs]
    if missing:
        raise SplitError(f"outputs {missing} are not outputs of the batched model")

    part = onnx.GraphProto(name=g.name)
    for name in inputs:
        if name in graph_inputs:  # an input the exporter dropped is dropped from the part too, as alone
            part.input.append(_renamed_vi(graph_inputs[name], rename))
    for name in outputs:
        part.output.append(_renamed_vi(graph_outputs[name], rename))
    for k in sorted(keep):
        node = onnx.NodeProto()
        node.CopyFrom(g.node[k])
        if rename:
            _rename_node(node, rename)
        part.node.append(node)
    for t in g.initializer:
        if t.name in used_inits:
            part.initializer.append(t)
    described = seen | {o for k in keep for o in g.node[k].output}  # unused outputs of kept nodes too
    for vi in g.value_info:
        if vi.name in described:
            part.value_info.append(_renamed_vi(vi, rename))

    out = onnx.ModelProto()
    out.ir_version = model.ir_version
    out.producer_name = model.producer_name
    out.producer_version = model.producer_version
    out.domain = model.domain
    out.model_version = model.model_version
    out.doc_string = model.doc_string
    out.opset_import.extend(model.opset_import)
    out.functions.extend(model.functions)
    out.metadata_props.extend(model.metadata_props)
    out.graph.CopyFrom(part)
    return out


def _renamed_vi(vi: onnx.ValueInfoProto, rename: Mapping[str, str]) -> onnx.ValueInfoProto:
    if vi.name not in rename:
        return vi
    new = onnx.ValueInfoProto()
    new.CopyFrom(vi)
    new.name = rename[vi.name]
    return new


def _rename_node(node: onnx.NodeProto, rename: Mapping[str, str]) -> None:
    for j, name in enumerate(node.input):
        if name in rename:
            node.input[j] = rename[name]
    for attr in node.attribute:
        for sub in _subgraphs(attr):
            for n in sub.node:
                _rename_node(n, rename)


def _subgraphs(attr: onnx.AttributeProto) -> list[onnx.GraphProto]:
    if attr.type == onnx.AttributeProto.GRAPH:
        return [attr.g]
    if attr.type == onnx.AttributeProto.GRAPHS:
        return list(attr.graphs)
    return []


def _outer_names(sub: onnx.GraphProto) -> list[str]:
    """Names a subgraph reads that it does not define itself."""
    defined = {vi.name for vi in sub.input} | {t.name for t in sub.initializer}
    for n in sub.node:
        defined.update(n.output)
    read = []
    for n in sub.node:
        read.extend(x for x in n.input if x and x not in defined)
        for attr in n.attribute:
            for s in _subgraphs(attr):
                read.extend(x for x in _outer_names(s) if x not in defined)
    return read


def canonical_form(model: onnx.ModelProto) -> dict:
    """The model with every name replaced by its role, for comparing two exports of one graph:
    inputs by position, node outputs by (node index, output index), initializers by content.
    Node names and doc strings are dropped; op types, domains, attributes, initializer values,
    value types and the node order are kept."""
    from onnx import numpy_helper

    g = model.graph
    names: dict[str, str] = {"": ""}
    for i, vi in enumerate(g.input):
        names[vi.name] = f"input{i}"
    for t in g.initializer:
        a = numpy_helper.to_array(t)
        names[t.name] = f"init:{a.dtype}{list(a.shape)}:{a.tobytes().hex()}"
    nodes = []
    for k, n in enumerate(g.node):
        for j, o in enumerate(n.output):
            if o:
                names[o] = f"v{k}.{j}"
        attrs = []
        for a in sorted(n.attribute, key=lambda a: a.name):
            b = onnx.AttributeProto()
            b.CopyFrom(a)
            b.doc_string = ""
            attrs.append(b.SerializeToString().hex())
        nodes.append((n.domain, n.op_type, tuple(names.get(x, f"?{x}") for x in n.input), len(n.output), tuple(attrs)))
    return {
        "opsets": sorted((o.domain, o.version) for o in model.opset_import),
        "inputs": [(names[vi.name], vi.type.SerializeToString().hex()) for vi in g.input],
        "outputs": [(names.get(vi.name, f"?{vi.name}"), vi.type.SerializeToString().hex()) for vi in g.output],
        "initializers": sorted(names[t.name] for t in g.initializer),
        "nodes": nodes,
        "value_info": sorted((names.get(vi.name, f"?{vi.name}"), vi.type.SerializeToString().hex()) for vi in g.value_info),
        "functions": sorted(f.SerializeToString().hex() for f in model.functions),
    }
