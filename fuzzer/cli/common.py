"""What every command shares: exit codes, the one-line usage error, argparse number types, and the
small conversions from flags to library options. Defaults live in the library, not here."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_OK, EXIT_FAILURE_FOUND, EXIT_USAGE, EXIT_INVALID_GRAPH = 0, 1, 2, 3
EXIT_DISK_LOW = 4  # fuzz: stopped early at the disk floor (--min-free-mb); state saved, --resume continues
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class UsageError(Exception):
    """A bad flag, file or combination: reported as one line, exit code 2."""



def one_line(msg: str) -> str:
    """``msg`` with every line break and control character escaped: what a file put into a message
    (a name, a value) can never break the one-line answer."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(msg))


def warn(msg: str) -> None:
    print(f"onnxfuzz: warning: {one_line(msg)}", file=sys.stderr)


def fatal(msg: str) -> NoReturn:
    print(f"onnxfuzz: error: {one_line(msg)}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        fatal(f"{message} (see '{self.prog} --help')")


def number(cast, what: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False):
    """An argparse type: ``cast`` the text, check it is within [lo, hi] (``lo`` excluded when
    ``lo_open``), and say in one line what was expected otherwise."""
    bounds = (f" > {lo:g}" if lo_open else f" >= {lo:g}") if lo is not None else ""
    bounds = f" within {lo:g}..{hi:g}" if lo is not None and hi is not None and not lo_open else bounds

    def parse(s: str):
        try:
            v = cast(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {s!r}") from None
        if v != v or (lo is not None and (v <= lo if lo_open else v < lo)) or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"expected {what}{bounds}, got {s!r}")
        return v

    return parse


positive_int = number(int, "a positive integer", 1)
nonneg_int = number(int, "an integer", 0)
positive_float = number(float, "a positive number of seconds", 0, lo_open=True)
nonneg_float = number(float, "a number of seconds", 0)
bias = number(float, "a number", 0, 1)
share = number(float, "a share", 0, 1)
opset = number(int, "an opset number", 7, 30)


def exporters(name: str):
    from fuzzer.export import Exporter

    return (Exporter.TORCHSCRIPT, Exporter.DYNAMO) if name == "both" else (Exporter(name),)


def generator_options(args):
    from fuzzer.generate import GeneratorOptions

    given = {k: v for k, v in (("bias", args.bias), ("rewrite_share", getattr(args, "rewrite_share", None))) if v is not None}
    return GeneratorOptions(max_nodes=args.max_nodes, **given)


