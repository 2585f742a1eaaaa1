"""The live "cases/s now" figure: measured up to now over a window, so bursts and stalls read right."""

import time

from fuzzer.campaign.loop import CampaignStats


def test_a_batch_landing_at_once_is_not_read_as_a_burst_rate():
    s = CampaignStats()
    now = time.monotonic()
    # 10 cases 35 s ago, then a batch of 8 and another of 8 landing 5 s ago (dynamo batches)
    s.recent = [(now - 40, 0), (now - 35, 10), (now - 5, 18), (now - 5, 26)]
    assert abs(s.rate_now() - 16 / 35) < 0.01


def test_a_stall_reads_zero_and_too_few_samples_read_zero():
    s = CampaignStats()
    now = time.monotonic()
    s.recent = [(now - 100, 0), (now - 90, 50)]
    assert s.rate_now() == 0.0
    s.recent = [(now - 1, 8)]
    assert s.rate_now() == 0.0
