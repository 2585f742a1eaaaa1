"""Stage 3: export a module through ``torch.onnx`` and validate the ONNX model.

Both public entry points of ``torch.onnx.export`` are driven exactly as a user would:

- ``torchscript``: ``dynamo=False`` (TorchScript tracing + symbolic functions), into bytes;
- ``dynamo``: ``dynamo=True`` (torch.export + ONNX Script torchlib), ``optimize`` as given.

With ``dynamic`` set, input dimensions are exported dynamic (:mod:`fuzzer.export.dynamic`): a
refusal by torch.export, or a crash that the static export does not share, is resolved here (see
:func:`export` and ``ExportOutcome.dynamic``).

Every exception the exporter raises becomes an :class:`ExportOutcome` with ``stage="export"``;
a model that fails ``onnx.checker`` (full check, which includes strict shape inference) gets
``stage="checker"``. Nothing from the exporters reaches the console.
"""

from __future__ import annotations

import enum
import functools
import io
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import onnx
import torch

from .culprit import culprit_line, module_source_name
from .process_caches import trim_process_caches
from .quiet import quiet
from .rewrites import observed, recording


class Exporter(str, enum.Enum):
    TORCHSCRIPT = "torchscript"
    DYNAMO = "dynamo"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ExportOptions:
    exporter: Exporter
    opset: int | None = None  # None: the exporter's own default
    optimize: bool = True  # dynamo only: run the ONNX Script optimizer
    dynamic: bool = False  # input dimensions of size >= 2 exported dynamic (fuzzer.export.dynamic)

    def to_dict(self) -> dict:
        d = {"exporter": self.exporter.value, "opset": self.opset, "optimize": self.optimize}
        if self.dynamic:  # absent when off: records from before dynamic export read the same
            d["dynamic"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ExportOptions":
        """Inverse of :meth:`to_dict`; raises ValueError/KeyError/TypeError on a malformed record."""
        opset = d.get("opset")
        if opset is not None and (isinstance(opset, bool) or not isinstance(opset, int)):
            raise ValueError(f"opset must be an integer or null, got {opset!r}")
        dynamic = d.get("dynamic", False)
        if not isinstance(dynamic, bool):
            raise ValueError(f"dynamic must be true or false, got {dynamic!r}")
        return cls(Exporter(d["exporter"]), opset, bool(d.get("optimize", True)), dynamic)

    def static(self) -> "ExportOptions":
        """The same options with every dimension static."""
        return ExportOptions(self.exporter, self.opset, self.optimize)


@dataclass(frozen=True)
class ExportOutcome:
    options: ExportOptions
    model: bytes | None  # serialized ModelProto when export succeeded (even if the checker failed)
    stage: str  # "ok" | "export" | "checker"
    opset: int | None = None  # the default-domain opset the model actually declares
    error_type: str | None = None
    error_message: str | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    batched: int = 1  # how many graphs the export call that produced this model held (1: exported alone)
    culprit_line: int | None = None  # export crash: the line of the module's own source the exception points to (a hint, see fuzzer.export.culprit)
    rewrites: tuple[str, ...] = ()  # dynamo: ONNX Script optimizer rewrites that fired on this model (fuzzer.export.rewrites)
    # with options.dynamic: "dynamic" (the model declares dynamic dimensions), "static" (the exporter
    # kept every dimension static), "refused" (torch.export refused the dynamic dimensions: this is
    # the static export's outcome), "crash" (the dynamic export crashed and the static one did not:
    # this is the dynamic crash), "crash_static_too" (both crashed: this is the static crash);
    # None without options.dynamic
    dynamic: str | None = None
    dynamic_dims: Mapping[str, Mapping[int, str]] = field(default_factory=dict)  # {input: {axis: symbol}} the model declares

    @property
    def ok(self) -> bool:
        return self.stage == "ok"


def export(module: torch.nn.Module, args: Sequence[torch.Tensor], input_names: Sequence[str], options: ExportOptions) -> ExportOutcome:
    """Export ``module(*args)``; never raises for the exporter's own failures.

    With ``options.dynamic``: when the dynamic export raises, the module is exported static too;
    a torch.export refusal (:func:`fuzzer.export.dynamic.is_refusal`) gives the static outcome
    ("refused": not applicable, never a finding of its own), as does a crash the static export
    shares ("crash_static_too"); a crash of the dynamic export alone is the outcome ("crash")."""
    if not options.dynamic:
        return _export_once(module, args, input_names, options)
    from dataclasses import replace

    from .dynamic import dynamic_dims, model_dynamic_dims

    dims = dynamic_dims({n: tuple(a.shape) for n, a in zip(input_names, args)})
    if not dims:  # nothing to make dynamic (every dimension is 0 or 1): a static export
        return replace(_export_once(module, args, input_names, options.static()), options=options, dynamic="static")
    refusal: list[bool] = []
    out = _export_once(module, args, input_names, options, dims, refusal)
    if out.stage != "export":
        declared = model_dynamic_dims(out.model) if out.model is not None else {}
        return replace(out, dynamic="dynamic" if declared else "static", dynamic_dims=declared)
    static = _export_once(module, args, input_names, options.static())
    if refusal[0]:
        return replace(static, options=options, dynamic="refused", seconds=static.seconds + out.seconds)
    if static.stage == "export":
        return replace(static, options=options, dynamic="crash_static_too", seconds=static.seconds + out.seconds)
    return replace(out, dynamic="crash", seconds=static.seconds + out.seconds)


def _export_once(module, args, input_names, options: ExportOptions, dims=None, refusal: list | None = None) -> ExportOutcome:
    """One export call (``dims``: the dynamic dimensions, None for a static export); a crash
    appends to ``refusal`` whether torch.export refused the dimensions."""
    captured: list[str] = []
    t0 = time.perf_counter()
    try:
        with quiet(captured), torch.no_grad():
            data, rewrites = _export_bytes(module, tuple(args), list(input_names), options, dims)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as e:  # the exporter's failure is the finding: classify, do not propagate
        if refusal is not None:
            from .dynamic import is_refusal

            refusal.append(is_refusal(e))
        line = culprit_line(e, module_source_name(module))
        return ExportOutcome(options, None, "export", None, exception_name(e), exception_text(e), time.perf_counter() - t0, tuple(captured), culprit_line=line)
    finally:
        if options.exporter is Exporter.DYNAMO:
            trim_process_caches()
    return validate(data, options, time.perf_counter() - t0, tuple(captured), rewrites=rewrites)


def validate(data: bytes, options: ExportOptions, seconds: float, warnings: tuple[str, ...] = (), batched: int = 1,
             rewrites: tuple[str, ...] = ()) -> ExportOutcome:
    """Run ``onnx.checker`` (full check) on a serialized model and wrap the result."""
    opset = declared_opset(data)
    try:
        with quiet():
            onnx.checker.check_model(data, full_check=True)  # bytes: no second serialization
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as e:
        return ExportOutcome(options, data, "checker", opset, exception_name(e), exception_text(e), seconds, warnings, batched, rewrites=rewrites)
    return ExportOutcome(options, data, "ok", opset, None, None, seconds, warnings, batched, rewrites=rewrites)


def declared_opset(data: bytes) -> int | None:
    """The default-domain opset a serialized model declares (parses the model once)."""
    model = onnx.ModelProto()
    model.ParseFromString(data)
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def _export_bytes(module, args, input_names, options: ExportOptions, dims=None) -> tuple[bytes, tuple[str, ...]]:
    """The serialized model and, for dynamo, the optimizer rewrites that fired on it."""
    from .dynamic import dynamo_dynamic_shapes, torchscript_dynamic_axes

    if options.exporter is Exporter.TORCHSCRIPT:
        buf = io.BytesIO()
        torch.onnx.export(
            module, args, buf, dynamo=False, opset_version=options.opset, input_names=input_names,
            do_constant_folding=True, verbose=False, dynamic_axes=torchscript_dynamic_axes(dims) if dims else None,
        )
        return buf.getvalue(), ()
    shapes = dynamo_dynamic_shapes(input_names, dims) if dims else None
    with recording() as fired:
        proto = export_dynamo_proto(module, args, options, dynamic_shapes=shapes)
    return proto.SerializeToString(), observed(proto, fired)


def export_dynamo_proto(module, args, options: ExportOptions, input_names: Sequence[str] | None = None, dynamic_shapes=None) -> onnx.ModelProto:
    """The public dynamo call, as a user makes it; raises what the exporter raises. Input names
    come from ``forward``'s parameters unless ``input_names`` is given (batched exports)."""
    program = torch.onnx.export(
        module, args, dynamo=True, opset_version=options.opset, optimize=options.optimize,
        input_names=None if input_names is None else list(input_names), dynamic_shapes=dynamic_shapes,
        verbose=False, report=False, verify=False, external_data=False,
    )
    return program.model_proto


def first_capture(module: torch.nn.Module, args: Sequence[torch.Tensor]):
    """The public dynamo call's first capture strategy (non-strict ``torch.export``) on
    ``module(*args)``, quietly: ``(program, None)``, or ``(None, its exception)`` when it fails
    (the public call would then try its other strategies)."""
    from torch.onnx._internal.exporter import _capture_strategies as cs

    try:
        with quiet([]), torch.no_grad():
            result = cs.CAPTURE_STRATEGIES[0](verbose=False)(module, tuple(args), None, None)
    finally:
        trim_process_caches()
    return result.exported_program, result.exception


def translation_opset(options: ExportOptions) -> int:
    """The opset the dynamo exporter translates at for ``options``: the one asked for (default:
    torch's ``ONNX_DEFAULT_OPSET``), or torchlib's own when that is lower (it then converts down)."""
    from torch.onnx._internal.exporter import _constants

    return max(options.opset or torch.onnx._constants.ONNX_DEFAULT_OPSET, _constants.TORCHLIB_OPSET)


class DerivedExports:
    """Models of one exported program for several export variants, decomposed once per set of
    operators torchlib implements that the program holds, and translated once per
    :func:`translation_opset`: ``model(v)`` is ``export_dynamo_proto(program, args, v, names)``
    (the same nodes, attributes and initializers; checked by ``tests/e2e/test_export_batch.py``).

    ``torch.onnx.export(dynamo=True)`` given a program (``_core.export``) decomposes it with the
    table of the registry of the translation opset (``_prepare_exported_program_for_export``:
    decompositions, type promotion), translates it (``_exported_program_to_onnx_program``),
    converts the model to the opset asked for, runs ONNX Script's optimizer when ``optimize``, and
    names the inputs. Here the same functions run, each once for the variants that share its
    input: the registries of opsets 18 and 20 implement the same operators and 23 adds
    ``rms_norm`` (one decomposition, unless the program calls ``rms_norm``), opsets 17 and 18
    translate at torchlib's 18, and optimize on and off share a translation; conversion and
    optimization run on a copy per variant. Decomposition is most of an export. A step that
    raises raises for each variant that needs it, as the public call raises it (decomposition and
    translation: its ``ConversionError``, same message), so a program of one graph captured as the
    plain call captures it gives that call's crash outcomes too (:mod:`fuzzer.export.batch`)."""

    def __init__(self, program, args, input_names: Sequence[str] | None):
        self.program, self.args, self.input_names = program, args, input_names
        self._decomposed: dict[frozenset, object] = {}
        self._targets: frozenset | None = None  # the operators of the captured program's nodes
        self._translated: dict[int, onnx.ModelProto | BaseException] = {}

    def _translate(self, t: int) -> onnx.ModelProto:
        from torch.onnx._internal._lazy_import import onnxscript_apis
        from torch.onnx._internal.exporter import _core, _ir_passes, _registration

        registry = _registration.ONNXRegistry.from_torchlib(opset_version=t)
        implemented = implemented_ops(t)
        key = self._decomposition_key(implemented)
        decomposed = _once(self._decomposed, key, lambda: _as_public_step(
            2, lambda: _core._prepare_exported_program_for_export(self.program, registry=registry)))
        program = _as_public_step(3, lambda: _core._exported_program_to_onnx_program(decomposed, registry=registry))
        program.model = onnxscript_apis.convert_version(program.model, t)
        if self.input_names:
            _ir_passes.rename_inputs(program.model, list(self.input_names))
        return program.model_proto

    def decomposed(self, options: ExportOptions):
        """The decomposed program the public call with ``options`` translates (its
        ``ONNXProgram.exported_program``); call after :meth:`model` succeeded for ``options``."""
        implemented = implemented_ops(translation_opset(options))
        return self._decomposed[self._decomposition_key(implemented)]

    def programs(self) -> list:
        """The captured program and every decomposed one made so far (for reading node metadata)."""
        return [self.program, *(p for p in self._decomposed.values() if not isinstance(p, BaseException))]

    @property
    def decompositions(self) -> int:
        """How many decompositions ran (or failed) so far."""
        return len(self._decomposed)

    def _decomposition_key(self, implemented: frozenset) -> frozenset:
        """The key of the decomposition ``implemented`` gives: that of an earlier one when the two
        sets differ only in operators the captured program does not hold (the decomposition
        table differs only in them, and torch's decompositions do not emit them: on the pinned
        stack the one difference is ``aten.rms_norm``, which opset 23 adds and only a call of
        ``rms_norm`` itself reaches; checked against the plain call by tests/e2e/test_export_batch.py)."""
        if self._targets is None:
            self._targets = frozenset(n.target for n in self.program.graph.nodes if n.op == "call_function")
        for seen in self._decomposed:
            if not (seen ^ implemented) & self._targets:
                return seen
        return implemented

    def model(self, options: ExportOptions) -> onnx.ModelProto:
        t = translation_opset(options)
        base = _once(self._translated, t, lambda: self._translate(t))
        opset = options.opset or torch.onnx._constants.ONNX_DEFAULT_OPSET
        if opset == t and not options.optimize:
            return base
        import onnx_ir as ir
        from torch.onnx._internal._lazy_import import onnxscript_apis

        own = onnx.ModelProto()
        own.CopyFrom(base)  # the IR wraps the proto's tensors, and the optimizer renames them in place
        model = ir.serde.deserialize_model(own)  # so a copy: the translation stays for the next variant
        if opset != t:
            model = onnxscript_apis.convert_version(model, opset)
        if options.optimize:
            model = onnxscript_apis.optimize(model)
        return ir.serde.serialize_model(model)


def _as_public_step(step: int, compute):
    """``compute()``; an ``Exception`` it raises is raised as the public call raises it from that
    step of ``_core.export`` (2: decomposition, 3: translation): the same error type and message,
    chained to the cause."""
    from torch.onnx._internal.exporter import _core, _errors

    try:
        return compute()
    except Exception as e:
        head = _core._STEP_TWO_ERROR_MESSAGE if step == 2 else _core._STEP_THREE_ERROR_MESSAGE
        raise _errors.ConversionError(head + _core._summarize_exception_stack(e)) from e


@functools.lru_cache(maxsize=None)
def implemented_ops(opset: int) -> frozenset:
    """The ATen overloads the dynamo exporter's registry of ``opset`` (a translation opset)
    implements: what its decomposition table keeps (the same set for opsets 18 and 20 on the
    pinned stack; 23 adds ``rms_norm``)."""
    from torch.onnx._internal.exporter import _decomp, _registration

    return frozenset(_decomp.get_onnx_implemented_overloads(_registration.ONNXRegistry.from_torchlib(opset_version=opset)))


def _once(memo: dict, key, compute):
    """``compute()``, once per ``key`` of ``memo``: its value, or the exception it raised, raised
    again for every later caller (the step that failed fails for each variant needing it)."""
    if key not in memo:
        try:
            memo[key] = compute()
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except BaseException as e:  # noqa: BLE001 - kept, raised below
            memo[key] = e
    value = memo[key]
    if isinstance(value, BaseException):
        raise value
    return value


def exception_name(e: BaseException) -> str:
    t = type(e)
    mod = t.__module__
    return t.__qualname__ if mod in ("builtins", None) else f"{mod}.{t.__qualname__}"


def exception_text(e: BaseException, limit: int = 4000) -> str:
    msg = str(e).strip() or repr(e)
    return msg if len(msg) <= limit else msg[:limit] + " ..."
