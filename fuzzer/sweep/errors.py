"""Expected errors of the sweep (reported as one line, exit code 2). Kept free of heavy imports so
that building the command line does not import torch."""


class SweepStateError(ValueError):
    """The sweep directory does not fit the request (exists without --resume, other config)."""


class PaperDataError(ValueError):
    """The paper's sequence file is missing or unreadable."""
