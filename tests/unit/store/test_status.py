"""The finding status vocabulary is one enum, and every mapping over it is total."""

import pytest

from fuzzer.store.replay import expected_state
from fuzzer.store.store import EXPECTED_ON_REPLAY, FindingError, Status, status_of


def test_expected_replay_state_is_total_over_status():
    assert set(EXPECTED_ON_REPLAY) == set(Status)
    assert {expected_state({"status": s.value}) for s in Status} == {"still failing", "fixed"}
    assert expected_state({"status": "fixed"}) == "fixed" and expected_state({}) == "still failing"


def test_an_unknown_status_is_a_clear_error_not_a_guess():
    with pytest.raises(FindingError, match="unknown finding status 'open'"):
        status_of({"status": "open"})


def test_curated_findings_use_known_statuses():
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "findings"
    docs = [json.loads(p.read_text()) for p in root.glob("*/finding.json")]
    assert docs and all(status_of(d) in Status for d in docs)
