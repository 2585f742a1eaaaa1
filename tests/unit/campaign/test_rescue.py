"""A case whose worker dies while re-running a graph with a known culprit cut out is filed with
that cut graph, not with the uncut graph its seed rebuilds. Real TorchScript exports of the pinned
stack: cosh is an unsupported operator (export_crash), and reshaping an empty float32 tensor to
(0,) kills torch.onnx.export with SIGFPE (curated finding ac83333982)."""

import faulthandler
import os
import signal
from pathlib import Path

from fuzzer.campaign.config import CampaignConfig
from fuzzer.campaign.rescue import DeadCase, Rescue
from fuzzer.case import load_case_dir, run_graph
from fuzzer.case.cut import load_pending, pending_dir, run_past_known
from fuzzer.compare import Verdict
from fuzzer.export import ExportOptions, Exporter
from fuzzer.generate import GeneratorOptions, make_inputs, single_op_graph
from fuzzer.generate.avoid import Avoidance, Trigger
from fuzzer.ir import TensorSpec
from fuzzer.sweep.plan import chain
from fuzzer.workers.pool import Completion, Task
from fuzzer.workers.protocol import RunSeeds

TS = ExportOptions(Exporter.TORCHSCRIPT)
COSH = Trigger("torchscript", "cosh", ("float32",), (), "export_crash", "torch.onnx.errors.UnsupportedOperatorError", "cosh-finding")
SEED = 11


def _case():
    empty = TensorSpec((0,), "float32")
    g = chain(single_op_graph("cosh", [empty]), single_op_graph("reshape", [empty], {"shape": [0]}))
    return g, make_inputs(g, SEED, "special")


def _die_past_the_cut(incoming):
    """In a child: run the case, cut cosh out and re-run what is left, which kills the child."""
    g, x = _case()
    pid = os.fork()
    if pid == 0:
        faulthandler.disable()  # the child is meant to die: no dump of its stack into the test's output
        try:
            run = lambda g, x: run_graph(g, x, [TS], seed=SEED, input_mode="special")[0]  # noqa: E731
            first = run(g, x)
            assert first.verdict is Verdict.EXPORT_CRASH, first.verdict
            run_past_known(g, x, first, Avoidance((COSH,), ("torchscript",)), run, pending=pending_dir(incoming, "torchscript", SEED))
        finally:
            os._exit(0)  # only reached if the re-run survived
    _, status = os.waitpid(pid, 0)
    return status


def test_a_worker_killed_past_a_cut_leaves_the_cut_graph_and_the_case_is_filed_with_it(tmp_path):
    incoming = tmp_path / "incoming"
    status = _die_past_the_cut(incoming)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGFPE

    left = load_pending(pending_dir(incoming, "torchscript", SEED))
    assert left is not None and left[0].ops() == ["reshape"] and left[0].meta["cuts"][0]["op"] == "cosh"

    request = RunSeeds((SEED,), TS, GeneratorOptions(), "special", str(incoming), cut=True)
    dead = DeadCase(Completion(Task(7, request), "crash", detail="SIGFPE", seconds=0.5), "torchscript", SEED, None)
    result, path = Rescue(CampaignConfig(input_mode="special"), tmp_path).finish(dead, None)  # no rebuild needed
    assert result.verdict is Verdict.PROCESS_CRASH and path is not None
    graph, inputs, saved = load_case_dir(Path(path))
    assert graph.ops() == ["reshape"] and list(inputs) == [i.name for i in graph.inputs]
    assert saved.options["cuts"][0]["op"] == "cosh" and saved.ops == ("reshape",)
    assert not pending_dir(incoming, "torchscript", SEED).exists()  # read once, then gone


def test_a_case_that_survives_its_cuts_leaves_nothing_behind(tmp_path):
    incoming = tmp_path / "incoming"
    g = chain(single_op_graph("cosh", [TensorSpec((2, 3), "float32")]), single_op_graph("relu", [TensorSpec((2, 3), "float32")]))
    x = make_inputs(g, SEED, "normal")
    run = lambda g, x: run_graph(g, x, [TS], seed=SEED)[0]  # noqa: E731
    g2, _, r2, cuts = run_past_known(g, x, run(g, x), Avoidance((COSH,), ("torchscript",)), run, pending=pending_dir(incoming, "torchscript", SEED))
    assert [c.op for c in cuts] == ["cosh"] and g2.ops() == ["relu"] and r2.verdict is Verdict.PASS
    assert not pending_dir(incoming, "torchscript", SEED).exists()
    # without anything left behind, a dead case is the rebuilt seed's (here: no rebuild reply, no graph)
    dead = DeadCase(Completion(Task(8, RunSeeds((SEED,), TS, GeneratorOptions(), "normal", str(incoming), cut=True)), "crash"), "torchscript", SEED, None)
    result, path = Rescue(CampaignConfig(), tmp_path).finish(dead, None)
    assert path is None and result.verdict is Verdict.PROCESS_CRASH
