import json

from fuzzer.generate.templates import paper_sequences_path

import pytest

from fuzzer.catalog import CATALOG, OPS
from fuzzer.catalog.render import TemplateError, render, template_fields
from fuzzer.ir import DTYPES

# shared/ sits beside the checkout (CI: parents[4]); a worktree may sit deeper, so walk up
PAPER = paper_sequences_path()


def test_catalog_has_at_least_60_operators():
    assert len(CATALOG) >= 60


def test_every_entry_is_consistent():
    for op in OPS:
        assert op.dtypes and op.dtypes <= set(DTYPES), op.name
        assert 0 <= op.ranks[0] <= op.ranks[1] <= 5, op.name
        fields = template_fields(op.template)
        assert "0" in fields, f"{op.name}: template never uses its primary input"
        # derived entries may return a one-tensor tuple (torch.split of one chunk, torch.unbind of size 1)
        assert op.returns_tuple == (op.n_outputs > 1 or op.name in ("split", "chunk")) or op.family == "opdb", op.name


def test_catalog_names_every_onnx_op_of_the_paper_sequences():
    data = json.loads(PAPER.read_text())
    wanted = {o for key in ("torch_reduced", "torch_nonoverlapping") for seq in data[key] for o in seq}
    have = {o for op in OPS for o in op.onnx}
    # "If" too: squeeze_dynamic (a squeeze the TorchScript exporter cannot resolve statically).
    assert not wanted - have, sorted(wanted - have)


def test_render_quotes_strings_so_attrs_cannot_inject_code():
    expr = render("f({0}, mode={mode})", ["x"], [], {"mode": "x'); import os; ('"})
    assert expr == "f(x, mode=\"x'); import os; ('\")"


def test_render_dtype_field_checks_the_name():
    assert render("{0}.to({d:dtype})", ["x"], [], {"d": "float16"}) == "x.to(torch.float16)"
    with pytest.raises(TemplateError):
        render("{0}.to({d:dtype})", ["x"], [], {"d": "os.system"})


def test_render_index_field():
    assert render("{0}[{i:index}]", ["x"], [], {"i": (None, (1, None, 2), -1)}) == "x[:, 1::2, -1]"
    with pytest.raises(TemplateError):
        render("{0}[{i:index}]", ["x"], [], {"i": ("__import__('os')",)})
