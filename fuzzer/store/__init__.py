"""Findings on disk: one directory per bug, reproducible by its own files, indexed in SQLite."""

from .store import FindingError, FindingInfo, FindingStore, export_options, load_case, read_finding

__all__ = ["FindingError", "FindingInfo", "FindingStore", "export_options", "load_case", "read_finding"]
