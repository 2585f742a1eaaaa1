"""IR -> readable, standalone Python source of a ``torch.nn.Module``.

The source is the one materialization: :func:`fuzzer.materialize.module.build_module` compiles
exactly this text, so the module under test and the code in a finding's ``repro.py`` cannot
differ. It needs nothing but ``torch``.
"""

from __future__ import annotations

from fuzzer.catalog import CATALOG, get_op
from fuzzer.catalog.apply import module_init_lines, node_code, node_line
from fuzzer.catalog.params import PARAM_HELPER
from fuzzer.catalog.render import TemplateError, literal
from fuzzer.ir import Graph


def param_attr(node_index: int, param_index: int) -> str:
    return f"p{node_index}_{param_index}"


def node_expression(graph: Graph, k: int, self_prefix: str = "self.") -> str:
    """The node's rendered template (for a statement entry: the statement, assigning its output)."""
    node = graph.nodes[k]
    op = get_op(node.op)
    params = [f"{self_prefix}{param_attr(k, j)}" for j in range(len(node.params))]
    return node_code(op, k, list(node.inputs), params, node.attrs, self_prefix, out=node.outputs[0].name if node.outputs else "_out")


def graph_to_source(graph: Graph, class_name: str = "Model") -> str:
    """Python source defining ``_param`` and ``class <class_name>(torch.nn.Module)``."""
    lines = ["import torch", "", "", PARAM_HELPER, "", f"class {class_name}(torch.nn.Module):"]
    lines.append("    def __init__(self):")
    lines.append("        super().__init__()")
    for k, node in enumerate(graph.nodes):
        for j, p in enumerate(node.params):
            lines.append(
                f"        self.register_buffer({param_attr(k, j)!r}, "
                f"_param({literal(p.spec.shape)}, torch.{p.spec.dtype}, {p.init!r}, {p.seed}))"
            )
        op = get_op(node.op)
        if op.module:
            lines.extend("        " + line for line in module_init_lines(op, k, node.attrs))
    lines.append("")
    args = ", ".join(["self"] + [i.name for i in graph.inputs])
    lines.append(f"    def forward({args}):")
    for k, node in enumerate(graph.nodes):
        params = [f"self.{param_attr(k, j)}" for j in range(len(node.params))]
        lines.append("        " + node_line(get_op(node.op), k, [v.name for v in node.outputs], list(node.inputs), params, node.attrs))
    outs = ", ".join(graph.outputs)
    lines.append(f"        return ({outs},)" if len(graph.outputs) == 1 else f"        return ({outs})")
    return "\n".join(lines) + "\n"


def materialize_problem(graph: Graph) -> str | None:
    """Why this build cannot materialize ``graph``, in one line, or None: an operator not in its
    catalog (a newer build's graph, or an edited one), or attribute values an operator's template
    cannot render (a ``to`` whose ``dtype`` is no dtype name, a ``slice`` index holding a string).
    Graphs read from files are checked with this before they are run."""
    unknown = sorted({n.op for n in graph.nodes} - set(CATALOG))
    if unknown:
        return f"operators not in this build's catalog: {', '.join(x[:40] for x in unknown[:10])}"
    for k, node in enumerate(graph.nodes):
        try:
            node_expression(graph, k)
        except TemplateError as e:
            msg = str(e).replace("\n", " ")
            return f"node {k} ({node.op}): {msg if len(msg) <= 160 else msg[:157] + '...'}"
    return None


def node_at_line(source: str, lineno: int) -> int | None:
    """The index of the node whose statement is line ``lineno`` (1-based) of a source made by
    :func:`graph_to_source` (one line per node in ``forward``), or None for any other line."""
    lines = source.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("    def forward(")), None)
    if start is None or not 0 < lineno <= len(lines):
        return None
    k = lineno - 2 - start  # line start + 2 (1-based) holds node 0
    if k < 0 or not lines[lineno - 1].startswith("        ") or lines[lineno - 1].lstrip().startswith("return "):
        return None
    return k
