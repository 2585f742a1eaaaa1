"""Stage: the campaign loop (seeds and mutants through the worker pool, fair time shares between
exporters, resume), coverage feedback, filing findings as they come, and the timeline."""

from .loop import CampaignConfig, CampaignError, CampaignStats, load_config, read_results, run_campaign, with_budget

__all__ = ["CampaignConfig", "CampaignError", "CampaignStats", "load_config", "read_results", "run_campaign", "with_budget"]
