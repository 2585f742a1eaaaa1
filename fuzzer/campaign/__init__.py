"""Stage 6: cases end to end, and the campaign that runs them in isolated worker processes."""

from .artifacts import InputsFormatError, load_inputs, save_case
from .case import CaseResult, run_graph
from .loop import CampaignConfig, CampaignError, CampaignStats, load_config, read_results, run_campaign, with_budget
from .isolated import IsolatedRunner, run_isolated
from .pool import InternalError, WorkerPool

__all__ = [
    "InputsFormatError", "load_inputs", "save_case", "CaseResult", "run_graph", "CampaignConfig", "CampaignError",
    "CampaignStats", "load_config", "read_results", "run_campaign", "with_budget", "InternalError", "WorkerPool", "IsolatedRunner", "run_isolated",
]
