"""The tolerance policy: per output dtype, scaled per operator family, each rule with its reason.

An element differs when ``|actual - expected| > atol + rtol * |expected|`` (numpy's isclose rule),
after NaN and +-inf positions were compared as such (by position, and inf by sign). The policy:

1. **Integer and bool outputs are exact** (:data:`EXACT`): they have one right answer; no rule
   below loosens them.
2. **Float outputs get rtol/atol by dtype** (:data:`TOLERANCES`).
3. **Operators known to lose precision widen it** (:data:`OP_RULES`): an output's tolerance is its
   dtype's, multiplied by the largest factor among the operators it depends on (its ancestor cone
   in the graph). Factors do not multiply along a chain: one badly conditioned op dominates, and a
   product would make long chains accept anything.
4. **Ill-conditioned inputs are kept out by domains** where the op has a natural one (the catalog's
   ``domain``: ``log`` gets positive inputs, ``tan`` ``unit`` inputs away from its poles,
   ``exp``/``pow`` ``small`` ones...). Inside a graph, values reaching an op are not controlled; for
   those, :func:`fuzzer.compare.noise.noise_scaled_compare` adds an elementwise condition estimate
   (the distance between eager PyTorch in the output dtype and in float64) before a mismatch stands.
5. **Ties are ambiguities, not bugs** (:mod:`fuzzer.compare.ambiguity`): argmax/argmin/topk/sort
   indices at positions whose values tie. Exact halves are NOT an ambiguity: ONNX ``Round`` fixes
   round-half-to-even, as ``torch.round`` does, so a difference there is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from fuzzer.catalog import CATALOG
from fuzzer.ir import FLOAT_DTYPES, Graph


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str

    def scaled(self, factor: float, reason: str) -> "Tolerance":
        if factor == 1.0:
            return self
        return Tolerance(self.rtol * factor, self.atol * factor, f"{self.reason}; x{factor:g}: {reason}")


TOLERANCES: dict[str, Tolerance] = {
    # ~1e-16 unit roundoff; two correct float64 libraries differ by a few ulps per op, and a
    # chain of 30 ops compounds that.
    "float64": Tolerance(1e-6, 1e-9, "float64: few-ulp differences between libm implementations, compounded over chains"),
    # ~6e-8 unit roundoff, but ORT and ATen use different vectorized transcendental kernels
    # (tanh, erf, exp approximations) whose errors reach ~1e-6 relative and compound.
    "float32": Tolerance(1e-3, 1e-5, "float32: vectorized transcendental approximations differ between ORT and ATen"),
    # ~1e-3 unit roundoff; ATen computes many float16 ops in float32 and rounds once, ORT may
    # round after each op of a decomposition: a few float16 ulps.
    "float16": Tolerance(1e-2, 1e-3, "float16: intermediate rounding differs (one rounding vs several)"),
}
EXACT = Tolerance(0.0, 0.0, "integers and bools have one right answer")


@dataclass(frozen=True)
class OpRule:
    """Widening for outputs that depend on an operator: ``factor`` times the dtype tolerance."""

    factor: float
    reason: str


def _rules(names: Iterable[str], factor: float, reason: str) -> dict[str, OpRule]:
    return {n: OpRule(factor, reason) for n in names}


#: Per operator (catalog name) or per family (key ``"family:<name>"``). The op's own entry wins
#: over its family's. Operators not listed (shape ops, comparisons, selections, casts...) are exact
#: up to the dtype tolerance: they move or select values, they do not round them.
OP_RULES: dict[str, OpRule] = {
    # Accumulations: ATen and ORT sum in different orders (pairwise / blocked / vectorized lanes);
    # the rounding error of a sum of n terms grows with n and with cancellation.
    "family:reduction": OpRule(4.0, "sums in a different order (error grows with the number of reduced elements)"),
    "family:linalg": OpRule(4.0, "dot products accumulate in a different order (blocked GEMM kernels)"),
    "family:conv": OpRule(4.0, "convolution accumulates in a different order (im2col/GEMM vs direct)"),
    "family:attention": OpRule(8.0, "two matmuls and a softmax: accumulation order and exp approximations"),
    "family:norm": OpRule(8.0, "mean/variance over many elements; divides by a standard deviation that may be small"),
    "family:pool": OpRule(2.0, "average pooling divides sums computed in a different order"),
    "family:resize": OpRule(4.0, "interpolation weights computed with different formulas (coordinate transforms)"),
    # Elementwise ops whose condition number is large somewhere in their domain.
    **_rules(("tan",), 8.0, "tan: condition x*(1+tan^2 x)/tan x grows without bound near its poles"),
    **_rules(("pow", "pow_scalar"), 8.0, "pow: relative error of x**y is |y| * (error of x) plus |y*log x| * (error of y)"),
    **_rules(("exp", "expm1", "sinh", "cosh"), 4.0, "exp-like: relative condition |x|, large for large |x| (inputs are 'small', intermediates are not)"),
    **_rules(("log", "log2", "log1p"), 4.0, "log: condition 1/|log x| blows up near x = 1, absolute error 1/x near 0"),
    **_rules(("reciprocal", "rsqrt", "div", "atan2", "floor_divide"), 4.0, "division: relative error of the quotient is unbounded where the divisor is near 0"),
    **_rules(("acosh", "atanh", "asin", "acos"), 8.0, "inverse trig/hyperbolic: infinite derivative at the ends of the domain"),
    **_rules(("logsumexp", "softmax", "log_softmax"), 4.0, "exp + sum + log: max-subtraction done differently"),
    **_rules(("var", "std"), 8.0, "variance: cancellation between the mean and the values (catastrophic for near-constant data)"),
    **_rules(("gelu", "mish", "selu", "celu", "elu", "softplus", "erf", "silu", "logsigmoid", "sigmoid", "tanh"), 2.0, "transcendental activations: different polynomial/rational approximations"),
}


def tolerance_for(dtype: str) -> Tolerance:
    """Rule 1 and 2: the dtype's tolerance (exact for ints and bools)."""
    return TOLERANCES.get(dtype, EXACT)


def op_rule(op: str, family: str) -> OpRule | None:
    return OP_RULES.get(op) or OP_RULES.get(f"family:{family}")


def output_tolerances(graph: Graph) -> list[Tolerance]:
    """The tolerance of each graph output (rule 3): its dtype's, scaled by the largest
    :data:`OP_RULES` factor over the operators of its ancestor cone."""
    producers = graph.producers()
    specs = graph.specs()
    out = []
    for name in graph.outputs:
        base = tolerance_for(specs[name].dtype)
        if specs[name].dtype not in FLOAT_DTYPES:
            out.append(base)
            continue
        best: tuple[float, str] = (1.0, "")
        for k in _cone(graph, name, producers):
            node = graph.nodes[k]
            spec = CATALOG.get(node.op)
            rule = op_rule(node.op, spec.family if spec else "")
            if rule and rule.factor > best[0]:
                best = (rule.factor, f"{node.op}: {rule.reason}")
        out.append(base.scaled(*best))
    return out


def _cone(graph: Graph, value: str, producers: dict[str, int]) -> Sequence[int]:
    """Indices of the nodes ``value`` depends on (itself included when it is a node output)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        k = producers.get(stack.pop())
        if k is None or k in seen:
            continue
        seen.add(k)
        stack.extend(graph.nodes[k].inputs)
    return sorted(seen)
