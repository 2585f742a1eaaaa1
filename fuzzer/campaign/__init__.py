"""Stage 6: cases end to end, and the campaign loop that streams them."""

from .artifacts import InputsFormatError, load_inputs, save_case
from .case import CaseResult, run_graph
from .loop import CampaignConfig, CampaignStats, run_campaign

__all__ = ["InputsFormatError", "load_inputs", "save_case", "CaseResult", "run_graph", "CampaignConfig", "CampaignStats", "run_campaign"]
