"""Minimize a failing case at the graph-IR level (see :mod:`fuzzer.minimize.shrinker`)."""

from .edits import Candidate
from .order import is_simpler, simplicity_key
from .passes import PASSES
from .shrinker import MinimizerBug, MinimizeResult, PassStats, Runner, Shrinker, minimize

__all__ = ["Candidate", "is_simpler", "simplicity_key", "PASSES", "MinimizerBug", "MinimizeResult", "PassStats", "Runner", "Shrinker", "minimize"]
