"""``onnxfuzz sweep`` flags that are checked before the sweep directory is made (issue 21, items
6 and 7); in-process, no worker starts."""

import pytest

from fuzzer.cli import main


def run_cli(args, capsys):
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("paper, needle", [("missing.json", "No such file"), ("bad.json", "Expecting property name"), ("empty.json", "torch_reduced")])
def test_a_bad_paper_fails_before_sweep_json_is_written_and_names_the_flag(paper, needle, tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "empty.json").write_text("{}")
    out = tmp_path / "sw"
    code, _, err = run_cli(["sweep", "--pairs", "--paper", tmp_path / paper, "--out", out], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "--paper" in err and needle in err, err
    assert not (out / "sweep.json").exists()  # the corrected rerun with the same --out is not refused


def test_paper_without_pairs_is_refused(tmp_path, capsys):
    code, _, err = run_cli(["sweep", "--paper", tmp_path / "p.json", "--out", tmp_path / "sw"], capsys)
    assert code == 2 and "--pairs" in err and not (tmp_path / "sw").exists()


def test_resume_takes_the_directory(tmp_path, capsys):
    code, _, err = run_cli(["sweep", "--resume"], capsys)
    assert code == 2 and "--resume DIR" in err
    code, _, err = run_cli(["sweep", "--resume", tmp_path / "a", "--out", tmp_path / "b"], capsys)
    assert code == 2 and "do not also give another --out" in err
    # a directory that is not a sweep: refused as such (so --resume DIR did reach it)
    (tmp_path / "notsweep").mkdir()
    (tmp_path / "notsweep" / "x").write_text("")
    code, _, err = run_cli(["sweep", "--ops", "sin", "--resume", tmp_path / "notsweep"], capsys)
    assert code == 2 and "no sweep.json" in err, err
