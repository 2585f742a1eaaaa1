"""The short torture test (issue 21): a small campaign (both exporters, special inputs,
minimization on) is killed with SIGKILL at moments of each kind (random, during minimization,
during a store write, after a worker death, during resume itself) and resumed each time; after
every round nothing is recorded twice, every failing case is filed or counted with a reason, every
finding loads, no process of the campaign is alive 2 s after the supervisor is gone and no
temporary directory is left; the final run records each seed of the budget exactly once.
``scripts/torture.py`` is the long version (--rounds 200)."""

import argparse
import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "torture.py"


def _torture_module():
    spec = importlib.util.spec_from_file_location("torture", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_campaign_killed_at_every_kind_of_moment_loses_and_leaves_nothing(tmp_path):
    torture = _torture_module()
    args = argparse.Namespace(rounds=5, cases=12, exporter="both", workers=2, max_nodes=5, minimize_seconds=3.0, max_wait=6.0, seed=21,
                              dir=str(tmp_path))
    log = []
    rounds, kills, violations = torture.torture(args, log=log.append)
    assert rounds == 5 and kills >= 1, log
    assert not violations, "\n".join(log + violations)
