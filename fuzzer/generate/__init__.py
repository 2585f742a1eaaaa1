"""Stage 1: seeded graphs (generator) and their input values (inputs)."""

from .generator import EagerRejected, GenerationError, GenerationStats, GeneratorOptions, evaluate, generate, prune, reinfer, single_op_graph
from .inputs import MODES, make_inputs

__all__ = ["EagerRejected", "evaluate", "reinfer", "GenerationError", "GenerationStats", "GeneratorOptions", "generate", "prune", "single_op_graph", "MODES", "make_inputs"]
