"""Triage: what makes two failures the same bug (signature)."""
