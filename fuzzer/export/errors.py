"""What an error of the dynamo exporter says about its cause.

``torch.onnx.export(..., dynamo=True)`` wraps every failure in one of three errors whose first line
only names the step ("Failed to convert the exported program to an ONNX model. This is step 3/3 of
exporting the model to ONNX.") and whose ``## Exception summary`` lists the chain of exceptions,
the innermost (the cause) first, then the wrappers; the outermost names the FX node being worked on
("call_function[target=torch.ops.aten.amin.default]"). The first line is the same for every
operator, so a head or a signature built from it puts every translation bug of the exporter into
one bucket. :func:`summary_head` is the line to use instead: the step, the node's operator and the
innermost exception ("step 3/3 at aten.amin.default: ValueError: Required parameter ...").

Messages without such a summary (TorchScript, ONNX, ONNX Runtime errors) are left to their first line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
STEP = re.compile(r"This is step (\d+/\d+)")
_SUMMARY = "## Exception summary"
_EXCEPTION = re.compile(r"^<class '(?P<type>[\w.]+)'>:[ \t]*(?P<text>.*)$", re.M)
_TARGET = re.compile(r"target=torch\.ops\.(?P<op>[A-Za-z_][\w]*\.[\w.]+?)\]")
# capture (step 1/3) names no FX node, but the line of the module it was running:
#   The following call raised this error:
#     File "<onnxfuzz-graph-...>", line 26, in forward
#       v0 = torch.nn.functional.one_hot(x0)
_CALL = re.compile(r"The following call raised this error:\s*\n\s*File [^\n]*\n\s*(?P<code>[^\n]+)")
_CALLEE = re.compile(r"(?P<f>[A-Za-z_][\w.]*)\s*\(")
# onnxscript's parameter errors end with the function signature, whose type-constraint lists come
# in set order (different between two processes): not part of the cause
_SIGNATURE = re.compile(r"\s*Signature: .*$")


@dataclass(frozen=True)
class ExporterErrorSummary:
    """The parts of a dynamo exporter error: ``step`` ("3/3"), the innermost exception's class name
    and the first line of its message, and the operator of the FX node (``aten.amin.default``)."""

    step: str | None
    cause_type: str
    cause: str
    target: str | None

    def head(self) -> str:
        where = " ".join(p for p in (f"step {self.step}" if self.step else "", f"at {self.target}" if self.target else "") if p)
        return f"{where + ': ' if where else ''}{self.cause_type}: {self.cause}".strip()


def parse_summary(message: str | None) -> ExporterErrorSummary | None:
    """The summary of a dynamo exporter error, or None when ``message`` has no exception summary."""
    text = _ANSI.sub("", message or "")
    if _SUMMARY not in text:
        return None
    step = STEP.search(text.split(_SUMMARY, 1)[0])
    body = text.split(_SUMMARY, 1)[1]
    first = _EXCEPTION.search(body)
    if first is None:
        return None
    target = _TARGET.search(body)
    op = target.group("op") if target else _callee(body)
    cause_type = first.group("type").rsplit(".", 1)[-1]
    return ExporterErrorSummary(step.group(1) if step else None, cause_type, _SIGNATURE.sub("", first.group("text").strip()), op)


def _callee(body: str) -> str | None:
    """The function called on the module line a capture error points to, with the tensor a method
    is called on written ``Tensor`` (``v0 = x1.abs()`` -> ``Tensor.abs``), or None."""
    call = _CALL.search(body)
    if call is None:
        return None
    rhs = call.group("code").split("=", 1)[-1] if re.match(r"\s*[\w, ]+=[^=]", call.group("code")) else call.group("code")
    f = _CALLEE.search(rhs)
    if f is None:
        return None
    name = f.group("f")
    return re.sub(r"^[a-z]\d+\.", "Tensor.", name)


def summary_head(message: str | None) -> str | None:
    """:meth:`ExporterErrorSummary.head` of ``message``, or None when it has no exception summary."""
    s = parse_summary(message)
    return s.head() if s is not None else None
