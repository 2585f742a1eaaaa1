"""Which graph, and which node of it, an exception from the exporter points to.

Every generated module's ``forward`` is compiled from its own source under a file name unique to
the graph (:mod:`fuzzer.materialize`), one line per node. An exception raised while exporting
usually carries that file name and line: in a traceback frame running the module (capture), or in
the recorded stack trace of the FX node a frame was translating (``node.meta["stack_trace"]``).
These are hints for scheduling batched exports (:mod:`fuzzer.export.batch`), never part of a verdict.
"""

from __future__ import annotations

import re
from typing import Iterator, Sequence

import torch


def module_source_name(module: torch.nn.Module) -> str | None:
    """The file name of the module's ``forward`` code (unique per generated graph), if it has one."""
    code = getattr(getattr(type(module), "forward", None), "__code__", None)
    return getattr(code, "co_filename", None)


def named_members(exc: BaseException, names: Sequence[str | None]) -> list[int]:
    """Positions of the members whose source file name occurs in the exception: in its messages, its
    traceback's frames, or the recorded stack trace of an FX node a frame was working on (the
    exception chain is followed through ``__cause__`` / ``__context__``)."""
    counts: dict[str, int] = {}
    for n in names:
        if n:
            counts[n] = counts.get(n, 0) + 1
    wanted = {n for n, c in counts.items() if c == 1}  # a file shared by two members names neither
    blob = "\n".join(exception_texts(exc))
    return [k for k, n in enumerate(names) if n in wanted and n in blob]


def culprit_line(exc: BaseException, name: str | None) -> int | None:
    """The innermost line of file ``name`` that the exception points to (a traceback frame running
    that file, or an FX node's recorded stack trace), or None. Lines of the generated ``forward``
    name a node (:func:`fuzzer.materialize.node_at_line`)."""
    if not name:
        return None
    pattern = re.compile(r'File "' + re.escape(name) + r'", line (\d+)')
    line = None
    for text in exception_texts(exc):
        found = pattern.findall(text)
        if found:
            line = int(found[-1])
    return line


def exception_texts(exc: BaseException) -> Iterator[str]:
    """Texts of the exception chain (outermost first, through ``__cause__`` / ``__context__``): each
    message, each traceback frame as 'File "<file>", line <n>', and the recorded stack trace of every
    FX node a frame was working on."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield str(e)
        tb = e.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            yield f'File "{frame.f_code.co_filename}", line {tb.tb_lineno}'
            for value in frame.f_locals.values():
                if isinstance(value, torch.fx.Node):
                    yield str(value.meta.get("stack_trace") or "")
            tb = tb.tb_next
        e = e.__cause__ or e.__context__


def members_calling(exc: BaseException, programs, names: Sequence[str | None]) -> list[int]:
    """Positions of the members whose nodes in ``programs`` (``ExportedProgram`` s of all members:
    the captured one, and the decomposed ones, where nodes a decomposition made keep the stack
    trace of the node they came from) call the operator a dynamo exporter error names (its
    exception summary's FX node, e.g. ``aten.bucketize.Tensor``, or ``prims.fmax.default``, which
    only decomposition makes), by the node's recorded stack trace; [] when the error names no
    operator or no node calls it."""
    from .errors import parse_summary

    summary = parse_summary(str(exc))
    if summary is None or summary.target is None:
        return []
    programs = programs if isinstance(programs, (list, tuple)) else [programs]
    traces = [n.meta.get("stack_trace") or "" for p in programs for n in p.graph.nodes if n.op == "call_function" and str(n.target) == summary.target]
    return [k for k, n in enumerate(names) if n and any(n in t for t in traces)]
