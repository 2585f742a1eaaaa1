"""Record steps Ctrl-C cannot cut in two: a campaign's ledger accounts a case whole, a sweep a job
(summary.json counted a case whose results line was never written; a sweep job's lines without its
progress mark would be written again on resume). Ctrl-C or SIGTERM in the block waits for its end."""

import os
import signal

import pytest

from fuzzer.atomic import signals_deferred


def test_ctrl_c_inside_the_block_lands_after_it():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("line written")  # the rest of the case's accounting still runs
    assert done == ["line written"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def test_sigterm_goes_to_the_handler_the_command_installed_once_the_block_is_done():
    seen = []
    old = signal.signal(signal.SIGTERM, lambda n, f: seen.append(n))
    try:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            assert seen == []
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, old)


def test_no_signal_no_effect():
    with signals_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
