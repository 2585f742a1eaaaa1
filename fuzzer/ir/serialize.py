"""Graph <-> versioned JSON. Paired functions; load errors name the field that failed.

The format is meant to be read by people (it is ``graph.json`` in every finding)::

    {"format": "onnxfuzz-graph", "version": 1,
     "inputs":  [{"name": "x0", "shape": [2, 3], "dtype": "float32", "domain": "any"}],
     "nodes":   [{"op": "sin", "inputs": ["x0"], "attrs": {},
                  "outputs": [{"name": "v0", "shape": [2, 3], "dtype": "float32"}]}],
     "outputs": ["v0"],
     "meta":    {"seed": 7}}

Round trip is exact: ``graph_from_json(graph_to_json(g)) == g``. Lists in attrs load as tuples.
Non-finite floats are not valid JSON and are encoded as {"float": "nan" | "inf" | "-inf"}.

Loading is total over its input: any text or document gives a :class:`Graph` or a
:class:`GraphFormatError` whose one-line message says where and why, never another exception and
never an allocation out of proportion to the file (a file over :data:`MAX_FILE_BYTES`, JSON nested
deeper than the interpreter can parse, attribute values nested deeper than :data:`MAX_ATTR_DEPTH`
and the size bounds of :func:`~fuzzer.ir.graph.check_wellformed` are all format errors).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .graph import Graph, Input, Node, Param, TensorSpec, Value, WellformednessError, check_wellformed

FORMAT = "onnxfuzz-graph"
VERSION = 1
MAX_FILE_BYTES = 32 * 1024 * 1024  # a generated graph.json is a few KiB
MAX_ATTR_DEPTH = 8  # lists in attribute values (an index of slices is two deep)
MAX_SEED = 2**63  # meta.seed is an int within 0..MAX_SEED-1 (seeds are drawn as int64)


class GraphFormatError(ValueError):
    """A graph file or document could not be loaded; the message says where and why."""


# -- encode ---------------------------------------------------------------------------------
def graph_to_dict(graph: Graph) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "inputs": [_input_to_dict(i) for i in graph.inputs],
        "nodes": [
            {
                "op": n.op,
                "inputs": list(n.inputs),
                "attrs": {k: _encode_attr(v) for k, v in n.attrs.items()},
                "outputs": [{"name": v.name, **_spec_to_dict(v.spec)} for v in n.outputs],
                **({"params": [{**_spec_to_dict(p.spec), "init": p.init, "seed": p.seed} for p in n.params]} if n.params else {}),
            }
            for n in graph.nodes
        ],
        "outputs": list(graph.outputs),
        "meta": {k: _encode_attr(v) for k, v in graph.meta.items()},
    }


def graph_to_json(graph: Graph, indent: int | None = 1) -> str:
    return json.dumps(graph_to_dict(graph), indent=indent, allow_nan=False)


def save_graph(graph: Graph, path: str | Path) -> None:
    """Write atomically: a reader never sees a half-written graph file."""
    from fuzzer.atomic import atomic_write_text

    atomic_write_text(Path(path), graph_to_json(graph) + "\n")


def _spec_to_dict(spec: TensorSpec) -> dict[str, Any]:
    return {"shape": list(spec.shape), "dtype": spec.dtype}


def _input_to_dict(i: Input) -> dict[str, Any]:
    d: dict[str, Any] = {"name": i.name, **_spec_to_dict(i.spec), "domain": i.domain}
    if i.bound is not None:
        d["bound"] = i.bound
    return d


def _encode_attr(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return {"float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if isinstance(v, (list, tuple)):
        return [_encode_attr(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _encode_attr(x) for k, x in v.items()}
    return v


# -- decode ---------------------------------------------------------------------------------
def graph_from_dict(doc: Any, where: str = "graph") -> Graph:
    """Build and validate a graph; raises :class:`GraphFormatError` naming the bad field."""
    if not isinstance(doc, dict):
        raise GraphFormatError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("format") != FORMAT:
        raise GraphFormatError(f"{where}: not an onnxfuzz graph (format is {_short(doc.get('format'))})")
    if doc.get("version") != VERSION:
        raise GraphFormatError(
            f"{where}: graph format version {_short(doc.get('version'))} is not supported (this build reads {VERSION})"
        )
    try:
        inputs = tuple(_input_from(d, f"{where}.inputs[{k}]") for k, d in enumerate(_list(doc, "inputs", where)))
        nodes = tuple(_node_from(d, f"{where}.nodes[{k}]") for k, d in enumerate(_list(doc, "nodes", where)))
        outputs = tuple(_str(o, f"{where}.outputs[{k}]") for k, o in enumerate(_list(doc, "outputs", where)))
        meta_raw = doc.get("meta", {})
        if not isinstance(meta_raw, dict):
            raise GraphFormatError(f"{where}.meta: expected an object")
        meta = {k: _decode_attr(v, f"{where}.meta.{_key(k)}") for k, v in meta_raw.items()}
        seed = meta.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < MAX_SEED):
            raise GraphFormatError(f"{where}.meta.seed: expected an int within 0..2**63-1, got {_short(seed)}")
    except (KeyError, TypeError) as e:  # defensive: _field raises GraphFormatError first
        raise GraphFormatError(f"{where}: malformed ({_short(str(e))})") from None
    graph = Graph(inputs=inputs, nodes=nodes, outputs=outputs, meta=meta)
    try:
        check_wellformed(graph)
    except WellformednessError as e:
        raise GraphFormatError(f"{where}: not a well-formed graph: {e}") from None
    return graph


def graph_from_json(text: str, where: str = "graph") -> Graph:
    return graph_from_dict(parse_json(text, where, GraphFormatError), where)


def parse_json(text: str | bytes, where: str, error: type[Exception] = ValueError) -> Any:
    """``json.loads`` whose every failure is one ``error`` naming ``where``: syntax, an integer
    longer than Python converts (4,300 digits), nesting deeper than the parser's recursion."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{where}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise error(f"{where}: JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise error(f"{where}: not valid JSON ({_short(str(e), 120)})") from None


