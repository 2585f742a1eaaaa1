"""Command line: ``onnxfuzz COMMAND``. Thin: each command module (``fuzzer/cli/<command>.py``) adds
its parser (``add_parsers(sub)``, ``set_defaults(run=...)``), parses flags into the library's typed
options and calls one library function. Expected errors print one line and exit 2; unexpected ones
are our bugs and show a traceback."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from typing import Sequence

from .common import EXIT_OK, Parser, UsageError, fatal  # noqa: F401  (UsageError: re-exported)

#: The command modules, in the order ``--help`` lists them; each may define ``EXPECTED_ERRORS``
#: (exception types reported as one line, exit 2). Adding a command is adding its module here.
COMMAND_MODULES: tuple[str, ...] = (
    "fuzzer.cli.check", "fuzzer.cli.fuzz", "fuzzer.cli.stats", "fuzzer.cli.findings", "fuzzer.cli.sweep", "fuzzer.cli.coverage",
    "fuzzer.cli.catalog",
)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="onnxfuzz", description="Operator-sequence fuzzer for PyTorch's ONNX exporters.")
    p.add_argument("--version", action="store_true", help="print the versions of the stack under test and exit")
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    for mod in _command_modules():
        mod.add_parsers(sub)
    return p


def _command_modules():
    import importlib

    return [importlib.import_module(m) for m in COMMAND_MODULES]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.version:
        from fuzzer.versions import stack_versions

        print(json.dumps(stack_versions(), indent=1))
        return EXIT_OK
    if args.command is None:
        fatal("no command given (see 'onnxfuzz --help')")
    from fuzzer.case import InputsFormatError
    from fuzzer.ir import GraphFormatError

    expected: tuple[type[BaseException], ...] = (UsageError, GraphFormatError, InputsFormatError)
    for mod in _command_modules():
        expected += tuple(getattr(mod, "EXPECTED_ERRORS", ()))
    from fuzzer.workers.ort_helper import install

    install()  # filing runs ONNX Runtime on models no worker ran in a helper process
    try:
        with terminate_as_interrupt():
            return args.run(args)
    except expected as e:
        fatal(str(e))
    except KeyboardInterrupt:
        print("onnxfuzz: interrupted", file=sys.stderr)
        return 130


#: set by SIGTERM: the long-running commands check it between jobs (see :func:`terminate_as_interrupt`)
terminated = False


def check_terminated() -> None:
    """Raise KeyboardInterrupt if SIGTERM came. The signal's own KeyboardInterrupt can be lost: one
    raised inside a fork hook (a helper process starting) is printed as ignored and swallowed."""
    if terminated:
        raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt():
    """SIGTERM (``kill``, ``timeout``, a job scheduler) stops a command as Ctrl-C does: a sweep or
    campaign writes its summary and can be resumed. (A job a non-interactive shell puts in the
    background ignores SIGINT, so SIGTERM is how such a run is stopped.)"""
    import threading

    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def stop(signum, frame):
        global terminated
        terminated = True
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)



if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
