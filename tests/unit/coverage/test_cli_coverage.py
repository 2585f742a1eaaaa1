import io
import json

import pytest
import torch

from fuzzer.cli import main


class _M(torch.nn.Module):
    def forward(self, x):
        return torch.cos(torch.atan(x) * 2)


def _case_dir(root, name, exporter):
    d = root / "cases" / name
    d.mkdir(parents=True)
    buf = io.BytesIO()
    torch.onnx.export(_M(), (torch.ones(2, 3),), buf, dynamo=False)
    (d / "model.onnx").write_bytes(buf.getvalue())
    (d / "result.json").write_text(json.dumps({"exporter": exporter}))


def test_coverage_of_case_dirs(tmp_path, capsys):
    _case_dir(tmp_path, "1-torchscript-numeric_mismatch", "torchscript")
    assert main(["coverage", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["exporters"]) == {"torchscript"}
    assert {"Atan", "Mul", "Cos"} <= set(doc["exporters"]["torchscript"]["ops"])
    assert main(["coverage", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "never reached" in out and "paper sequences (reduced)" in out


def test_coverage_bad_dir_is_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["coverage", str(tmp_path)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no coverage.json" in err
    (tmp_path / "coverage.json").write_text("{broken")
    with pytest.raises(SystemExit) as e:
        main(["coverage", str(tmp_path)])
    assert e.value.code == 2