def load_graph(path: str | Path) -> Graph:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise GraphFormatError(f"{p}: {p.stat().st_size} bytes, too large for a graph file (at most {MAX_FILE_BYTES})")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GraphFormatError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise GraphFormatError(f"{p}: is a directory, expected a graph.json file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GraphFormatError(f"{p}: cannot read ({e})") from None
    return graph_from_json(text, where=str(p))


def _field(d: dict, key: str, where: str) -> Any:
    if not isinstance(d, dict):
        raise GraphFormatError(f"{where}: expected an object")
    if key not in d:
        raise GraphFormatError(f"{where}: missing field {key!r}")
    return d[key]


def _list(d: dict, key: str, where: str) -> list:
    v = _field(d, key, where)
    if not isinstance(v, list):
        raise GraphFormatError(f"{where}.{key}: expected a list")
    return v


def _str(v: Any, where: str) -> str:
    if not isinstance(v, str) or not v:
        raise GraphFormatError(f"{where}: expected a non-empty string")
    if not v.isidentifier():
        raise GraphFormatError(f"{where}: {_short(v)} is not a valid value name")
    return v


def _key(k: str) -> str:
    return k if k.isidentifier() and len(k) <= 40 else _short(k)


def _short(v: Any, limit: int = 80) -> str:
    """``repr(v)`` cut to ``limit`` characters: messages stay one short line."""
    r = repr(v)
    return r if len(r) <= limit else r[: limit - 3] + "..."


def _spec_from(d: dict, where: str) -> TensorSpec:
    shape = _field(d, "shape", where)
    if not isinstance(shape, list) or any(not isinstance(x, int) or isinstance(x, bool) for x in shape):
        raise GraphFormatError(f"{where}.shape: expected a list of ints")
    dtype = _field(d, "dtype", where)
    if not isinstance(dtype, str):
        raise GraphFormatError(f"{where}.dtype: expected a string")
    return TensorSpec(tuple(shape), dtype)


def _input_from(d: dict, where: str) -> Input:
    bound = d.get("bound") if isinstance(d, dict) else None
    if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)):
        raise GraphFormatError(f"{where}.bound: expected an int")
    domain = d.get("domain", "any") if isinstance(d, dict) else "any"
    return Input(name=_str(_field(d, "name", where), f"{where}.name"), spec=_spec_from(d, where), domain=domain, bound=bound)


def _node_from(d: dict, where: str) -> Node:
    op = _field(d, "op", where)
    if not isinstance(op, str):
        raise GraphFormatError(f"{where}.op: expected a string")
    ins = tuple(_str(x, f"{where}.inputs[{k}]") for k, x in enumerate(_list(d, "inputs", where)))
    outs = tuple(
        Value(_str(_field(o, "name", f"{where}.outputs[{k}]"), f"{where}.outputs[{k}].name"), _spec_from(o, f"{where}.outputs[{k}]"))
        for k, o in enumerate(_list(d, "outputs", where))
    )
    attrs_raw = d.get("attrs", {})
    if not isinstance(attrs_raw, dict):
        raise GraphFormatError(f"{where}.attrs: expected an object")
    params_raw = d.get("params", [])
    if not isinstance(params_raw, list):
        raise GraphFormatError(f"{where}.params: expected a list")
    params = []
    for k, pd in enumerate(params_raw):
        pw = f"{where}.params[{k}]"
        init, seed = _field(pd, "init", pw), _field(pd, "seed", pw)
        if not isinstance(init, str) or not isinstance(seed, int) or isinstance(seed, bool):
            raise GraphFormatError(f"{pw}: init must be a string and seed an int")
        params.append(Param(_spec_from(pd, pw), init, seed))
    attrs = {k: _decode_attr(v, f"{where}.attrs.{_key(k)}") for k, v in attrs_raw.items()}
    return Node(op=op, inputs=ins, outputs=outs, attrs=attrs, params=tuple(params))


def _decode_attr(v: Any, where: str, depth: int = 0) -> Any:
    if depth > MAX_ATTR_DEPTH:
        raise GraphFormatError(f"{where}: nested deeper than {MAX_ATTR_DEPTH} levels")
    if isinstance(v, list):
        return tuple(_decode_attr(x, where, depth + 1) for x in v)
    if isinstance(v, dict):
        if set(v) == {"float"} and v["float"] in ("nan", "inf", "-inf"):
            return float(v["float"])
        return {k: _decode_attr(x, where, depth + 1) for k, x in v.items()}
    return v
