"""Root-cause groups on real records: the curated findings/ directory."""

from pathlib import Path

from fuzzer.triage.groups import blank_ops, group_key, load_groups

FINDINGS = Path(__file__).resolve().parents[3] / "findings"


def _by_member() -> dict[str, str]:
    return {m.id: g.key for g in load_groups(FINDINGS) for m in g.members}


def test_float_only_onnx_ops_on_integer_inputs_are_one_group_per_exporter():
    g = _by_member()
    assert g["162ac9625c"] == g["f89a815e17"]  # dynamo: Floor on int64, Pow on int16
    assert g["172838eea5"] == g["ed8f641f28"]  # torchscript: Relu on uint8, Sin on int64 ("X" / "input" typestr)
    assert g["162ac9625c"] != g["172838eea5"]  # two exporters, two rules to fix
    assert g["f9da52f391"] != g["172838eea5"]  # Not on float: another type, another rule


def test_missing_kernels_form_one_limitation_group_listing_every_op_and_dtype():
    (lim,) = [x for x in load_groups(FINDINGS) if x.limitation == "missing_kernel"]
    assert {m.id for m in lim.members} == {"10af7cdc91", "45a1cacc28", "60620a953a", "6745b28eb4", "c075a67478", "c6969aa4d1"}
    assert {"Atan", "LeakyRelu", "Trilu", "Where"} <= set(lim.ops()) and {"float64", "int16", "bool"} <= set(lim.dtypes())
    assert load_groups(FINDINGS)[-1].limitation is not None  # limitations come after the bugs


def test_distinct_causes_stay_apart():
    g = _by_member()
    assert len({g["41c6b99eda"], g["5e036fe66f"], g["9bf1e4e45b"], g["ac83333982"], g["bcb14f6358"]}) == 5


def test_group_keys_blank_the_operator_and_fold_min_max_twins():
    assert blank_ops("(op_type:Floor, node name: <node>): X typestr: T, has unsupported type: tensor(int)") == \
        blank_ops("(op_type:Sin, node name: <node>): input typestr: T, has unsupported type: tensor(int)")
    doc = {"verdict": "numeric_mismatch", "exporter": "torchscript", "signature": {"exporter": "onnxruntime", "detail": "nan: ReduceMin", "path_ops": ["ReduceMin"]}}
    doc2 = {**doc, "signature": {**doc["signature"], "detail": "nan: ReduceMax", "path_ops": ["ReduceMax"]}}
    assert group_key(doc)[0] == group_key(doc2)[0] == "numeric_mismatch|onnxruntime|nan|ReduceMax"


def test_wrong_dtypes_group_by_the_promotion_rule_not_by_the_op():
    g = _by_member()
    assert g["74b6239943"] == g["fadccaffc7"] == "shape_or_dtype_mismatch|dynamo|dtype|float16->float32 (0-d)"  # abs, mse_loss
    assert g["b9f751765b"] != g["6585169265"]  # float64 -> float32: TorchScript's rule and dynamo's are two fixes
    assert g["2b8c5db647"] == "shape_or_dtype_mismatch|torchscript|mean|ReduceMean"  # a wrong shape: the symbolic and its diverging op


def test_an_exporter_symbolic_wrong_in_several_ways_is_one_group():
    # cdist(p=1) without Abs gives nan on one input, wrong values on another, at any opset
    base = {"verdict": "numeric_mismatch", "exporter": "torchscript", "ops": ["cdist"]}
    nan = {**base, "signature": {"exporter": "torchscript", "detail": "nan: Sub>Pow>ReduceSum>Pow", "path_ops": ["Sub", "Pow", "ReduceSum", "Pow"]}}
    val = {**base, "signature": {"exporter": "torchscript", "detail": "value: Add>Div>Sub>Pow>ReduceSum>Pow",
                                 "path_ops": ["Add", "Div", "Sub", "Pow", "ReduceSum", "Pow"]}}
    assert group_key(nan)[0] == group_key(val)[0] == "numeric_mismatch|torchscript|cdist|Pow"
    assert group_key({**nan, "ops": ["pairwise_distance"]})[0] != group_key(nan)[0]
