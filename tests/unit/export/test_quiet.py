import logging
import os
import warnings

from fuzzer.export.quiet import quiet


def test_quiet_captures_warnings_and_restores_logger_levels(capfd):
    lg = logging.getLogger("torch.onnx")
    lg.setLevel(logging.INFO)
    captured = []
    with quiet(captured):
        assert lg.level == logging.CRITICAL
        warnings.warn("first line\nsecond line", UserWarning)
        os.write(1, b"from C\n")
        print("from Python")
    assert lg.level == logging.INFO
    assert captured == ["UserWarning: first line"]
    out, err = capfd.readouterr()
    assert "from C" not in out and "from Python" not in out
    os.write(1, b"after\n")
    assert capfd.readouterr().out == "after\n"
