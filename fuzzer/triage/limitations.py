"""Documented limitations: failures that are a known, stated gap of a component, not a new bug.

Two kinds, each recognised from what a failing case says about itself (verdict, exporter, error
type and message), so a raw case, a finding's signature key and a campaign's coarse bucket key are
tagged alike:

- ``missing_kernel``: ONNX Runtime cannot create a session because it registers no kernel for an
  operator at that type ("NOT_IMPLEMENTED : Could not find an implementation for Atan(7) node").
  The verdict is ``ort_load_failure``, which comes after the checker passed (full check, strict
  shape inference): the model is valid, and ONNX Runtime's operator kernel table documents which
  types each kernel takes. Each gap is still its own entry (one kernel registration each).
- ``unsupported_operator``: the TorchScript exporter refuses an operator (or an option of one) by
  design: ``UnsupportedOperatorError`` ("Exporting the operator 'aten::cosh' ... is not
  supported") or its symbolic helpers' "Unsupported: ONNX export of operator X, <what>" and "ONNX
  export failed on X, which is not implemented for opset N". The
  TorchScript exporter is in maintenance; the dynamo exporter is the supported path for these.

A limitation is filed like any finding (its own bucket, hit counts), listed in its own section of
``findings list`` and the campaign summary, and never counted as a new bug.
"""

from __future__ import annotations

import re
from typing import Mapping

#: kind -> what it means, one line (shown in ``findings list`` and reports)
KINDS: dict[str, str] = {
    "missing_kernel": "ONNX Runtime registers no kernel for this operator and type (a checker-valid model)",
    "unsupported_operator": "the TorchScript exporter refuses this operator by design (the dynamo exporter is the supported path)",
}

#: the coarse bucket key's mark of a model declaring other output types than eager (fuzzer.triage.buckets)
DECLARED_MARK = "declared dtypes differ"

_MISSING_KERNEL = re.compile(r"NOT_IMPLEMENTED\s*:\s*(?:Could not find an implementation for|Failed to find kernel for)\s+(?P<op>\w+)")
_UNSUPPORTED = re.compile(r"^Unsupported: ONNX export of (?:operator )?(?P<op>\w+)|Exporting the operator '?(?P<aten>[^\s']+)'? to ONNX opset version"
                          r"|ONNX export failed on (?P<nyi>\w+), which is not implemented")


def limitation_of(verdict: str, exporter: str, error_type: str | None, message: str | None, blamed_on_ort: bool | None = None) -> str | None:
    """The documented limitation a failure is (a key of :data:`KINDS`), or None for a bug.
    ``blamed_on_ort`` False (the failure's stage is not ONNX Runtime's, e.g. the model declares
    another output type than eager gives) rules out ``missing_kernel``; None: the message decides."""
    msg = (message or "").strip()
    etype = (error_type or "").rsplit(".", 1)[-1]
    if verdict == "ort_load_failure" and _MISSING_KERNEL.search(msg) and blamed_on_ort is not False:
        return "missing_kernel"
    if verdict == "export_crash" and exporter == "torchscript":
        if etype == "UnsupportedOperatorError" or _UNSUPPORTED.search(msg.splitlines()[0] if msg else ""):
            return "unsupported_operator"
    return None


def limitation_of_key(key: str) -> str | None:
    """:func:`limitation_of` of a signature key (``verdict|exporter|Type: message``) or a coarse
    bucket key (``verdict|exporter|module.Type|message...``)."""
    parts = key.split("|")
    if len(parts) < 3:
        return None
    verdict, exporter = parts[0], parts[1]
    if len(parts) >= 4 and not parts[2].count(": "):  # a bucket key: verdict|exporter|error type|head|...
        return limitation_of(verdict, exporter, parts[2], parts[3], blamed_on_ort=False if DECLARED_MARK in parts[4:] else None)
    etype, _, msg = "|".join(parts[2:]).partition(": ")
    # a signature of a model declaring other types than eager's carries the mark (fuzzer.triage.signature)
    return limitation_of(verdict, exporter, etype, msg, blamed_on_ort=False if DECLARED_MARK in msg else None)


def limitation_of_doc(doc: Mapping) -> str | None:
    """:func:`limitation_of` of a finding's finding.json."""
    if doc.get("limitation") in KINDS:
        return doc["limitation"]
    return limitation_of(str(doc.get("verdict")), str(doc.get("exporter")), doc.get("error_type"),
                         doc.get("error_message") or doc.get("error_head")) or limitation_of_key(str((doc.get("signature") or {}).get("key", "")))


def limited_op(verdict: str, message: str | None) -> str | None:
    """The operator a limitation is about: the ONNX op without a kernel, or the refused aten op."""
    msg = message or ""
    m = _MISSING_KERNEL.search(msg)
    if m:
        return m.group("op")
    m = _UNSUPPORTED.search(msg.strip().splitlines()[0] if msg.strip() else "")
    if m:
        return m.group("aten") or m.group("op") or m.group("nyi")
    return None
